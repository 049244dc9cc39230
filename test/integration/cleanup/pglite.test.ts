import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { CleanupQueue, startCleanupRuntime } from '../../../src/cleanup/index.ts';
import { DEAD_LETTER_QUEUE } from '../../../src/cleanup/queue-names.ts';
import type { JobHandler } from '../../../src/cleanup/handlers-types.ts';
import { loadConfig } from '../../../src/config.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { runDemoWorker } from '../../../src/demo/worker.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { waitUntil } from '../../support/wait.ts';
import { makeDocuments } from '../soft-delete/support.ts';

type WorkerSettings = ReturnType<typeof loadConfig>['worker'];

/** Settings that poll every 50 ms and sample no queue length; `policy` replaces the retry policy. */
function fastSettings(policy?: WorkerSettings['policy']): WorkerSettings {
  return {
    ...loadConfig({}).worker,
    pollIntervalMs: 50,
    queueSampleIntervalMs: 0,
    ...(policy ? { policy } : {}),
  };
}

/** A worker (no cron) whose failed attempts are dead at once, with one extra job type. */
function startWithoutRetries(database: Database, jobType: string, handler: JobHandler) {
  return startCleanupRuntime(database, {
    settings: fastSettings({ retryLimit: 0, retryDelaySeconds: 1, expireSeconds: 60 }),
    schedule: false,
    extraHandlers: { [jobType]: handler },
  });
}

describe('cleanup queue on the embedded PGlite database', function () {
  this.timeout(60_000);
  let db: Database;

  before(async () => {
    db = await openDatabase({ memory: true });
    await migrateSchema(db);
  });
  after(async () => {
    await db?.close();
  });

  it('installs pg-boss through the executeSql adapter and a worker completes an enqueued job', async () => {
    const settings = fastSettings();
    const runtime = await startCleanupRuntime(db, { settings, concurrency: 2 });
    try {
      const id = await runtime.queue.enqueue('noop', {});
      const purge = await runtime.queue.enqueue('purge_expired', { entity: 'documents' });
      await waitUntil('both jobs to complete', async () => {
        const states = await db.query<{ state: string }>(
          `SELECT state::text AS state FROM pgboss.job WHERE id = ANY($1::uuid[])`,
          [[id, purge]],
        );
        return states.rows.length === 2 && states.rows.every((r) => r.state === 'completed');
      });
      expect(runtime.worker.stats().processed).to.equal(2);
      expect(runtime.worker.processed).to.equal(2);
      expect(runtime.worker.stats().failed).to.equal(0);
    } finally {
      await runtime.stop();
    }
  });

  it('reports status per job type and retries nothing when nothing is dead', async () => {
    const queue = await CleanupQueue.open(db, { role: 'client', policy: loadConfig().worker.policy });
    try {
      const rows = await queue.status();
      const noop = rows.find((r) => r.jobType === 'noop');
      expect(noop?.completed).to.equal(1);
      expect(noop?.waiting).to.equal(0);
      expect(await queue.retryDead()).to.deep.equal({ retried: 0, skipped: [] });
    } finally {
      await queue.close();
    }
  });

  it('runs the demo worker until the fanned-out purge and archive jobs are drained', async () => {
    // The first test's worker saved the hourly purge schedule, and every worker process runs
    // pg-boss's cron: on the hour it would add a purge fan-out (1 + 4 jobs) to the count below.
    const client = await CleanupQueue.open(db, { role: 'client', policy: loadConfig().worker.policy });
    try {
      await client.schedule('purge_expired', undefined);
      await client.schedule('archive_entity', undefined);
    } finally {
      await client.close();
    }
    // And what that cron already enqueued when the suite ran across the hour (seen: 16 = 11 + 5),
    // also still on its way: pg-boss's cron first queues a send-it job that the next worker turns
    // into the fan-out (seen again at 18:00 with the jobs themselves deleted).
    await db.query(
      `DELETE FROM pgboss.job WHERE state < 'active'
          AND name IN ('cleanup.purge_expired', 'cleanup.archive_entity', '__pgboss__send-it')`,
    );
    const began = new Date();
    const summary = await runDemoWorker(db, loadConfig().worker, { concurrency: 2, timeoutMs: 30_000 });
    const ended = new Date();
    expect(summary.drained).to.equal(true);
    // purge_expired and archive_entity fan out to one job per entity (4 each), plus the noop; in
    // the first minute of an hour the hourly purge schedule of the first test may add its fan-out
    // (1 + 4) once more, whatever was deleted above (pg-boss's cron catches up at a worker's start).
    const seen = JSON.stringify(summary.stats);
    expect(summary.stats.failed, seen).to.equal(0);
    const onTheHour =
      [began, ended].some((t) => t.getUTCMinutes() === 0) || began.getUTCHours() !== ended.getUTCHours();
    expect(summary.stats.processed, seen).to.be.oneOf(onTheHour ? [3 + 8, 3 + 8 + 5] : [3 + 8]);
  });

  it('moves a job that fails its only attempt to the dead-letter queue, and `retry <job_id>` revives it', async () => {
    let runs = 0;
    const runtime = await startWithoutRetries(db, 'always_fail', async () => {
      runs += 1;
      throw new Error('always fails');
    });
    try {
      const id = await runtime.queue.enqueue('always_fail', {});
      const dead = async () =>
        (await runtime.queue.status()).find((r) => r.jobType === 'always_fail')?.dead === 1;
      await waitUntil('the job to be dead', dead);
      expect(await runtime.queue.retry(id)).to.deep.equal({
        jobId: id,
        jobType: 'always_fail',
        action: 'revived',
      });
      await waitUntil('the revived job to run and die again', async () => runs === 2 && (await dead()));
      expect(runtime.worker.stats().failed).to.equal(2);
    } finally {
      await runtime.stop();
    }
  });

  it('skips a malformed dead-letter entry in `retry --dead`, reports it with its reason and retries the others', async () => {
    // A database of its own: the dead jobs of the other tests must not be retried here.
    const db = await openDatabase({ memory: true });
    await migrateSchema(db);
    let runs = 0;
    const runtime = await startWithoutRetries(db, 'fails_once', async () => {
      runs += 1;
      if (runs === 1) throw new Error('fails the first time');
      return { count: 0 };
    });
    try {
      const id = await runtime.queue.enqueue('fails_once', {});
      const deadCopies = async () =>
        Number(
          (
            await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1`, [
              DEAD_LETTER_QUEUE,
            ])
          ).rows[0]?.n,
        );
      await waitUntil('the job to be dead', async () => (await deadCopies()) === 1);
      const [notEnvelope, unknownType, badPayload, badEntity] = [
        randomUUID(),
        randomUUID(),
        randomUUID(),
        randomUUID(),
      ];
      await runtime.queue.boss.insert(DEAD_LETTER_QUEUE, [
        { id: notEnvelope, data: { not: 'an envelope' } },
        { id: unknownType, data: { jobType: 'retired_type', payload: {}, meta: {} } },
        // Died of invalid_payload: retried, it only died again and added a failure to the alert.
        { id: badPayload, data: { jobType: 'cascade_soft_delete', payload: { entity: 'orders' }, meta: {} } },
        // Died of unknown_entity before, which no branch of the runbook named.
        { id: badEntity, data: { jobType: 'purge_expired', payload: { entity: 'nope' }, meta: {} } },
      ]);
      const outcome = await runtime.queue.retryDead();
      expect(outcome.retried).to.equal(1);
      expect(outcome.skipped.map((s) => s.jobId).sort()).to.deep.equal(
        [notEnvelope, unknownType, badPayload, badEntity].sort(),
      );
      // The code `queue retry <id>` of each entry fails with, one per cause (they were all
      // job_not_retryable, which is about a job's state): a script tells them apart without the text.
      const codes = Object.fromEntries(outcome.skipped.map((s) => [s.jobId, s.code]));
      expect([codes[notEnvelope], codes[unknownType], codes[badPayload], codes[badEntity]]).to.deep.equal([
        'job_without_envelope',
        'unknown_job_type',
        'invalid_payload',
        'invalid_payload',
      ]);
      const reasons = Object.fromEntries(outcome.skipped.map((s) => [s.jobId, s.reason]));
      expect(reasons[notEnvelope]).to.match(/carries no sdops job envelope/);
      expect(reasons[unknownType]).to.match(/is of job type "retired_type", which no queue serves any more/);
      expect(reasons[badPayload]).to.match(
        /would fail again at once \(invalid cascade_soft_delete payload: .*\); cancel it/,
      );
      expect(reasons[badEntity]).to.match(
        /would fail again at once \(invalid purge_expired payload: entity must be one of customers, .*\); cancel it/,
      );
      const state = async () =>
        (await db.query<{ state: string }>(`SELECT state::text AS state FROM pgboss.job WHERE id = $1`, [id]))
          .rows[0]?.state;
      await waitUntil('the revived job to complete', async () => (await state()) === 'completed');
      expect(runs).to.equal(2);
      expect(await deadCopies(), 'the skipped entries stay in the dead-letter queue').to.equal(4);
    } finally {
      await runtime.stop();
      await db.close();
    }
  });

  it('hands a job that outlives the shutdown timeout back: its handler sees the abort and it waits again, no retry spent', async () => {
    const settings = fastSettings({ retryLimit: 2, retryDelaySeconds: 60, expireSeconds: 60 });
    let started = false;
    let sawReason: unknown;
    const runtime = await startCleanupRuntime(db, {
      settings,
      schedule: false,
      extraHandlers: {
        wait_for_abort: (_payload, ctx) => {
          started = true;
          return new Promise((_resolve, reject) => {
            ctx.signal.addEventListener('abort', () => {
              sawReason = ctx.signal.reason;
              reject(ctx.signal.reason);
            });
          });
        },
      },
    });
    let stopped = false;
    try {
      const id = await runtime.queue.enqueue('wait_for_abort', {});
      await waitUntil('the handler to start', async () => started);
      expect(await runtime.worker.stop(100)).to.deep.equal({ drained: false, handedBack: 1 });
      stopped = true;
      expect((sawReason as { code?: string }).code).to.equal('worker_shutdown');
      const job = await db.query<{ state: string; output: { code?: string }; retries: number }>(
        `SELECT state::text AS state, output, retry_count AS retries FROM pgboss.job WHERE id = $1`,
        [id],
      );
      // Back in the queue as it was, no retry spent (hand-back.ts), with why in its output.
      expect(job.rows[0]).to.include({ state: 'created', retries: 0 });
      expect(job.rows[0]?.output.code).to.equal('worker_shutdown');
    } finally {
      if (!stopped) await runtime.worker.stop(100);
      await runtime.stop();
    }
  });

  it('returns from a stop only once a handed-back handler has left the batch it could not be stopped in', async () => {
    const settings = fastSettings({ retryLimit: 2, retryDelaySeconds: 60, expireSeconds: 60 });
    let started = false;
    let leftBatch = false;
    const runtime = await startCleanupRuntime(db, {
      settings,
      schedule: false,
      extraHandlers: {
        // A batch in flight on the embedded database: no statement there can be cancelled.
        busy_batch: async (_payload, ctx) => {
          started = true;
          await new Promise((resolve) => setTimeout(resolve, 600));
          await ctx.queue.db.query('SELECT 1');
          leftBatch = true;
          ctx.signal.throwIfAborted();
          return { count: 0 };
        },
      },
    });
    let stopped = false;
    try {
      await runtime.queue.enqueue('busy_batch', {});
      await waitUntil('the handler to start', async () => started);
      expect(await runtime.worker.stop(100)).to.deep.equal({ drained: false, handedBack: 1 });
      stopped = true;
      // Before, the stop returned at once and the queue closed the database under the batch: the
      // operation failed with "PGlite is closed", logged after the worker had said it stopped.
      expect(leftBatch, 'the handler left its batch before the stop returned').to.equal(true);
    } finally {
      if (!stopped) await runtime.worker.stop(100);
      await runtime.stop();
    }
  });

  const live = async () =>
    Number(
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM documents WHERE deleted_at IS NULL'))
        .rows[0]?.n,
    );

  // The runbook's undo of a failed bulk delete, then its job-failure steps: fix the cause and bring
  // the dead jobs back. A probe did both in turn, and the retry deleted the 3,602 rows just restored.
  it('refuses to run a failed bulk delete again once rows it deleted were restored, however it is retried, and runs one nobody undid', async () => {
    await db.exec('DELETE FROM documents');
    const ids = await makeDocuments(db, 2500);
    const sd = new SoftDeleteService(db);
    const runtime = await startCleanupRuntime(db, {
      settings: fastSettings({ retryLimit: 0, retryDelaySeconds: 1, expireSeconds: 60 }),
      schedule: false,
    });
    const dead = async () =>
      (await runtime.queue.status()).find((r) => r.jobType === 'bulk_soft_delete')?.dead;
    // A delete of every live document that fails in its third batch of 1,000, after two committed.
    const failedDelete = async (send: () => Promise<string>): Promise<string> => {
      await db.exec(`
        CREATE FUNCTION fail_doc() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure'; END $$;
        CREATE TRIGGER fail_doc BEFORE UPDATE ON documents FOR EACH ROW
          WHEN (OLD.id = ${Number(ids[2200])}) EXECUTE FUNCTION fail_doc();`);
      const before = (await dead()) ?? 0;
      const jobId = await send();
      await waitUntil('the bulk delete to be dead', async () => (await dead()) === before + 1);
      await db.exec('DROP TRIGGER fail_doc ON documents; DROP FUNCTION fail_doc();');
      expect(await live()).to.equal(500);
      return jobId;
    };
    const enqueued = () =>
      runtime.queue.enqueue('bulk_soft_delete', { entity: 'documents', filter: { is_deleted: false } });
    const refusal = (retry: Promise<unknown>) =>
      retry.then(
        () => undefined,
        (e: unknown) => e,
      );
    const copyOf = async (jobId: string) =>
      (
        await db.query<{ id: string }>(
          `SELECT id::text AS id FROM pgboss.job WHERE name = $1 AND source_id = $2::uuid AND state < 'active'`,
          [DEAD_LETTER_QUEUE, jobId],
        )
      ).rows[0]?.id ?? '';
    try {
      // Undone whole: the job failed, so a restore by its op id (its own id) is allowed.
      const whole = await failedDelete(enqueued);
      expect((await sd.restore('documents', { filter: { delete_op_id: whole } })).counts.success).to.equal(
        2000,
      );
      expect(await refusal(runtime.queue.retry(whole))).to.have.property('code', 'delete_undone');
      // Other tests' dead entries share this database: only this job's copy is looked for.
      const all = await runtime.queue.retryDead();
      expect(all.skipped.map((s) => s.code)).to.include('delete_undone');
      expect(all.skipped.map((s) => s.reason).join('\n')).to.match(
        // "the others were restored" read oddly when none carries it: all of them were.
        /job .* deleted 2000 rows \(its cascade included\) under op id .* and none of them carry that op id now: they were restored/,
      );
      expect(await live(), 'the restored rows stay').to.equal(2500);
      await runtime.queue.cancel({ jobId: whole, dryRun: false });

      // Undone in part, by id (the runbook's undo of one row or a few).
      const part = await failedDelete(enqueued);
      await sd.restore('documents', { ids: ids.slice(0, 10) });
      expect(await refusal(runtime.queue.retry(part))).to.have.property('code', 'delete_undone');
      await runtime.queue.cancel({ jobId: part, dryRun: false });
      await sd.restore('documents', { filter: { delete_op_id: part } });

      // Sent by SQL, without our envelope's id: its copy's retry requeued it as a new job, new op id.
      const bySql = await failedDelete(async () => {
        const { rows } = await db.query<{ id: string }>(
          `INSERT INTO pgboss.job (name, data, retry_limit, dead_letter)
           VALUES ('cleanup.bulk_soft_delete', $1::jsonb, 0, $2) RETURNING id::text AS id`,
          [
            JSON.stringify({
              jobType: 'bulk_soft_delete',
              payload: { entity: 'documents', filter: { is_deleted: false } },
            }),
            DEAD_LETTER_QUEUE,
          ],
        );
        return rows[0]?.id ?? '';
      });
      await sd.restore('documents', { filter: { delete_op_id: bySql } });
      const copy = await copyOf(bySql);
      expect(copy).to.match(/^[0-9a-f-]{36}$/);
      expect(await refusal(runtime.queue.retry(copy))).to.have.property('code', 'delete_undone');
      expect(await live()).to.equal(2500);
      await runtime.queue.cancel({ jobId: copy, dryRun: false });

      // A failed delete nobody undid is the job to finish: its retry runs.
      const kept = await failedDelete(enqueued);
      expect(await runtime.queue.retry(kept)).to.include({ action: 'revived' });
      await waitUntil('the retried delete to finish', async () => (await live()) === 0);
    } finally {
      await runtime.stop();
    }
  });

  it('refuses to retry a failed job by its own id whose payload fails at once, as it refuses its dead copy', async () => {
    const runtime = await startCleanupRuntime(db, {
      settings: fastSettings({ retryLimit: 0, retryDelaySeconds: 1, expireSeconds: 60 }),
      schedule: false,
    });
    try {
      // Sent by SQL with no id: the handler refuses it (invalid_payload), so it died at once.
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO pgboss.job (name, data, retry_limit, dead_letter)
         VALUES ('cleanup.cascade_soft_delete', $1::jsonb, 0, $2) RETURNING id::text AS id`,
        [
          JSON.stringify({ jobType: 'cascade_soft_delete', payload: { entity: 'orders' } }),
          DEAD_LETTER_QUEUE,
        ],
      );
      const id = rows[0]?.id ?? '';
      const state = async () =>
        (await db.query<{ state: string }>(`SELECT state::text AS state FROM pgboss.job WHERE id = $1`, [id]))
          .rows[0]?.state;
      await waitUntil('the job to fail', async () => (await state()) === 'failed');
      // Before: revived, and it died again at once, one more failure for the alert.
      const refused = await runtime.queue.retry(id).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).to.have.property('code', 'invalid_payload');
      expect(String((refused as Error).message)).to.match(
        /would fail again at once \(invalid cascade_soft_delete payload/,
      );
      expect(await state()).to.equal('failed');
    } finally {
      await runtime.stop();
    }
  });
});
