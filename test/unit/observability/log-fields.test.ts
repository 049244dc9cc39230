import { expect } from 'chai';
import {
  configureLogging,
  consoleCaughtUp,
  getLogger,
  withLogFields,
} from '../../../src/observability/index.ts';
import { LineSink } from './harness.ts';

describe('log fields of a unit of work', () => {
  let sink: LineSink;
  beforeEach(() => {
    sink = new LineSink();
    configureLogging({ console: sink, level: 'info' });
  });
  afterEach(() => configureLogging({ console: 'none' }));

  it("reach every component's records made inside it, across awaits, and no record outside it", async () => {
    const core = getLogger('soft-delete');
    await withLogFields({ job_type: 'bulk_soft_delete', job_id: 'j1', attempt: 2 }, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      core.info('soft_delete operation', { entity: 'documents', count: 3 });
    });
    core.info('outside');
    await consoleCaughtUp();
    const [inside, outside] = sink.records();
    expect(inside).to.include({
      message: 'soft_delete operation',
      component: 'soft-delete',
      job_type: 'bulk_soft_delete',
      job_id: 'j1',
      attempt: 2,
      count: 3,
    });
    expect(outside).to.not.have.any.keys('job_type', 'job_id', 'attempt');
  });

  it("lets a record's own fields and an inner unit's fields win over the outer unit's", async () => {
    const log = getLogger('cleanup.worker');
    withLogFields({ job_id: 'outer', attempt: 1 }, () => {
      withLogFields({ attempt: 2 }, () => log.info('inner'));
      log.info('own', { job_id: 'mine' });
    });
    await consoleCaughtUp();
    expect(sink.records().map((r) => [r.message, r.job_id, r.attempt])).to.deep.equal([
      ['inner', 'outer', 2],
      ['own', 'mine', 1],
    ]);
  });
});
