import { expect } from 'chai';
import { configureLogging } from '../../../src/observability/index.ts';
import { OtlpListener } from '../../support/otlp-listener.ts';
import { waitUntil } from '../../support/wait.ts';
import { type MigrationTestDb, openMigrationTestDb, seedDocuments, spawnCli } from './support.ts';

/**
 * A migration run whose end fell into a collector restart exported nothing of its last seconds: the
 * dashboard showed no successful run and fewer rows than SQL (probe: 0 runs against 1, 96 rows
 * against 102). Its last metric export is now tried again until the collector is back.
 */
describe('a migration run ending while its collector restarts (PostgreSQL, child process)', function () {
  this.timeout(90_000);
  let t: MigrationTestDb;

  before(async () => {
    configureLogging({ level: 'error', console: 'stderr' });
    t = await openMigrationTestDb();
    await seedDocuments(t.db, { legacy: 3_000, deleted: 0, live: 0 });
  });
  after(async () => {
    await t?.close();
  });

  /** The backfill in a child process exporting to `endpoint` every 200 ms, `rowsPerSecond` at most. */
  const throttledRun = (endpoint: string, rowsPerSecond: number, env: Record<string, string> = {}) =>
    spawnCli(
      t.test.url,
      `migrate start backfill-deleted-at --entity documents --batch-size 100 --max-rows-per-second ${rowsPerSecond}`.split(
        ' ',
      ),
      {
        OTEL_SDK_DISABLED: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_METRIC_EXPORT_INTERVAL: '200',
        LOG_LEVEL: 'warn',
        ...env,
      },
    );

  it('hands its final counts to the collector once it is back, and says it is waiting for it', async () => {
    const collector = new OtlpListener();
    await collector.start();
    const port = Number(new URL(collector.url).port);
    const child = throttledRun(collector.url, 1000);
    const rows = () =>
      collector.points
        .filter((p) => p.metric === 'migration.rows_processed' && p.attributes.status === 'success')
        .reduce((most, p) => Math.max(most, p.value), 0);
    await waitUntil('the run to export its first rows', async () => rows() > 0);
    await collector.stop();
    const { rows: runs } = await t.db.query<{ state: string }>(
      'SELECT state FROM sdops_migration_runs ORDER BY created_at DESC LIMIT 1',
    );
    expect(runs[0]?.state, 'the run was still going when the collector stopped').to.equal('running');

    await waitUntil('the runner to say it waits for the collector', async () =>
      child.stderr().includes("the collector does not take this command's metrics; trying again"),
    );
    const back = new OtlpListener();
    await back.start(port);
    try {
      const result = await child.result;
      expect(result.code, result.stderr).to.equal(0);
      const success = back.points.filter((p) => p.metric === 'migration.run.success');
      expect(
        success.map((p) => p.value),
        'the run counted as a success',
      ).to.include(1);
      const total = Math.max(
        ...back.points.filter((p) => p.metric === 'migration.rows_processed').map((p) => p.value),
      );
      expect(total, 'every row of the run').to.equal(3000);
    } finally {
      await back.stop();
    }
  });

  it('does not wait for a collector it never reached: none is deployed, or the run fell inside its outage', async () => {
    const gone = new OtlpListener();
    await gone.start();
    await gone.stop();
    await t.db.query(`UPDATE documents SET deleted_at = NULL WHERE is_deleted`);
    const result = await spawnCli(
      t.test.url,
      ['migrate', 'start', 'backfill-deleted-at', '--entity', 'documents'],
      {
        OTEL_SDK_DISABLED: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: gone.url,
        LOG_LEVEL: 'warn',
      },
    ).result;
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stderr).to.include('telemetry export failed');
    expect(result.stderr).to.not.include('trying again');
  });

  it('says how a run stopped with Ctrl-C ended before it waits for its collector, not after', async () => {
    await t.db.query(`UPDATE documents SET deleted_at = NULL WHERE is_deleted`);
    const collector = new OtlpListener();
    await collector.start();
    const child = throttledRun(collector.url, 300, { SDOPS_MIGRATION_EXPORT_RETRY_MS: '3000' });
    await waitUntil('the run to export its first rows', async () =>
      collector.points.some((p) => p.metric === 'migration.rows_processed'),
    );
    await collector.stop();
    child.kill('SIGINT');
    const result = await child.result;
    expect(result.code, result.stderr).to.equal(1);
    const stopped = result.stderr.indexOf('stopped before it finished');
    const waiting = result.stderr.indexOf('trying again');
    expect(stopped, result.stderr).to.be.greaterThan(-1);
    expect(waiting, result.stderr).to.be.greaterThan(-1);
    // Before: the line saying how the run ended came after the whole wait (30 s by default).
    expect(stopped, "the run's line first").to.be.lessThan(waiting);
    expect(result.stderr.split('stopped before it finished'), 'said once').to.have.lengthOf(2);
    // The collector never came back: the operator learns the panels miss the run's last counts.
    expect(result.stderr).to.include("the collector did not take this command's metrics in time");
  });
});
