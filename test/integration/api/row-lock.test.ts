import { expect } from 'chai';
import pg from 'pg';
import { AS_ADMIN, type ApiFixture, expectErrorShape, inject, startFixture } from './support.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * Another session (an operator's psql, a job of another team) holding a row lock in a transaction it
 * left open. Unbounded, every request for that row waited with one of the pool's connections until
 * the pool was full and the whole API answered 503; now only the locked row's requests fail, with
 * 409 `row_locked` after 5 s, and a migration the API started still waits for the row.
 */
describe('HTTP API while another session holds a row lock', function () {
  this.timeout(60_000);
  let f: ApiFixture;
  let holder: pg.Client | undefined;

  before(async () => {
    f = await startFixture();
  });
  afterEach(async () => {
    await holder?.end().catch(() => undefined);
    holder = undefined;
  });
  after(async () => {
    await f?.close();
  });

  /** A session of the test's own, holding `id`'s row lock in an open transaction. */
  async function holdRow(id: number): Promise<pg.Client> {
    holder = new pg.Client({ connectionString: f.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM documents WHERE id = $1 FOR UPDATE', [id]);
    return holder;
  }

  /** Sessions of this database waiting on a lock right now. */
  async function lockWaiters(session: pg.Client): Promise<number> {
    const { rows } = await session.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    return rows[0]?.n ?? 0;
  }

  async function liveDocuments(n: number): Promise<number[]> {
    const { rows } = await f.db.query<{ id: number }>(
      'SELECT id FROM documents WHERE deleted_at IS NULL AND NOT is_deleted ORDER BY id LIMIT $1',
      [n],
    );
    return rows.map((r) => Number(r.id));
  }

  it('answers 409 row_locked for the locked row within seconds, changes nothing, and serves other rows meanwhile', async () => {
    const [locked, other] = await liveDocuments(2);
    if (locked === undefined || other === undefined) throw new Error('the seed has no two live documents');
    const session = await holdRow(locked);

    const started = Date.now();
    // Two of the pool's four connections wait on the lock; the others serve the other row.
    const waiting = [1, 2].map(() =>
      inject(f.app, { method: 'DELETE', url: `/v1/documents/${locked}`, headers: AS_ADMIN }),
    );
    await waitUntil('both requests waiting on the lock', async () => (await lockWaiters(session)) === 2);
    const served = await inject(f.app, {
      method: 'DELETE',
      url: `/v1/documents/${other}`,
      headers: AS_ADMIN,
    });
    expect(served.statusCode, served.body).to.equal(200);

    const answers = await Promise.race([
      Promise.all(waiting),
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error('requests for the locked row still waiting after 15 s')),
          15_000,
        ).unref(),
      ),
    ]);
    const elapsed = Date.now() - started;
    for (const res of answers) {
      expect(res.statusCode, res.body).to.equal(409);
      expectErrorShape(res, 'row_locked');
    }
    expect(elapsed, 'gave up after the 5 s lock timeout, not before').to.be.within(4_500, 12_000);

    await session.query('COMMIT');
    const { rows } = await f.db.query<{ deleted_at: Date | null }>(
      'SELECT deleted_at FROM documents WHERE id = $1',
      [locked],
    );
    expect(rows[0]?.deleted_at, 'the refused delete changed nothing').to.equal(null);
    const retried = await inject(f.app, {
      method: 'DELETE',
      url: `/v1/documents/${locked}`,
      headers: AS_ADMIN,
    });
    expect(retried.statusCode, retried.body).to.equal(200);
  });

  it('lets a migration it started wait for the row as long as it is held, past the 5 s', async () => {
    const { rows } = await f.db.query<{ id: number }>(
      'SELECT id FROM documents WHERE is_deleted AND deleted_at IS NULL ORDER BY id LIMIT 1',
    );
    const legacy = Number(rows[0]?.id);
    expect(legacy, 'the seed has a legacy-deleted document').to.be.above(0);
    const session = await holdRow(legacy);

    const start = await inject(f.app, {
      method: 'POST',
      url: '/v1/migrations/backfill-deleted-at/start',
      headers: AS_ADMIN,
      payload: { batchSize: 1000 },
    });
    expect(start.statusCode, start.body).to.equal(202);
    const runId = (start.json() as { run: { runId: string } }).run.runId;
    const waitingSince = Date.now();
    await waitUntil(
      'the migration batch waiting on the lock',
      async () => (await lockWaiters(session)) === 1,
    );
    // Past the API's limit, the batch still waits rather than failing.
    await waitUntil('7 s of waiting', () => Date.now() - waitingSince > 7_000, { timeoutMs: 10_000 });
    expect(await lockWaiters(session), 'the batch still waits on the row').to.equal(1);
    await session.query('COMMIT');

    const run = await waitUntil(`run ${runId} to succeed`, async () => {
      const res = await inject(f.app, {
        method: 'GET',
        url: `/v1/migrations/runs/${runId}`,
        headers: AS_ADMIN,
      });
      const body = res.json() as { run: { state: string } };
      return ['succeeded', 'failed', 'partially_failed'].includes(body.run.state) ? body.run : undefined;
    });
    expect(run.state).to.equal('succeeded');
    const { rows: batches } = await f.db.query<{ attempts: number; status: string }>(
      'SELECT attempts, status FROM sdops_migration_batches WHERE run_id = $1',
      [runId],
    );
    expect(
      batches.every((b) => b.status === 'succeeded' && b.attempts === 1),
      JSON.stringify(batches),
    ).to.equal(true);
  });
});
