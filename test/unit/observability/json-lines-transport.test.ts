import { expect } from 'chai';
import { formatLine, JsonLinesTransport, MADE_AT } from '../../../src/observability/json-lines-transport.ts';
import { EMIT_CONTEXT } from '../../../src/observability/otlp-log-transport.ts';
const madeAt = Date.UTC(2026, 10, 29, 1, 2, 3, 456);

function record(fields: Record<string, unknown>): Record<string | symbol, unknown> {
  const out: Record<string | symbol, unknown> = { level: 'info', message: 'cleanup job finished', ...fields };
  out[MADE_AT] = madeAt;
  out[EMIT_CONTEXT] = { some: 'context' };
  return out;
}

describe('console JSON lines', () => {
  it('writes one line of the record fields with the time it was made as the last key', () => {
    const line = formatLine(record({ job_type: 'noop', count: 0, duration: 0.25 }));
    expect(line.endsWith('}\n')).to.equal(true);
    expect(line.indexOf('\n')).to.equal(line.length - 1);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed).to.deep.equal({
      level: 'info',
      message: 'cleanup job finished',
      job_type: 'noop',
      count: 0,
      duration: 0.25,
      timestamp: '2026-11-29T01:02:03.456Z',
    });
    expect(Object.keys(parsed).at(-1)).to.equal('timestamp');
  });

  it('leaves the record unchanged, so the OTLP transport sees no timestamp field', () => {
    const info = record({ status: 'success' });
    const before = Reflect.ownKeys(info);
    formatLine(info);
    expect(Reflect.ownKeys(info)).to.deep.equal(before);
    expect(info).not.to.have.property('timestamp');
  });

  it('writes a single timestamp when a record carries a field of that name', () => {
    const line = formatLine(record({ timestamp: 'from the caller' }));
    expect(line.match(/"timestamp"/g)).to.have.length(1);
    expect(JSON.parse(line)).to.include({ timestamp: '2026-11-29T01:02:03.456Z' });
  });

  it('falls back to level, message and time when a field cannot be serialised', () => {
    const line = formatLine(record({ big: 10n }));
    expect(JSON.parse(line)).to.deep.equal({
      level: 'info',
      message: 'cleanup job finished',
      timestamp: '2026-11-29T01:02:03.456Z',
    });
  });

  it('hands each formatted line to its sink and calls back', () => {
    const lines: string[] = [];
    const transport = new JsonLinesTransport({ level: 'info' }, { writeLine: (l) => lines.push(l) });
    let calledBack = 0;
    transport.log(record({ count: 1 }), () => calledBack++);
    transport.log(record({ count: 2 }), () => calledBack++);
    expect(calledBack).to.equal(2);
    expect(lines.map((l) => (JSON.parse(l) as { count: number }).count)).to.deep.equal([1, 2]);
  });
});
