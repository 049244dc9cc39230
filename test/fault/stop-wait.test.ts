import { expect } from 'chai';
import pg from 'pg';
import { runCli } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { spawnSdops } from '../support/sdops-process.ts';
import { waitUntil } from '../support/wait.ts';
import { measured } from '../support/measured.ts';

/**
 * `sdops migrate stop --wait` on a run whose runner was SIGKILLed less than a lease ago: nobody is
 * left to park the run, so the command itself parks it once the lease has expired, and returns
 * within the lease plus a stated margin. With a shorter --timeout it gives up with one line instead.
 */
const LEASE_MS = 3000;
/** CLI start-up on a loaded machine, the polling interval and the heartbeat's age at the kill. */
const MARGIN_MS = 5000;

describe('fault suite: migrate stop --wait on a SIGKILLed runner', function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let client: pg.Client;
  const env = () => ({
    DATABASE_URL: db.url,
    SDOPS_MIGRATION_HEARTBEAT_MS: '500',
    SDOPS_MIGRATION_LEASE_TIMEOUT_MS: String(LEASE_MS),
  });

  before(async () => {
    db = await createTestDatabase();
    const seeded = await runCli(['seed', '--rows', '400', '--legacy-fraction', '0.5'], env());
    expect(seeded.code, seeded.stderr).to.equal(0);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });
  after(async () => {
    await client?.end();
    await db?.drop();
  });

  it('times out with one line when --timeout is shorter than the lease, then parks the run once the lease expired', async () => {
    const runner = spawnSdops(
      ['migrate', 'start', 'backfill-deleted-at', '--batch-size', '50', '--max-rows-per-second', '100'],
      env(),
    );
    const runId = (await runner.waitFor(/run ([0-9a-f-]{36}):/))[1] as string;
    const progress = async () =>
      Number(
        (
          await client.query<{ n: string }>(
            'SELECT rows_processed AS n FROM sdops_migration_runs WHERE run_id = $1',
            [runId],
          )
        ).rows[0]?.n,
      );
    await waitUntil('the run to make progress', async () => (await progress()) > 0, { intervalMs: 100 });
    expect(await runner.stop('SIGKILL')).to.equal(null);
    const killed = Date.now();

    const impatient = await runCli(['migrate', 'stop', runId, '--wait', '--timeout', '1'], env());
    expect(impatient.code, impatient.stderr).to.equal(1);
    const lines = impatient.stderr.trim().split('\n');
    expect(lines.at(-1)).to.match(/^sdops: run \S+ is still stopping after 1 s/);
    // As a plain stop and resume say it: the runner was of this host and is gone (was "If that runner is gone").
    expect(impatient.stderr, 'it says the runner is gone and how long the lease has left').to.match(
      /its runner \S+ was a process of this host that is gone, so nothing parks it before its lease expires in \d+ s: waiting for that/,
    );

    const patient = await runCli(['migrate', 'stop', runId, '--wait'], env());
    const tookMs = Date.now() - killed;
    measured(`stop --wait returned ${tookMs} ms after the SIGKILL (lease ${LEASE_MS} ms)`);
    expect(patient.code, patient.stderr).to.equal(0);
    expect(patient.stdout).to.equal(`run ${runId}: stopped\n`);
    expect(tookMs).to.be.below(LEASE_MS + MARGIN_MS);
    const row = await client.query<{ state: string; owner: string | null; heartbeat_at: Date | null }>(
      'SELECT state, owner, heartbeat_at FROM sdops_migration_runs WHERE run_id = $1',
      [runId],
    );
    // No heartbeat either, as a run its runner parked: status showed this one's ageing.
    expect(row.rows[0]).to.deep.equal({ state: 'stopped', owner: null, heartbeat_at: null });

    // Parked, not lost: resume finishes it from its checkpoint.
    const resumed = await runCli(['migrate', 'resume', runId], env());
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect(resumed.stdout).to.include('succeeded');
  });

  it('says, on a plain stop of a run whose runner is gone, that nothing parks it before its lease expires, and how to wait for that', async () => {
    const longLease = { ...env(), SDOPS_MIGRATION_LEASE_TIMEOUT_MS: '10000' };
    await client.query('UPDATE documents SET deleted_at = NULL, delete_reason = NULL WHERE is_deleted');
    const runner = spawnSdops(
      ['migrate', 'start', 'backfill-deleted-at', '--batch-size', '50', '--max-rows-per-second', '100'],
      longLease,
    );
    const runId = (await runner.waitFor(/run ([0-9a-f-]{36}):/))[1] as string;
    expect(await runner.stop('SIGKILL')).to.equal(null);

    const stop = await runCli(['migrate', 'stop', runId], longLease);
    expect(stop.code, stop.stderr).to.equal(0);
    expect(stop.stdout).to.equal(`run ${runId}: stopping\n`);
    // Before: nothing more, and the run sat in stopping until MigrationRunStale paged.
    expect(stop.stderr.trim()).to.match(
      new RegExp(
        `^sdops: its runner \\S+ was a process of this host that is gone, so nothing parks the run: its lease expires in \\d+s; \`sdops migrate stop ${runId} --wait\` waits for that and parks it$`,
      ),
    );
    const parked = await runCli(['migrate', 'stop', runId, '--wait'], longLease);
    expect(parked.code, parked.stderr).to.equal(0);
    expect(parked.stdout).to.equal(`run ${runId}: stopped\n`);
  });
});
