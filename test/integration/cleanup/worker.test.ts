import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { BUILTIN_JOB_TYPES, CleanupQueue, readQueueTruth } from '../../../src/cleanup/index.ts';
import type { QueuePolicy } from '../../../src/cleanup/settings.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { REPO_ROOT, runCli, SDOPS_BIN } from '../../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { OtlpListener } from '../../support/otlp-listener.ts';
import { spawnWorker, type WorkerChild, within } from './processes.ts';
import { waitUntil } from '../../support/wait.ts';
import { measured } from '../../support/measured.ts';

const TEST_TYPES = ['test_effect', 'test_fail', 'test_block'] as const;
const POLICY: QueuePolicy = { retryLimit: 2, retryDelaySeconds: 1, expireSeconds: 3 };

describe('cleanup worker processes on PostgreSQL', function () {
  this.timeout(120_000);
  let tdb: TestDatabase;
  let db: Database;
  let queue: CleanupQueue;
  const otlp = new OtlpListener();
  const children: WorkerChild[] = [];

  const env = (): Record<string, string> => ({
    DATABASE_URL: tdb.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_METRIC_EXPORT_INTERVAL: '300',
    OTEL_SDK_DISABLED: 'false',
    SDOPS_WORKER_CONCURRENCY: '4',
    SDOPS_QUEUE_POLL_INTERVAL_MS: '50',
    SDOPS_QUEUE_SAMPLE_INTERVAL_MS: '200',
    SDOPS_JOB_RETRY_LIMIT: String(POLICY.retryLimit),
    SDOPS_JOB_RETRY_DELAY_SECONDS: String(POLICY.retryDelaySeconds),
    SDOPS_JOB_EXPIRE_SECONDS: String(POLICY.expireSeconds),
    SDOPS_QUEUE_MAINTENANCE_INTERVAL_SECONDS: '1',
    SDOPS_WORKER_SHUTDOWN_TIMEOUT_MS: '10000',
  });

  const startWorker = async (more: Record<string, string> = {}): Promise<WorkerChild> => {
    const w = spawnWorker({ ...env(), ...more });
    children.push(w);
    await within(30_000, `worker ${w.pid} to start:\n${w.output()}`, w.ready);
    return w;
  };

  const stopWorker = async (w: WorkerChild): Promise<number | null> => {
    w.child.kill('SIGTERM');
    return within(20_000, `worker ${w.pid} to exit after SIGTERM`, w.exited);
  };

  const effects = async (jobIds?: string[]) =>
    (
      await db.query<{ job_id: string; pid: number; attempt: number }>(
        `SELECT job_id::text AS job_id, pid, attempt FROM cleanup_test_effects
          WHERE $1::uuid[] IS NULL OR job_id = ANY($1::uuid[])`,
        [jobIds ?? null],
      )
    ).rows;

  before(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url });
    await migrateSchema(db);
    await db.exec(`CREATE TABLE cleanup_test_effects (job_id uuid NOT NULL, pid int NOT NULL, attempt int NOT NULL);
                   CREATE TABLE cleanup_test_started (job_id uuid NOT NULL, pid int NOT NULL);`);
    queue = await CleanupQueue.open(db, {
      role: 'client',
      jobTypes: [...BUILTIN_JOB_TYPES, ...TEST_TYPES],
      policy: POLICY,
    });
    await otlp.start();
  });

  after(async () => {
    for (const w of children)
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await queue?.close();
    await db?.close();
    await otlp.stop();
    await tdb?.drop();
  });

  it('drains 2,000 jobs with two worker processes: each effect once, counters equal the jobs, the queue empty', async () => {
    const [a, b] = await Promise.all([startWorker(), startWorker()]);
    const ids = await queue.enqueueMany(
      'test_effect',
      Array.from({ length: 2000 }, () => ({})),
    );
    await waitUntil('2,000 effects', async () => (await effects(ids)).length >= 2000, { timeoutMs: 90_000 });
    expect(await stopWorker(a!)).to.equal(0);
    expect(await stopWorker(b!)).to.equal(0);

    const rows = await effects(ids);
    expect(rows).to.have.length(2000);
    expect(new Set(rows.map((r) => r.job_id)).size).to.equal(2000);
    const byPid = new Set(rows.map((r) => r.pid));
    expect(byPid).to.have.property('size', 2);
    expect(otlp.latestSum('cleanup.worker.jobs_processed', { job_type: 'test_effect' })).to.equal(2000);
    expect(otlp.latestSum('cleanup.worker.job_failures', { job_type: 'test_effect' })).to.equal(0);
    expect(otlp.latestSum('cleanup.worker.job.duration_seconds#count', { job_type: 'test_effect' })).to.equal(
      2000,
    );
    expect(otlp.latestSum('cleanup.worker.queue_wait_seconds#count', { job_type: 'test_effect' })).to.equal(
      2000,
    );
    expect((await readQueueTruth(db, ['test_effect'])).test_effect).to.deep.equal({
      waiting: 0,
      oldestWaitSeconds: 0,
      active: 0,
      oldestActiveSeconds: 0,
      dead: 0,
    });
  });

  it('retries a failing job with backoff, then dead; counts each failed attempt; `queue retry --dead` revives it', async () => {
    const w = await startWorker();
    const id = await queue.enqueue('test_fail', {});
    await waitUntil('the job to be dead', async () => {
      const row = (await queue.status()).find((r) => r.jobType === 'test_fail');
      return row?.dead === 1 && row.failed === 1;
    });
    await waitUntil('three attempt spans', () => otlp.jobSpans(id).length === 3);
    const starts = otlp
      .jobSpans(id)
      .map((s) => ({
        attempt: Number(s.attributes.attempt),
        t: Number(BigInt(s.startTimeUnixNano) / 1_000_000n),
      }))
      .sort((x, y) => x.attempt - y.attempt);
    expect(starts.map((s) => s.attempt)).to.deep.equal([1, 2, 3]);
    // Backoff with retry delay 1 s: the 1st retry waits 1-2 s, the 2nd 2-4 s (exponential, with jitter).
    expect(starts[1]!.t - starts[0]!.t).to.be.at.least(900);
    expect(starts[2]!.t - starts[1]!.t).to.be.at.least(1900);

    await waitUntil(
      'job_failures = 3 exported',
      () => otlp.latestSum('cleanup.worker.job_failures', { job_type: 'test_fail' }) === 3,
    );
    expect(otlp.latestSum('cleanup.worker.jobs_processed', { job_type: 'test_fail' })).to.equal(3);

    const retried = await runCli(['--json', 'queue', 'retry', '--dead'], {
      ...env(),
      OTEL_SDK_DISABLED: 'true',
    });
    expect(retried.code, retried.stderr).to.equal(0);
    expect(JSON.parse(retried.stdout)).to.deep.equal({ retried: 1, skipped: [] });
    await waitUntil('a fourth attempt after the retry', () => otlp.jobSpans(id).length === 4);
    await waitUntil(
      'job_failures = 4 exported',
      () => otlp.latestSum('cleanup.worker.job_failures', { job_type: 'test_fail' }) === 4,
    );

    await waitUntil('the job to be dead again', async () => {
      const row = (await queue.status()).find((r) => r.jobType === 'test_fail');
      return row?.dead === 1 && row.failed === 1 && row.waiting === 0;
    });
    const status = await runCli(['--json', 'queue', 'status'], { ...env(), OTEL_SDK_DISABLED: 'true' });
    expect(status.code, status.stderr).to.equal(0);
    const rows = JSON.parse(status.stdout) as { jobType: string }[];
    expect(rows.find((r) => r.jobType === 'test_fail')).to.include({ dead: 1 });
    expect(rows.find((r) => r.jobType === 'purge_expired')).to.include({ waiting: 0, active: 0, dead: 0 });
    expect(await stopWorker(w)).to.equal(0);
  });

  /** Waits until worker `a` has started job `id` (the test handler records its pid). */
  const startedOn = (a: WorkerChild, id: string) =>
    waitUntil('worker A to start the job', async () => {
      const { rows } = await db.query<{ pid: number }>(
        'SELECT pid FROM cleanup_test_started WHERE job_id = $1',
        [id],
      );
      return rows[0]?.pid === a.pid;
    });

  it('runs a job again on another worker after its worker is SIGKILLed mid-job, with the effect applied once', async () => {
    const a = await startWorker();
    const id = await queue.enqueue('test_block', {});
    await startedOn(a, id);
    a.child.kill('SIGKILL');
    expect(await within(10_000, 'worker A to die', a.exited)).to.equal(null);
    const b = await startWorker();
    await waitUntil('the job to complete on worker B', async () => (await effects([id])).length > 0, {
      timeoutMs: 30_000,
    });
    const rows = await effects([id]);
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ pid: b.pid, attempt: 2 });
    await waitUntil('the job to be completed', async () => {
      const { rows: s } = await db.query<{ state: string }>(
        `SELECT state::text AS state FROM pgboss.job WHERE id = $1`,
        [id],
      );
      return s[0]?.state === 'completed';
    });
    expect(await stopWorker(b)).to.equal(0);
  });

  /** A lease far longer than any wait below: only a heartbeat can bring the job back in time. */
  const LONG_LEASE_WITH_HEARTBEAT = { SDOPS_JOB_EXPIRE_SECONDS: '600', SDOPS_JOB_HEARTBEAT_SECONDS: '10' };

  /** A job's state, heartbeat time and claim time, as pgboss.job has them now. */
  const heartbeatOf = async (id: string) =>
    (
      await db.query<{ state: string; s: number | null; started: Date | null }>(
        'SELECT state::text AS state, heartbeat_seconds AS s, started_on AS started FROM pgboss.job WHERE id = $1',
        [id],
      )
    ).rows[0];

  /** The job is running under its heartbeat (it carries it from its queue; the claim stamps it). */
  const heartbeatStamped = (id: string, timeoutMs?: number) =>
    waitUntil(
      'the job to run under its heartbeat',
      async () => {
        const row = await heartbeatOf(id);
        return (row?.s === 10 && row.state === 'active') || undefined;
      },
      timeoutMs === undefined ? {} : { timeoutMs, intervalMs: 20 },
    );

  /**
   * Starts worker B: the job, whose worker is gone, runs again on it within 45 s, its effect once.
   * Resolves with when its effect was seen.
   */
  const runsAgainOnB = async (id: string): Promise<number> => {
    const b = await startWorker(LONG_LEASE_WITH_HEARTBEAT);
    await waitUntil('the job to complete on worker B', async () => (await effects([id])).length > 0, {
      timeoutMs: 45_000,
    });
    const seen = Date.now();
    expect(await effects([id])).to.deep.equal([{ job_id: id, pid: b.pid, attempt: 2 }]);
    expect(await stopWorker(b)).to.equal(0);
    return seen;
  };

  /** SIGKILLs worker A mid-job and starts B: the job runs again on B within 45 s, its effect once. */
  const killedJobRunsAgainOnB = async (a: WorkerChild, id: string) => {
    a.child.kill('SIGKILL');
    expect(await within(10_000, 'worker A to die', a.exited)).to.equal(null);
    const killed = Date.now();
    expect((await runsAgainOnB(id)) - killed).to.be.below(45_000);
  };

  it("runs a SIGKILLed worker's job again after its heartbeat time, not after its whole lease", async () => {
    const a = await startWorker(LONG_LEASE_WITH_HEARTBEAT);
    const id = await queue.enqueue('test_block', {});
    await heartbeatStamped(id);
    // Before: the job stayed active under the dead worker for its lease, here 10 minutes.
    await killedJobRunsAgainOnB(a, id);
  });

  it('runs a job again after its heartbeat time when its worker is SIGKILLed the moment the job starts', async () => {
    const a = await startWorker(LONG_LEASE_WITH_HEARTBEAT);
    const id = await queue.enqueue('test_block', {});
    await startedOn(a, id);
    // Before: the first stamp came 2 s (up to 3 s) into the job, so a job killed sooner (most jobs
    // are shorter than that) had none and waited out its lease, here 10 minutes. Now the claim
    // stamps it, and the job carries its heartbeat time from its queue.
    const started = Date.now();
    await heartbeatStamped(id, 1500);
    measured(`heartbeat seen ${Date.now() - started} ms after the job was seen started`);
    await killedJobRunsAgainOnB(a, id);
  });

  it('runs a job again after its heartbeat time when its worker is killed between the claim and the first stamp', async () => {
    // A worker puts its heartbeat time on the queues when it starts; every job enqueued afterwards carries it.
    const a = await startWorker(LONG_LEASE_WITH_HEARTBEAT);
    expect(await stopWorker(a)).to.equal(0);
    const id = await queue.enqueue('test_block', {});
    expect(await heartbeatOf(id)).to.deep.include({ state: 'created', s: 10 });
    // pg-boss's claim, as a worker makes it, and no stamp after it: a worker killed in between.
    // Before: the job had no heartbeat_seconds until its first stamp and waited out its 10-minute lease.
    const [claimed] = await queue.boss.fetch('cleanup.test_block');
    expect(claimed?.id).to.equal(id);
    const claimedAt = (await heartbeatOf(id))!.started!.getTime();
    const seen = await runsAgainOnB(id);
    measured(`claimed job without a stamp ran again ${seen - claimedAt} ms after its claim`);
  });

  it("leaves the queues' heartbeat time to the workers that stamp, and a worker with heartbeats off takes it off the jobs it claims", async () => {
    const queueSeconds = async () =>
      (
        await db.query<{ s: number | null }>(
          `SELECT heartbeat_seconds AS s FROM pgboss.queue WHERE name = 'cleanup.test_block'`,
        )
      ).rows[0]?.s;
    const a = await startWorker(LONG_LEASE_WITH_HEARTBEAT);
    expect(await stopWorker(a)).to.equal(0);
    const off = await startWorker({ ...LONG_LEASE_WITH_HEARTBEAT, SDOPS_JOB_HEARTBEAT_SECONDS: '0' });
    // Before: 0 cleared it, so a worker that stamps, killed right after a claim, left its job for its lease.
    expect(await queueSeconds()).to.equal(10);
    const id = await queue.enqueue('test_block', {});
    await startedOn(off, id);
    // Before: the job kept the queue's 10 s under a worker that never stamps, was failed under it
    // after 10 s and ran again beside it (a probe: four attempts of a 30 s job, then dead).
    await waitUntil(
      'the running job to carry no heartbeat time',
      async () => {
        const row = await heartbeatOf(id);
        return row?.state === 'active' && row.s === null;
      },
      { timeoutMs: 3000, intervalMs: 20 },
    );
    expect(await stopWorker(off)).to.equal(0);
  });

  it('stamps around a job row another session holds, neither waiting on it nor stopping the job', async () => {
    const a = await startWorker(LONG_LEASE_WITH_HEARTBEAT);
    const id = await queue.enqueue('test_block', {});
    await heartbeatStamped(id);
    const stampOf = async () =>
      (await db.query<{ at: Date }>('SELECT heartbeat_on AS at FROM pgboss.job WHERE id = $1', [id])).rows[0]
        ?.at;
    const holder = await openDatabase({ url: tdb.url });
    let heldStamp: Date | undefined;
    try {
      await holder.transaction(async (tx) => {
        // What the worker's batched completion of other jobs does to their rows, in its own order:
        // waiting on each other, a stamp and a completion deadlocked (40P01, a probe).
        await tx.query('SELECT id FROM pgboss.job WHERE id = $1 FOR UPDATE', [id]);
        heldStamp = await stampOf();
        const heldAt = Date.now();
        // A stamp is due every 2.5 s (a quarter of 10 s): one pass at least meets the held row.
        while (Date.now() - heldAt < 3500) {
          const { rows } = await db.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%heartbeat_seconds%'`,
          );
          // Before: the stamp waited on the row, as it did on the completion's rows.
          expect(Number(rows[0]?.n), 'a stamp waiting on the held row').to.equal(0);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      });
    } finally {
      await holder.close();
    }
    await waitUntil('the stamp after the row is free again', async () =>
      ((await stampOf())?.getTime() ?? 0) > (heldStamp?.getTime() ?? 0) ? true : undefined,
    );
    expect(a.output(), 'no stamp error, no stopped attempt').to.not.match(
      /could not stamp|heartbeat was not seen/,
    );
    expect(await stopWorker(a)).to.equal(0);
  });

  it('stops an attempt whose job was failed under it (its heartbeat came too late), and runs the job once more', async () => {
    const a = await startWorker(LONG_LEASE_WITH_HEARTBEAT);
    const id = await queue.enqueue('test_block', {});
    await heartbeatStamped(id);
    // What maintenance does to a job whose heartbeat it did not see in time (a worker cut off from
    // the database): fails it, and it runs again.
    await queue.boss.fail('cleanup.test_block', id, { message: 'job heartbeat timeout' });
    await waitUntil('the job to run again and complete', async () => (await effects([id])).length > 0, {
      timeoutMs: 30_000,
    });
    // Before: the first attempt went on beside the second until its lease ran out.
    await waitUntil('the first attempt to stop', () =>
      a.output().includes('its heartbeat was not seen in time, and it runs again; this attempt stopped')
        ? true
        : undefined,
    );
    expect(await effects([id])).to.deep.equal([{ job_id: id, pid: a.pid, attempt: 2 }]);
    expect(await stopWorker(a)).to.equal(0);
  });

  it('counts a job handed back at shutdown neither as processed nor as failed: it did not end, its next attempt does', async () => {
    const w = spawnWorker({ ...env(), SDOPS_WORKER_SHUTDOWN_TIMEOUT_MS: '300' });
    children.push(w);
    await within(30_000, `worker ${w.pid} to start:\n${w.output()}`, w.ready);
    const [id] = await queue.enqueueMany('noop', [{ sleepMs: 60_000 }]);
    await waitUntil('the job to start', async () => {
      const { rows } = await db.query<{ state: string }>(
        'SELECT state::text AS state FROM pgboss.job WHERE id = $1',
        [id],
      );
      return rows[0]?.state === 'active' || undefined;
    });
    expect(await stopWorker(w)).to.equal(0);
    // Routine on every deploy: an info line, not a warning with status failure.
    expect(w.output()).to.match(/"level":"info","message":"cleanup job handed back at shutdown/);
    expect(w.output()).to.match(/"message":"worker stopped".*"processed":0/);
    // Exported at exit: the attempt's start is there...
    await waitUntil(
      'the queue wait of the handed-back attempt',
      () =>
        otlp.latestSum('cleanup.worker.queue_wait_seconds#count', { job_type: 'noop' }) === 1 || undefined,
    );
    // ...and no end. Before: a failed attempt, on every deploy, for CleanupJobFailureRatioHigh.
    expect(otlp.latestSum('cleanup.worker.job_failures', { job_type: 'noop' }) ?? 0).to.equal(0);
    expect(otlp.latestSum('cleanup.worker.jobs_processed', { job_type: 'noop' }) ?? 0).to.equal(0);
    expect(otlp.latestSum('cleanup.worker.job.duration_seconds#count', { job_type: 'noop' }) ?? 0).to.equal(
      0,
    );
    // Its span is no failed job either (a row of them per deploy in the traces and span metrics).
    const [span] = await waitUntil('the attempt span', () => {
      const spans = otlp.jobSpans(id!);
      return spans.length > 0 ? spans : undefined;
    });
    expect(span?.status?.code ?? 0, 'not STATUS_CODE_ERROR').to.not.equal(2);
    expect(span?.attributes.status).to.equal(undefined);
    expect(span?.events ?? []).to.deep.equal([]);
  });

  it('`sdops worker` runs jobs enqueued with `sdops queue enqueue` and exits 0 on SIGTERM; a bad --job-types exits 2', async () => {
    const cliEnv = { ...env(), OTEL_SDK_DISABLED: 'true' };
    const bad = await runCli(['worker', '--job-types', 'noop,bogus'], cliEnv);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/unknown job type "bogus"/);

    const proc = spawn(
      process.execPath,
      [SDOPS_BIN, 'worker', '--concurrency', '2', '--job-types', 'noop', '--no-schedule'],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, ...cliEnv, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
    try {
      await waitUntil('the worker to start', () => out.includes('worker started'));
      const enqueued = await runCli(['--json', 'queue', 'enqueue', 'noop', '--payload', '{}'], cliEnv);
      expect(enqueued.code, enqueued.stderr).to.equal(0);
      const { jobId } = JSON.parse(enqueued.stdout) as { jobId: string };
      await waitUntil('the job to finish', () => out.includes(jobId) && out.includes('cleanup job finished'));
      proc.kill('SIGTERM');
      expect(await within(20_000, 'sdops worker to exit', exited)).to.equal(0);
      expect(out).to.include('worker stopped');
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
  });
});
