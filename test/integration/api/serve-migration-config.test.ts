import { expect } from 'chai';
import { type SdopsProcess, spawnSdops } from '../../support/sdops-process.ts';
import { waitUntil } from '../../support/wait.ts';
import { type MigrationTestDb, openMigrationTestDb, seedDocuments } from '../migration/support.ts';

interface RunBody {
  run: { runId: string; state: string; batchSize: number; maxFailedBatches: number; batchesFailed: number };
}

/**
 * A run started through `sdops serve` takes its defaults from SDOPS_MIGRATION_*, as `sdops migrate`
 * does (the server's runner used to be built with the built-in defaults: 5000 rows per batch and 10
 * failed batches tolerated, whatever the environment said).
 */
describe('sdops serve: migration runs started through the API use the configured runner options', function () {
  this.timeout(60_000);
  let t: MigrationTestDb;
  let serve: SdopsProcess | undefined;

  before(async () => {
    t = await openMigrationTestDb();
    await seedDocuments(t.db, { legacy: 70, deleted: 0, live: 0 });
  });
  after(async () => {
    await serve?.stop();
    await t?.close();
  });

  it('uses SDOPS_MIGRATION_BATCH_SIZE and SDOPS_MIGRATION_MAX_FAILED_BATCHES when the request names neither', async () => {
    serve = spawnSdops(['serve', '--port', '0'], {
      DATABASE_URL: t.test.url,
      SDOPS_API_TOKENS: undefined,
      SDOPS_MIGRATION_BATCH_SIZE: '7',
      SDOPS_MIGRATION_MAX_FAILED_BATCHES: '1',
      // Two batches always fail: one more than the configured budget, far below the default of 10.
      SDOPS_MIGRATION_FAIL_BATCH: 'backfill-deleted-at:2,backfill-deleted-at:4',
      SDOPS_MIGRATION_RETRY_ATTEMPTS: '1',
    });
    const [, url] = await serve.waitFor(/sdops api listening on (\S+)/);
    const started = await fetch(`${url}/v1/migrations/backfill-deleted-at/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ params: { entities: ['documents'] } }),
    });
    expect(started.status, await started.clone().text()).to.equal(202);
    const { run } = (await started.json()) as RunBody;
    expect(run).to.include({ batchSize: 7, maxFailedBatches: 1 });

    const ended = await waitUntil('the run to end', async () => {
      const res = await fetch(`${url}/v1/migrations/runs/${run.runId}`);
      const body = (await res.json()) as RunBody;
      return ['running', 'stopping'].includes(body.run.state) ? undefined : body.run;
    });
    // Over the budget: the run ends failed at its second failed batch (with the default budget it
    // would have gone on to the end and finished partially_failed).
    expect(ended).to.include({ state: 'failed', batchesFailed: 2 });
    const { rows } = await t.db.query<{ batch_no: number; rows: string }>(
      `SELECT batch_no, rows FROM sdops_migration_batches WHERE run_id = $1 AND status = 'succeeded' ORDER BY batch_no`,
      [run.runId],
    );
    expect(rows.map((r) => [r.batch_no, Number(r.rows)])).to.deep.equal([
      [1, 7],
      [3, 7],
    ]);
  });

  it('creates the cleanup queues with the SDOPS_JOB_* retry and lease policy on a fresh database', async () => {
    const fresh = await openMigrationTestDb();
    const server = spawnSdops(['serve', '--port', '0'], {
      DATABASE_URL: fresh.test.url,
      SDOPS_API_TOKENS: undefined,
      SDOPS_JOB_RETRY_LIMIT: '1',
      SDOPS_JOB_RETRY_DELAY_SECONDS: '2',
      SDOPS_JOB_EXPIRE_SECONDS: '77',
    });
    try {
      await server.waitFor(/sdops api listening on (\S+)/);
      const { rows } = await fresh.db.query<{
        retry_limit: number;
        retry_delay: number;
        expire_seconds: number;
      }>(
        `SELECT retry_limit, retry_delay, expire_seconds FROM pgboss.queue WHERE name NOT LIKE '%dead%' ORDER BY name`,
      );
      expect(rows).to.not.be.empty;
      for (const row of rows) expect(row).to.include({ retry_limit: 1, retry_delay: 2, expire_seconds: 77 });
    } finally {
      await server.stop();
      await fresh.close();
    }
  });
});
