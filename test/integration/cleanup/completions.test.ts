import { expect } from 'chai';
import type { PgBoss } from 'pg-boss';
import { CleanupQueue, queueName } from '../../../src/cleanup/index.ts';
import { Completions } from '../../../src/cleanup/completions.ts';
import type { Database } from '../../../src/db/index.ts';
import { openTestDb, type TestDb } from '../soft-delete/support.ts';

const POLICY = { retryLimit: 2, retryDelaySeconds: 1, expireSeconds: 60 };

/**
 * One completing statement for several attempts must keep each attempt's fence: an attempt whose
 * lease ran out (its job claimed again, retry_count moved on) is left alone while the others in the
 * same statement complete, with their output.
 */
for (const backend of ['postgres', 'pglite'] as const) {
  describe(`completing the attempts that finish together (${backend})`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let db: Database;
    let queue: CleanupQueue;

    before(async () => {
      tdb = await openTestDb(backend);
      db = tdb.db;
      queue = await CleanupQueue.open(db, { role: 'client', policy: POLICY });
    });

    after(async () => {
      await queue?.close();
      await tdb?.close();
    });

    const rows = async (ids: string[]) =>
      (
        await db.query<{ id: string; state: string; retry_count: number; count: number | null }>(
          `SELECT id, state::text AS state, retry_count, (output->>'count')::int AS count
             FROM pgboss.job WHERE id = ANY($1::uuid[]) ORDER BY array_position($1::uuid[], id)`,
          [ids],
        )
      ).rows;

    it('completes every current attempt in one statement and leaves the one claimed again alone', async () => {
      const ids = await queue.enqueueMany('noop', [{}, {}, {}]);
      const name = queueName('noop');
      const fetched = await queue.boss.fetch(name, { batchSize: 3, includeMetadata: true });
      expect(fetched.map((j) => j.id).sort()).to.deep.equal([...ids].sort());
      // The third job's lease ran out and another worker claimed it: its retry_count moved on.
      const lapsed = ids[2]!;
      await db.query('UPDATE pgboss.job SET retry_count = retry_count + 1 WHERE id = $1', [lapsed]);

      let statements = 0;
      const boss = {
        complete: (...args: Parameters<PgBoss['complete']>) => {
          statements++;
          return queue.boss.complete(...args);
        },
      } as unknown as PgBoss;
      const completions = new Completions(boss);
      const completed = await Promise.all(
        fetched.map((job) =>
          completions.complete(name, { id: job.id, retryCount: job.retryCount }, { count: 7 }),
        ),
      );

      expect(statements).to.equal(1);
      // Before: every caller heard success, and the lapsed attempt was logged and counted as one.
      expect(new Map(fetched.map((job, i) => [job.id, completed[i]]))).to.deep.equal(
        new Map([
          [ids[0], true],
          [ids[1], true],
          [lapsed, false],
        ]),
      );
      expect(await rows(ids)).to.deep.equal([
        { id: ids[0], state: 'completed', retry_count: 0, count: 7 },
        { id: ids[1], state: 'completed', retry_count: 0, count: 7 },
        { id: lapsed, state: 'active', retry_count: 1, count: null },
      ]);
    });
  });
}
