import { expect } from 'chai';
import { CleanupQueue, queueName } from '../../../src/cleanup/index.ts';
import { DEAD_LETTER_QUEUE } from '../../../src/cleanup/queue-names.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { configureLogging } from '../../../src/observability/index.ts';
import { runCli } from '../../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { type SdopsProcess, spawnSdops } from '../../support/sdops-process.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * The runbook's fix for jobs that time out, followed as written: raise SDOPS_JOB_EXPIRE_SECONDS and
 * restart the workers. It must reach the jobs that were already queued with the old lease.
 */
describe('a raised job lease reaches jobs already queued (PostgreSQL)', function () {
  this.timeout(90_000);
  let tdb: TestDatabase;
  let db: Database;
  let worker: SdopsProcess | undefined;

  before(async () => {
    configureLogging({ level: 'warn', console: 'stderr' });
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url });
    await migrateSchema(db);
  });

  after(async () => {
    await worker?.stop('SIGKILL');
    await db?.close();
    await tdb?.drop();
  });

  const job = async (id: string) =>
    (
      await db.query<{ state: string; expire: number; retry_count: number; code: string | null }>(
        `SELECT state::text AS state, expire_seconds AS expire, retry_count, output->>'code' AS code
           FROM pgboss.job WHERE id = $1`,
        [id],
      )
    ).rows[0];

  it('runs a job enqueued under a 2 s lease to completion, first attempt, after the workers restart with 30 s', async () => {
    // The workers so far ran with a 2 s lease: the queues carry it, and so does every job enqueued.
    const old = await CleanupQueue.open(db, {
      role: 'worker',
      policy: { retryLimit: 0, retryDelaySeconds: 1, expireSeconds: 2 },
    });
    await old.close();
    const env = { DATABASE_URL: tdb.url, SDOPS_JOB_EXPIRE_SECONDS: '2' };
    const enqueued = await runCli(
      ['--json', 'queue', 'enqueue', 'noop', '--payload', '{"sleepMs":4000}'],
      env,
    );
    expect(enqueued.code, enqueued.stderr).to.equal(0);
    const { jobId } = JSON.parse(enqueued.stdout) as { jobId: string };
    expect((await job(jobId))?.expire).to.equal(2);

    // The fix: a longer lease, workers restarted.
    worker = spawnSdops(['worker', '--job-types', 'noop', '--no-schedule'], {
      ...env,
      SDOPS_JOB_EXPIRE_SECONDS: '30',
      SDOPS_QUEUE_POLL_INTERVAL_MS: '100',
      SDOPS_QUEUE_MAINTENANCE_INTERVAL_SECONDS: '1',
    });
    await worker.waitFor(/worker started/);
    await waitUntil(
      'the job to finish',
      async () => ['completed', 'failed', 'retry'].includes((await job(jobId))?.state ?? ''),
      {
        timeoutMs: 30_000,
      },
    );
    expect(await job(jobId)).to.deep.include({ state: 'completed', expire: 30, retry_count: 0, code: null });
    expect(worker.output()).to.include("waiting jobs moved to this worker's queue policy");
    expect(await worker.stop()).to.equal(0);
  });

  it('leaves queued jobs and schedules as they were when a worker is refused for a mistyped --job-types', async () => {
    const env = { DATABASE_URL: tdb.url, SDOPS_JOB_EXPIRE_SECONDS: '2', OTEL_SDK_DISABLED: 'true' };
    const enqueued = await runCli(['--json', 'queue', 'enqueue', 'noop'], env);
    expect(enqueued.code, enqueued.stderr).to.equal(0);
    const { jobId } = JSON.parse(enqueued.stdout) as { jobId: string };
    const schedules = async () =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pgboss.schedule')).rows[0]!.n;
    const before = { job: await job(jobId), schedules: await schedules() };
    expect(before.job?.state).to.equal('created');

    const refused = await runCli(['worker', '--job-types', 'noop,cascade'], {
      ...env,
      SDOPS_JOB_EXPIRE_SECONDS: '77',
      SDOPS_JOB_RETRY_LIMIT: '0',
    });
    expect(refused.code).to.equal(2);
    expect(refused.stderr.trim().split('\n')).to.deep.equal([
      'sdops: unknown job type "cascade" (known: purge_expired, archive_entity, cascade_soft_delete, restore_cascade, bulk_soft_delete, bulk_restore, noop)',
    ]);
    // Opening the queue first moved every waiting job to the refused worker's lease and retry limit.
    expect(await job(jobId)).to.deep.equal(before.job);
    expect(await schedules()).to.equal(before.schedules);
  });

  it('runs a job that died of job_timeout under the old lease to completion after `queue retry --dead`', async () => {
    const env = {
      DATABASE_URL: tdb.url,
      SDOPS_QUEUE_POLL_INTERVAL_MS: '100',
      SDOPS_QUEUE_MAINTENANCE_INTERVAL_SECONDS: '1',
    };
    const slow = spawnSdops(['worker', '--job-types', 'noop', '--no-schedule'], {
      ...env,
      SDOPS_JOB_EXPIRE_SECONDS: '2',
      SDOPS_JOB_RETRY_LIMIT: '0',
    });
    await slow.waitFor(/worker started/);
    const enqueued = await runCli(
      ['--json', 'queue', 'enqueue', 'noop', '--payload', '{"sleepMs":3500}'],
      env,
    );
    const { jobId } = JSON.parse(enqueued.stdout) as { jobId: string };
    await waitUntil('the job to die of its lease', async () => (await job(jobId))?.state === 'failed', {
      timeoutMs: 30_000,
    });
    expect((await job(jobId))?.code).to.equal('job_timeout');
    expect(await slow.stop()).to.equal(0);

    worker = spawnSdops(['worker', '--job-types', 'noop', '--no-schedule'], {
      ...env,
      SDOPS_JOB_EXPIRE_SECONDS: '30',
      SDOPS_JOB_RETRY_LIMIT: '0',
    });
    await worker.waitFor(/worker started/);
    const retried = await runCli(['--json', 'queue', 'retry', '--dead'], env);
    expect(JSON.parse(retried.stdout)).to.include({ retried: 1 });
    await waitUntil(
      'the revived job to finish',
      async () => ['completed', 'failed'].includes((await job(jobId))?.state ?? ''),
      {
        timeoutMs: 30_000,
      },
    );
    expect(await job(jobId)).to.deep.include({ state: 'completed', expire: 30 });
    expect(await worker.stop()).to.equal(0);
  });

  it('gives a revived job the current lease before it can be claimed, and drops only the dead-letter copies that were there before', async () => {
    const old = await CleanupQueue.open(db, {
      role: 'worker',
      policy: { retryLimit: 0, retryDelaySeconds: 1, expireSeconds: 2 },
    });
    const name = queueName('noop');
    let jobId: string;
    try {
      jobId = await old.enqueue('noop', {});
      const [claimed] = await old.boss.fetch(name);
      expect(claimed?.id).to.equal(jobId);
      await old.boss.fail(name, jobId, { code: 'job_timeout' });
    } finally {
      await old.close();
    }
    expect(await job(jobId)).to.deep.include({ state: 'failed', expire: 2 });
    const copiesOf = async (id: string) =>
      (
        await db.query<{ id: string; data: object }>(
          `SELECT id::text AS id, data FROM pgboss.job
            WHERE name = $1 AND data->'meta'->>'jobId' = $2 ORDER BY created_on`,
          [DEAD_LETTER_QUEUE, id],
        )
      ).rows;
    const [deadCopy, ...others] = await copiesOf(jobId);
    expect(deadCopy, 'pg-boss copied the failed job to the dead-letter queue').to.not.equal(undefined);
    expect(others).to.deep.equal([]);

    const raised = await CleanupQueue.open(db, {
      role: 'worker',
      policy: { retryLimit: 0, retryDelaySeconds: 1, expireSeconds: 30 },
    });
    try {
      // The moment pg-boss makes the job claimable again is the moment a worker may take it.
      const retry = raised.boss.retry.bind(raised.boss);
      const leaseWhenClaimable: number[] = [];
      raised.boss.retry = (async (queue: string, id: string | string[]) => {
        leaseWhenClaimable.push((await job(jobId))?.expire ?? -1);
        const revived = await retry(queue, id);
        // A worker takes the revived job at once and it dies again: pg-boss copies it once more.
        await raised.boss.insert(DEAD_LETTER_QUEUE, [{ data: deadCopy!.data }]);
        return revived;
      }) as typeof raised.boss.retry;
      expect(await raised.retry(jobId)).to.include({ jobId, action: 'revived' });
      expect(leaseWhenClaimable).to.deep.equal([30]);
      expect(await job(jobId)).to.deep.include({ state: 'retry', expire: 30 });
      const left = await copiesOf(jobId);
      expect(left, 'the new copy stays, the old one is gone').to.have.length(1);
      expect(left[0]?.id).to.not.equal(deadCopy!.id);
    } finally {
      await raised.close();
    }
  });
});
