import { expect } from 'chai';
import pg from 'pg';
import { runCli } from '../../support/cli.ts';
import { signalAgain, spawnSdops } from '../../support/sdops-process.ts';
import { breakableProxy } from '../../support/tcp-proxy.ts';
import { waitUntil } from '../../support/wait.ts';
import { type MigrationTestDb, openMigrationTestDb, seedDocuments } from './support.ts';

describe('a migration session that loses its run to another runner during an outage', function () {
  this.timeout(120_000);
  let t: MigrationTestDb;

  before(async () => {
    t = await openMigrationTestDb();
    await seedDocuments(t.db, { legacy: 200, deleted: 0, live: 0 });
  });
  after(async () => {
    await t?.close();
  });

  it('counts only the batches it committed, not the one the new owner did under the same number', async () => {
    const proxy = await breakableProxy(t.test.url);
    const holder = new pg.Client({ connectionString: t.test.url });
    await holder.connect();
    const env = {
      OTEL_SDK_DISABLED: 'true',
      // A heartbeat slower than the batch loop's outage probe, as by default (5 s): once the database
      // is back, the batch in flight looks for its record before a heartbeat finds the new owner.
      SDOPS_MIGRATION_HEARTBEAT_MS: '3000',
      SDOPS_MIGRATION_LEASE_TIMEOUT_MS: '6000',
    };
    try {
      // Batches of 20: the third one starts at document 41, which this session holds.
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM documents WHERE id = 41 FOR UPDATE');
      const a = spawnSdops(
        ['--json', 'migrate', 'start', 'backfill-deleted-at', '--entity', 'documents', '--batch-size', '20'],
        { ...env, DATABASE_URL: proxy.url },
      );
      const runId = (
        await a.waitFor(/"message":"migration start".*?"run_id":"([0-9a-f-]{36})"/)
      )[1] as string;
      await waitUntil('the first runner to wait for document 41', async () => {
        const { rows } = await holder.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
        );
        return Number(rows[0]?.n) > 0;
      });
      // Its connections drop (its outage only), and the statement it left behind ends with them.
      proxy.cut();
      await holder.query('COMMIT');
      // Its lease runs out meanwhile; a second runner takes the run over and finishes it.
      const b = await waitUntil(
        'the second runner to take the run over',
        async () => {
          const r = await runCli(['--json', 'migrate', 'resume', runId], {
            ...env,
            DATABASE_URL: t.test.url,
          });
          return r.code === 0 ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 300 },
      );
      expect(JSON.parse(b.stdout)).to.include({ state: 'succeeded' });
      proxy.restore();
      const code = await a.exited;
      expect(code, a.output()).to.equal(1);
      const { rows } = await holder.query<{ session: number; rows: string }>(
        'SELECT session, sum(rows)::text AS rows FROM sdops_migration_batches WHERE run_id = $1 GROUP BY 1 ORDER BY 1',
        [runId],
      );
      expect(rows.map((r) => [r.session, Number(r.rows)])).to.deep.equal([
        [1, 40],
        [2, 160],
      ]);
      // The --json summary: the one multi-line JSON object among the log lines.
      const printed = /^\{\n[\s\S]*?\n\}$/m.exec(a.output())?.[0] ?? '{}';
      const summary = JSON.parse(printed) as Record<string, unknown>;
      // Before: 60, batch 3 of the second runner counted as its own.
      expect(summary).to.include({ leaseLost: true, sessionRows: 40 });
    } finally {
      proxy.close();
      await holder.end();
    }
  });
});

describe('a migration session aborted by a second signal', function () {
  this.timeout(60_000);

  it('says in one line what stays and how to go on, and exits 130', async () => {
    const t = await openMigrationTestDb();
    const holder = new pg.Client({ connectionString: t.test.url });
    try {
      await seedDocuments(t.db, { legacy: 2000, deleted: 0, live: 0 });
      // The third batch (documents 41..60) waits on this lock: both signals reach it in flight.
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM documents WHERE id = 41 FOR UPDATE');
      const env = { OTEL_SDK_DISABLED: 'true', DATABASE_URL: t.test.url };
      const args = ['migrate', 'start', 'backfill-deleted-at', '--entity', 'documents', '--batch-size', '20'];
      const migrate = spawnSdops(args, env);
      try {
        const runId = (await migrate.waitFor(/run ([0-9a-f-]{36}):/))[1] as string;
        await waitUntil('the third batch to wait on the lock', async () => {
          const { rows } = await holder.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          return rows.length > 0 ? true : undefined;
        });
        migrate.child.kill('SIGINT');
        await migrate.waitFor(/again to abort/);
        await signalAgain(migrate.child, 'SIGINT');
        expect(await migrate.exited, migrate.output().slice(-2000)).to.equal(130);
        // Before: the "stopping" line, then nothing; the run left running under a gone process.
        expect(migrate.output()).to.include(
          `sdops: run ${runId} aborted at once by a second SIGINT: the batch in flight rolls back, the committed ones stay; continue it with \`sdops migrate resume ${runId}\``,
        );
      } finally {
        await migrate.stop('SIGKILL');
      }
    } finally {
      await holder.end().catch(() => undefined);
      await t.close();
    }
  });
});
