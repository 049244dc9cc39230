import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { CleanupQueue } from '../../../src/cleanup/index.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { configureLogging } from '../../../src/observability/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';

/**
 * The purge and archive crons are saved in the database by each starting worker: the last one wins
 * for every worker. One started with another setting (a rolling deploy, an old environment) changed
 * the schedule of all of them, and its log said only "worker started".
 */
describe('a worker saving the cron schedules (PostgreSQL)', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  let db: Database;
  let queue: CleanupQueue;
  const lines: string[] = [];

  before(async () => {
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    configureLogging({ level: 'debug', console: sink });
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url });
    await migrateSchema(db);
    queue = await CleanupQueue.open(db, {
      role: 'worker',
      policy: { retryLimit: 1, retryDelaySeconds: 1, expireSeconds: 60 },
    });
  });
  after(async () => {
    configureLogging({ level: 'warn', console: 'stderr' });
    await queue?.close();
    await db?.close();
    await tdb?.drop();
  });

  const replaced = () =>
    lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.message === "this worker's setting replaces the saved cron schedule of every worker");

  it('says so when it replaces a saved schedule with another, and nothing when it saves the same one', async () => {
    await queue.schedule('purge_expired', '* * * * *');
    // None saved before: said at debug, so a schedule turned back on after `off` can be found.
    expect(
      lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((r) => r.message === 'this worker saves the cron schedule of every worker')
        .map((r) => [r.level, r.job_type, r.cron]),
    ).to.deep.equal([['debug', 'purge_expired', '* * * * *']]);
    await queue.schedule('purge_expired', '* * * * *');
    expect(replaced(), 'the same schedule again is no change').to.deep.equal([]);
    await queue.schedule('purge_expired', '0 * * * *');
    await queue.schedule('purge_expired', undefined);
    expect(replaced().map((r) => [r.level, r.job_type, r.saved_cron, r.cron])).to.deep.equal([
      ['warn', 'purge_expired', '* * * * *', '0 * * * *'],
      ['warn', 'purge_expired', '0 * * * *', 'off'],
    ]);
  });
});
