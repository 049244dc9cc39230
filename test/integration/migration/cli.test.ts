import { expect } from 'chai';
import { MigrationRunner } from '../../../src/migration/index.ts';
import { RunLockedError } from '../../../src/migration/errors.ts';
import {
  type MigrationTestDb,
  openMigrationTestDb,
  recordBackfillSource,
  runCli,
  scalar,
  seedDocuments,
  spawnCli,
  tableChecksum,
} from './support.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * The runner as operators use it: `sdops migrate ...` child processes against real PostgreSQL over
 * 200k legacy rows, including a SIGKILL mid-run. Correctness is checked against the source data (a
 * snapshot and a trigger logging every deleted_at change), never against the runner's own counters.
 */
describe('sdops migrate over 200k legacy rows (child processes)', function () {
  this.timeout(60_000);
  let t: MigrationTestDb;
  let url: string;
  let runId: string;
  const LEGACY = 200_000;
  const THROTTLE = 2_000;
  const ARGS = ['migrate', 'start', 'backfill-deleted-at', '--entity', 'documents', '--batch-size', '2000'];

  const run = async () => {
    const { rows } = await t.db.query<{ state: string; rows_processed: string; owner: string | null }>(
      'SELECT state, rows_processed, owner FROM sdops_migration_runs WHERE run_id = $1',
      [runId],
    );
    return rows[0] as { state: string; rows_processed: string; owner: string | null };
  };

  before(async () => {
    t = await openMigrationTestDb();
    url = t.test.url;
    await seedDocuments(t.db, { legacy: LEGACY, deleted: 20_000, live: 30_000 });
    await recordBackfillSource(t.db);
  });
  after(async () => {
    await t?.close();
  });

  it('rejects unknown migrations and parameters with exit code 2 before touching anything', async () => {
    const unknown = await runCli(url, ['migrate', 'start', 'no-such-migration']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.contain('unknown migration');
    const badParam = await runCli(url, [...ARGS, '--older-than-days', '3']);
    expect(badParam.code).to.equal(2);
    expect(badParam.stderr).to.contain('does not take parameter');
    expect(await scalar(t.db, 'SELECT count(*) AS v FROM sdops_migration_runs')).to.equal('0');
  });

  it('--dry-run reports the rows that would change and changes nothing', async () => {
    const before = await tableChecksum(t.db, 'documents');
    const res = await runCli(url, ['--json', ...ARGS, '--dry-run']);
    expect(res.code, res.stderr).to.equal(0);
    const summary = JSON.parse(res.stdout) as { state: string; dryRun: boolean; rowsProcessed: number };
    expect(summary).to.include({ state: 'succeeded', dryRun: true, rowsProcessed: LEGACY });
    expect(await tableChecksum(t.db, 'documents')).to.equal(before);
    expect(await scalar(t.db, 'SELECT count(*) AS v FROM touches')).to.equal('0');
  });

  it('a runner killed with SIGKILL mid-run can be resumed only after its heartbeat goes stale', async () => {
    // 2,000 rows/s keeps this run and its CLI resume below far from done (~100 s) within this file's
    // windows, however slowly the CLI children start; the last test lifts the throttle.
    const child = spawnCli(url, [...ARGS, '--max-rows-per-second', String(THROTTLE)]);
    runId = await waitUntil('the run to make progress', async () => {
      const { rows } = await t.db.query<{ id: string }>(
        `SELECT run_id::text AS id FROM sdops_migration_runs WHERE NOT dry_run AND rows_processed >= 4000`,
      );
      return rows[0]?.id;
    });
    child.kill('SIGKILL');
    const killed = await child.result;
    expect(killed.signal).to.equal('SIGKILL');
    const atKill = await run();
    expect(atKill.state).to.equal('running');
    expect(Number(atKill.rows_processed)).to.be.lessThan(LEGACY);

    // The dead owner's lease (1.5 s) has not expired yet: taking the run over now must be refused.
    // (In-process: a CLI child needs longer than the lease just to start.)
    const error = await new MigrationRunner(t.db).resume(runId).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(RunLockedError);
    // Its owner was a process of this host: the refusal says it is gone, not "being processed".
    expect((error as Error).message).to.match(
      /belonged to .*, a process of this host that is gone; .*stop [0-9a-f-]{36} --wait/,
    );
    expect((await run()).rows_processed).to.equal(atKill.rows_processed);
  });

  it('a second resume is refused while one runs, and `migrate stop` parks the run as stopped', async () => {
    const dead = (await run()).owner;
    await waitUntil("the killed owner's lease to go stale", async () => {
      const stale = await scalar(
        t.db,
        `SELECT heartbeat_at < now() - lease_timeout_ms * interval '1 millisecond' AS v
           FROM sdops_migration_runs WHERE run_id = $1`,
        [runId],
      );
      return stale === 'true' ? true : undefined;
    });
    // The run keeps its 2,000 rows/s throttle: this resume cannot finish before the stop below lands.
    const first = spawnCli(url, ['--json', 'migrate', 'resume', runId]);
    const before = Number((await run()).rows_processed);
    await waitUntil('the resume to take over and make progress', async () => {
      const r = await run();
      return r.owner !== null && r.owner !== dead && Number(r.rows_processed) > before ? true : undefined;
    });
    // One after the other: a stop that parked the run first would let the second resume take it over.
    const second = await runCli(url, ['migrate', 'resume', runId]);
    expect(second.code, second.stderr).to.equal(1);
    expect(second.stderr).to.contain('is being processed by');
    const stop = await runCli(url, ['migrate', 'stop', runId]);
    expect(stop.code, stop.stderr).to.equal(0);
    const firstResult = await first.result;
    // Stopped is not finished: exit 1 with code run_stopped, the summary still on stdout.
    expect(firstResult.code, firstResult.stderr).to.equal(1);
    expect(JSON.parse(firstResult.stdout).state).to.equal('stopped');
    expect(JSON.parse(firstResult.stderr).error.code).to.equal('run_stopped');
    const parked = await run();
    expect(parked.state).to.equal('stopped');
    expect(parked.owner).to.equal(null);
    expect(Number(parked.rows_processed)).to.be.lessThan(LEGACY);
  });

  it('resume lifting the throttle finishes from the checkpoint: every legacy row migrated exactly once, no other row changed', async () => {
    // In process: the CLI's resume keeps the run's throttle, which would take ~100 s here.
    const runner = new MigrationRunner(t.db);
    const summary = await (await runner.resume(runId, { maxRowsPerSecond: null })).done;
    expect(summary.state).to.equal('succeeded');
    expect((await runner.get(runId)).maxRowsPerSecond, 'the lifted throttle is kept').to.equal(null);
    const wrong = await scalar(
      t.db,
      `SELECT count(*) AS v FROM legacy_source s JOIN documents d USING (id)
        WHERE d.deleted_at IS DISTINCT FROM s.updated_at OR d.delete_reason IS DISTINCT FROM 'legacy'`,
    );
    expect(wrong, 'legacy rows without deleted_at = updated_at').to.equal('0');
    expect(await scalar(t.db, 'SELECT count(*) AS v FROM touches')).to.equal(String(LEGACY));
    expect(await scalar(t.db, 'SELECT count(DISTINCT id) AS v FROM touches')).to.equal(String(LEGACY));
    const othersChanged = await scalar(
      t.db,
      `SELECT count(*) AS v FROM other_source o JOIN documents d USING (id) WHERE d::text <> o::text`,
    );
    expect(othersChanged).to.equal('0');
    // The run's own bookkeeping agrees: contiguous batch ranges, rows summing to the source count.
    const { rows } = await t.db.query<{
      key_from: string | null;
      key_to: string;
      rows: string;
      status: string;
    }>(
      'SELECT key_from, key_to, rows, status FROM sdops_migration_batches WHERE run_id = $1 ORDER BY batch_no',
      [runId],
    );
    let previous: string | null = null;
    for (const b of rows) {
      expect(b.key_from).to.equal(previous);
      expect(b.status).to.equal('succeeded');
      previous = b.key_to;
    }
    expect(rows.reduce((n, b) => n + Number(b.rows), 0)).to.equal(LEGACY);
    expect(Number((await run()).rows_processed)).to.equal(LEGACY);
  });

  it('lists the runs of every --state given, repeated or as a comma list', async () => {
    const listed = async (...states: string[]) => {
      const res = await runCli(url, ['--json', 'migrate', 'list', ...states.flatMap((s) => ['--state', s])]);
      expect(res.code, res.stderr).to.equal(0);
      return (JSON.parse(res.stdout) as { state: string }[]).map((r) => r.state).sort();
    };
    // Both runs (the dry run and the real one) succeeded. Before, the last --state replaced the first.
    expect(await listed('succeeded', 'stopped')).to.deep.equal(['succeeded', 'succeeded']);
    expect(await listed('stopped,succeeded')).to.deep.equal(['succeeded', 'succeeded']);
    expect(await listed('stopped')).to.deep.equal([]);
  });
});
