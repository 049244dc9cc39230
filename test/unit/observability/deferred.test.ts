import { expect } from 'chai';
import { defer, drainDeferred, MAX_PENDING } from '../../../src/observability/deferred.ts';
import { configureLogging, getLogger } from '../../../src/observability/index.ts';
import { LineSink } from './harness.ts';

/** Log records and metric points are handed over off the caller's path (see deferred.ts). */
describe('deferred telemetry work', () => {
  afterEach(() => drainDeferred());

  it('runs nothing on the caller path, then everything in order in the next check phase', async () => {
    const ran: number[] = [];
    for (let i = 0; i < 5; i++) defer(() => ran.push(i));
    expect(ran).to.deep.equal([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).to.deep.equal([0, 1, 2, 3, 4]);
  });

  it('drains on demand, including work a task defers itself, and survives a throwing task', () => {
    const ran: string[] = [];
    defer(() => ran.push('a'));
    defer(() => {
      throw new Error('broken exporter');
    });
    defer(() => {
      ran.push('b');
      defer(() => ran.push('c'));
    });
    drainDeferred();
    expect(ran).to.deep.equal(['a', 'b', 'c']);
  });

  it('runs the backlog inline once MAX_PENDING tasks wait, so a loop that never yields stays bounded', () => {
    let ran = 0;
    for (let i = 0; i < MAX_PENDING; i++) defer(() => ran++);
    expect(ran).to.equal(MAX_PENDING);
    defer(() => ran++);
    expect(ran).to.equal(MAX_PENDING);
  });

  it('sends a record made just before logging is reconfigured to the console it was made for', () => {
    const first = new LineSink();
    const second = new LineSink();
    configureLogging({ console: first, level: 'info' });
    getLogger('test').info('made under the first configuration');
    configureLogging({ console: second, level: 'info' });
    drainDeferred();
    expect(first.records().map((r) => r.message)).to.deep.equal(['made under the first configuration']);
    expect(second.lines).to.deep.equal([]);
    configureLogging({ console: 'none' });
  });
});
