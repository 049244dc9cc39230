import { expect } from 'chai';
import { builtinHandlers, CleanupWorker } from '../../../src/cleanup/index.ts';
import { DEAD_LETTER_QUEUE } from '../../../src/cleanup/queue-names.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { AS_ADMIN, AS_READ, type ApiFixture, expectErrorShape, inject, startFixture } from './support.ts';
import { runCli } from '../../support/cli.ts';
import { waitUntil } from '../../support/wait.ts';

type JobRow = {
  state: string;
  output: Record<string, unknown> | null;
};

async function jobRow(f: ApiFixture, id: string): Promise<JobRow | undefined> {
  const { rows } = await f.db.query<JobRow>('SELECT state, output FROM pgboss.job WHERE id = $1', [id]);
  return rows[0];
}

async function completed(f: ApiFixture, id: string): Promise<JobRow> {
  await waitUntil(`job ${id} to complete`, async () => (await jobRow(f, id))?.state === 'completed', {
    timeoutMs: 20_000,
  });
  return (await jobRow(f, id)) as JobRow;
}

async function deletedState(f: ApiFixture, table: string, ids: readonly string[]) {
  const { rows } = await f.db.query<{ id: string; deleted_at: Date | null; delete_op_id: string | null }>(
    `SELECT id::text AS id, deleted_at, delete_op_id::text AS delete_op_id FROM ${table}
      WHERE id = ANY($1::bigint[]) ORDER BY id`,
    [ids],
  );
  return rows;
}

// The fixture runs bulk requests with syncIds = 20 and maxIds = 50.
describe('HTTP API bulk jobs and cascade op ids', () => {
  let f: ApiFixture;
  let worker: CleanupWorker;
  before(async function () {
    this.timeout(60_000);
    f = await startFixture(60);
    worker = new CleanupWorker(
      f.queue,
      builtinHandlers(new SoftDeleteService(f.db, { defaultIdBatchSize: 7 }), {
        archiveAfterDays: 30,
        batchSize: 100,
        maxRowsPerJob: 1000,
      }),
      {
        concurrency: 1,
        jobTypes: ['cascade_soft_delete', 'bulk_soft_delete', 'bulk_restore'],
        pollIntervalMs: 50,
        shutdownTimeoutMs: 5000,
      },
    );
    worker.start();
  });
  after(async () => {
    await worker?.stop();
    await f?.close();
  });

  /** Cancels a job over the API; its one entry of the answer. */
  async function cancelOverApi(jobId: string): Promise<{ rowsCommitted?: number; opId?: string }> {
    const done = await inject(f.app, {
      method: 'POST',
      url: `/v1/queue/jobs/${jobId}/cancel`,
      headers: AS_ADMIN,
    });
    expect(done.statusCode, done.body).to.equal(200);
    return (done.json() as { jobs: { rowsCommitted?: number; opId?: string }[] }).jobs[0] ?? {};
  }

  it('answers a bulk-delete of more than syncIds ids with 202 and a job that deletes the rows under one op id, and re-running it changes nothing', async function () {
    this.timeout(30_000);
    const { rows } = await f.db.query<{ id: string }>(
      'SELECT id::text AS id FROM order_items WHERE deleted_at IS NULL AND NOT is_deleted ORDER BY id LIMIT 30',
    );
    const ids = rows.map((r) => r.id);
    expect(ids, 'the seed has too few live order_items').to.have.length(30);
    const res = await inject(f.app, {
      method: 'POST',
      url: '/v1/order_items/bulk-delete',
      headers: AS_ADMIN,
      payload: { ids, reason: 'big cleanup' },
    });
    expect(res.statusCode, res.body).to.equal(202);
    const body = res.json() as { job: { id: string; type: string }; opId: string };
    // The op id the rows will carry, to undo the delete by (runbook, Undo a wrong delete).
    expect(Object.keys(body)).to.deep.equal(['job', 'opId']);
    expect(body.job.type).to.equal('bulk_soft_delete');
    expect(body.job.id).to.be.a('string').that.is.not.empty;

    const first = await completed(f, body.job.id);
    expect(first.output).to.deep.include({ count: 30 });
    // The caller follows its job by the id the 202 gave, or by its Location.
    expect(res.headers.location).to.equal(`/v1/queue/jobs/${body.job.id}`);
    const followed = await inject(f.app, {
      method: 'GET',
      url: res.headers.location as string,
      headers: AS_ADMIN,
    });
    expect(followed.statusCode, followed.body).to.equal(200);
    const view = (followed.json() as { job: Record<string, unknown> }).job;
    expect(view).to.deep.include({
      jobId: body.job.id,
      jobType: 'bulk_soft_delete',
      state: 'completed',
      retryCount: 0,
    });
    expect(view.result).to.deep.include({ count: 30 });
    expect(view.endedAt).to.be.a('string');
    const after = await deletedState(f, 'order_items', ids);
    expect(after.map((r) => r.id)).to.deep.equal(ids);
    for (const r of after) expect(r.deleted_at, `order_item ${r.id}`).to.not.equal(null);
    // Batches of 7 ids, yet one operation: every row carries the op id the API put in the job payload.
    expect([...new Set(after.map((r) => r.delete_op_id))]).to.deep.equal([body.opId]);
    const { rows: reasons } = await f.db.query<{ delete_reason: string; deleted_by: string }>(
      'SELECT DISTINCT delete_reason, deleted_by FROM order_items WHERE id = ANY($1::bigint[])',
      [ids],
    );
    expect(reasons).to.deep.equal([{ delete_reason: 'big cleanup', deleted_by: 'sdops-api' }]);

    const { rows: job } = await f.db.query<{ data: { payload: { entity: string; ids: string[] } } }>(
      'SELECT data FROM pgboss.job WHERE id = $1',
      [body.job.id],
    );
    const payload = job[0]?.data.payload;
    if (!payload) throw new Error(`job ${body.job.id} has no payload`);
    const again = await f.queue.enqueue('bulk_soft_delete', payload);
    const second = await completed(f, again);
    expect(second.output).to.deep.include({ count: 0 });
    expect(await deletedState(f, 'order_items', ids)).to.deep.equal(after);
  });

  it('answers a bulk-restore by filter with 202 and a bulk_restore job that restores the rows', async function () {
    this.timeout(30_000);
    const { rows } = await f.db.query<{ id: string }>(
      "SELECT id::text AS id FROM order_items WHERE delete_reason = 'big cleanup' ORDER BY id",
    );
    expect(rows, 'the previous test left no rows to restore').to.have.length(30);
    const res = await inject(f.app, {
      method: 'POST',
      url: '/v1/order_items/bulk-restore',
      headers: AS_ADMIN,
      payload: { filter: { deleted_by: 'sdops-api' } },
    });
    expect(res.statusCode, res.body).to.equal(202);
    const job = (res.json() as { job: { id: string; type: string } }).job;
    expect(job.type).to.equal('bulk_restore');
    await completed(f, job.id);
    const restored = await deletedState(
      f,
      'order_items',
      rows.map((r) => r.id),
    );
    for (const r of restored) expect(r.deleted_at, `order_item ${r.id}`).to.equal(null);
  });

  it('refuses a restore while more bulk deletes of its entity wait than it can be checked against', async function () {
    this.timeout(60_000);
    const [row] = (
      await f.db.query<{ id: string }>(
        `UPDATE documents SET deleted_at = now() WHERE id = (SELECT min(id) FROM documents WHERE deleted_at IS NULL)
         RETURNING id::text AS id`,
      )
    ).rows;
    const jobs: string[] = [];
    // 101 deletes of a row that does not exist: none would undo the restore, but the 101st went unchecked.
    for (let i = 0; i < 101; i++)
      jobs.push(
        await f.queue.enqueue(
          'bulk_soft_delete',
          { entity: 'documents', ids: ['999999999'], cascade: true, deletedBy: 'test' },
          { startAfterSeconds: 3600 },
        ),
      );
    try {
      const res = await inject(f.app, {
        method: 'POST',
        url: `/v1/documents/${row?.id}/restore`,
        headers: AS_ADMIN,
      });
      expect(res.statusCode, res.body).to.equal(409);
      expectErrorShape(res, 'delete_in_progress');
      expect(res.body).to.include('more than 100 bulk deletes that reach documents have not finished');
    } finally {
      await f.db.query('DELETE FROM pgboss.job WHERE id = ANY($1::uuid[])', [jobs]);
    }
    const after = await inject(f.app, {
      method: 'POST',
      url: `/v1/documents/${row?.id}/restore`,
      headers: AS_ADMIN,
    });
    expect(after.statusCode, after.body).to.equal(200);
  });

  it('refuses to undo a delete by its op id while its bulk_soft_delete job has not ended (API 409, CLI exit 1), and undoes it once it has', async function () {
    this.timeout(60_000);
    // A restore by the op id ran beside the waiting delete job: it restored nothing, then the job
    // deleted everything, and both had answered 202.
    const { rows } = await f.db.query<{ id: string }>(
      'SELECT id::text AS id FROM documents WHERE deleted_at IS NULL AND NOT is_deleted ORDER BY id LIMIT 4',
    );
    const opId = '0193a3f4-0000-7000-8000-00000000d0e1';
    const jobId = await f.queue.enqueue(
      'bulk_soft_delete',
      { entity: 'documents', ids: rows.slice(0, 3).map((r) => r.id), cascade: true, opId, deletedBy: 'test' },
      { startAfterSeconds: 3600 },
    );
    const undo = { method: 'POST' as const, url: '/v1/documents/bulk-restore', headers: AS_ADMIN };
    const refused = await inject(f.app, { ...undo, payload: { filter: { delete_op_id: opId } } });
    expect(refused.statusCode, refused.body).to.equal(409);
    expectErrorShape(refused, 'delete_in_progress');
    expect(refused.body).to.include(jobId);
    // Before, it named neither the job's commands nor cancelling, which undoes a waiting delete whole.
    expect(refused.body).to.include(
      `cancel it so it deletes no more (sdops queue cancel ${jobId}, POST /v1/queue/jobs/${jobId}/cancel) and then restore by this op id what an earlier attempt of it had deleted, if anything`,
    );
    const cli = await runCli(['restore', 'documents', '--filter', `delete_op_id=${opId}`], {
      DATABASE_URL: f.url,
    });
    expect(cli.code, cli.stderr).to.equal(1);
    expect(cli.stderr.trim().split('\n')).to.have.length(1);
    expect(cli.stderr).to.include(`its bulk_soft_delete job ${jobId} still waits or runs`);

    const waiting = await inject(f.app, { method: 'GET', url: `/v1/queue/jobs/${jobId}`, headers: AS_ADMIN });
    expect((waiting.json() as { job: { state: string; endedAt: unknown } }).job).to.deep.include({
      state: 'waiting',
      endedAt: null,
    });
    const shown = await runCli(['queue', 'show', jobId], { DATABASE_URL: f.url });
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.include(`job ${jobId} (bulk_soft_delete): waiting, 0 of`);
    for (const [id, status, code] of [
      ['0193a3f4-0000-7000-8000-0000000000ff', 404, 'job_not_found'],
      ['not-a-job', 400, 'invalid_job_id'],
    ] as const) {
      const res = await inject(f.app, { method: 'GET', url: `/v1/queue/jobs/${id}`, headers: AS_ADMIN });
      expect(res.statusCode, res.body).to.equal(status);
      expectErrorShape(res, code);
    }
    // Rows the job already deleted (an earlier attempt), restored by id: its next attempt deleted
    // them again, and nothing refused the restore.
    await f.db.query(
      `UPDATE documents SET deleted_at = now(), delete_op_id = $2 WHERE id = ANY($1::bigint[])`,
      [rows.slice(0, 2).map((r) => r.id), opId],
    );
    const one = await inject(f.app, {
      method: 'POST',
      url: `/v1/documents/${rows[0]?.id}/restore`,
      headers: AS_ADMIN,
    });
    expect(one.statusCode, one.body).to.equal(409);
    expectErrorShape(one, 'delete_in_progress');
    const byIds = await inject(f.app, { ...undo, payload: { ids: rows.slice(0, 2).map((r) => r.id) } });
    expect(byIds.statusCode, byIds.body).to.equal(409);
    const cliById = await runCli(['restore', 'documents', String(rows[1]?.id)], { DATABASE_URL: f.url });
    expect(cliById.code, cliById.stderr).to.equal(1);
    expect(cliById.stderr).to.include(`its bulk_soft_delete job ${jobId} still waits or runs`);
    // A row the job has not taken yet but will: restored now, it would be deleted all the same.
    const ahead = await inject(f.app, {
      method: 'POST',
      url: `/v1/documents/${rows[2]?.id}/restore`,
      headers: AS_ADMIN,
    });
    expect(ahead.statusCode, ahead.body).to.equal(409);
    expectErrorShape(ahead, 'delete_in_progress');
    // A row no pending delete selects is restored as ever.
    const other = await inject(f.app, {
      method: 'POST',
      url: `/v1/documents/${rows[3]?.id}/restore`,
      headers: AS_ADMIN,
    });
    expect(other.statusCode, other.body).to.equal(200);
    // The same op id in capitals names the same delete.
    const shouted = await inject(f.app, {
      ...undo,
      payload: { filter: { delete_op_id: opId.toUpperCase() } },
    });
    expect(shouted.statusCode, shouted.body).to.equal(409);
    // An undo enqueued by hand waits for the delete too.
    const handMade = await f.queue
      .enqueue('bulk_restore', { entity: 'documents', filter: { delete_op_id: opId } })
      .then(
        () => 'enqueued',
        (e: { code?: string }) => e.code,
      );
    expect(handMade).to.equal('delete_in_progress');
    // A job whose worker was killed: active until its lease ends, which the view gives; pg-boss's
    // expiry of it reads as job_timeout.
    await f.db.query(`UPDATE pgboss.job SET state = 'active', started_on = now() WHERE id = $1`, [jobId]);
    const active = (
      (await inject(f.app, { method: 'GET', url: `/v1/queue/jobs/${jobId}`, headers: AS_ADMIN })).json() as {
        job: { state: string; leaseEndsAt?: string };
      }
    ).job;
    expect(active.state).to.equal('active');
    expect(Date.parse(active.leaseEndsAt ?? '')).to.be.above(Date.now());
    // With a heartbeat, it runs again once none is seen for its seconds: the lease alone sent the
    // operator to wait 15 minutes for a job that came back after one (a runbook probe).
    await f.db.query(
      `UPDATE pgboss.job SET heartbeat_on = now() - interval '10 seconds', heartbeat_seconds = 60 WHERE id = $1`,
      [jobId],
    );
    const stamped = (
      (await inject(f.app, { method: 'GET', url: `/v1/queue/jobs/${jobId}`, headers: AS_ADMIN })).json() as {
        job: { heartbeatAt?: string; heartbeatSeconds?: number };
      }
    ).job;
    expect(stamped.heartbeatSeconds).to.equal(60);
    expect(Date.now() - Date.parse(stamped.heartbeatAt ?? '')).to.be.within(9_000, 30_000);
    const shownActive = await runCli(['queue', 'show', jobId], { DATABASE_URL: f.url });
    expect(shownActive.stdout).to.match(
      /; heartbeat \S+: if its worker is gone, the job runs again once none is seen for 60s \(not before \S+; then a worker's next maintenance pass and the retry delay\), at the latest when its lease ends /,
    );
    await f.db.query(`UPDATE pgboss.job SET heartbeat_on = now() - interval '2 minutes' WHERE id = $1`, [
      jobId,
    ]);
    const shownStale = await runCli(['queue', 'show', jobId], { DATABASE_URL: f.url });
    expect(shownStale.stdout).to.match(
      /; no heartbeat since \S+ \(60s allowed\): its worker is gone or cut off/,
    );
    expect(shownStale.stdout, 'no batch committed yet').to.not.include('rows changed so far');
    // A long job's committed batches: before, only its state and lease showed while it ran.
    await f.db.query('INSERT INTO sdops_job_progress (job_id, rows) VALUES ($1, 31248)', [jobId]);
    const running = (
      (await inject(f.app, { method: 'GET', url: `/v1/queue/jobs/${jobId}`, headers: AS_ADMIN })).json() as {
        job: { rowsCommitted?: number };
      }
    ).job;
    expect(running.rowsCommitted).to.equal(31_248);
    const shownRunning = await runCli(['queue', 'show', jobId], { DATABASE_URL: f.url });
    expect(shownRunning.stdout).to.include(
      'rows changed so far: 31248, in committed batches that stay (a retry goes on after them)',
    );
    await f.db.query(
      `UPDATE pgboss.job SET state = 'retry', output = '{"value":{"message":"job timed out"}}' WHERE id = $1`,
      [jobId],
    );
    const expired = (
      (await inject(f.app, { method: 'GET', url: `/v1/queue/jobs/${jobId}`, headers: AS_ADMIN })).json() as {
        job: { error?: unknown };
      }
    ).job;
    expect(expired.error).to.deep.equal({ code: 'job_timeout' });
    // Before: "retrying, 0 of N retries used", read as no retry pending (one is counted when it starts).
    const shownRetrying = await runCli(['queue', 'show', jobId], { DATABASE_URL: f.url });
    expect(shownRetrying.stdout).to.match(/: retrying, retry 1 of \d+ comes next\n/);
    await f.db.query(`UPDATE pgboss.job SET state = 'completed', completed_on = now() WHERE id = $1`, [
      jobId,
    ]);
    const done = (
      (await inject(f.app, { method: 'GET', url: `/v1/queue/jobs/${jobId}`, headers: AS_ADMIN })).json() as {
        job: { rowsCommitted?: number };
      }
    ).job;
    expect(done.rowsCommitted, 'a completed job has its result instead').to.equal(undefined);
    const accepted = await inject(f.app, { ...undo, payload: { filter: { delete_op_id: opId } } });
    expect(accepted.statusCode, accepted.body).to.equal(202);
  });

  /** A bulk delete of the newest `n` live documents, waiting an hour before it may run. */
  const waitingBulkDelete = async (n: number, opId: string) => {
    const { rows } = await f.db.query<{ id: string }>(
      'SELECT id::text AS id FROM documents WHERE deleted_at IS NULL AND NOT is_deleted ORDER BY id DESC LIMIT $1',
      [n],
    );
    const ids = rows.map((r) => r.id);
    const jobId = await f.queue.enqueue(
      'bulk_soft_delete',
      { entity: 'documents', ids, cascade: true, opId, deletedBy: 'test' },
      { startAfterSeconds: 3600 },
    );
    return { opId, ids, jobId };
  };

  it('cancels a waiting bulk delete over the API, as the 409 of its undo says, so it never deletes, and then takes the undo', async () => {
    const { opId, ids, jobId } = await waitingBulkDelete(2, '0193a3f4-0000-7000-8000-00000000c4c1');
    const cancel = (headers: Record<string, string>, id = jobId) =>
      inject(f.app, { method: 'POST', url: `/v1/queue/jobs/${id}/cancel`, headers });
    const withField = await inject(f.app, {
      method: 'POST',
      url: `/v1/queue/jobs/${jobId}/cancel`,
      headers: AS_ADMIN,
      payload: { dryRun: true },
    });
    // Before: 200, the field ignored and the job cancelled.
    expect(withField.statusCode, withField.body).to.equal(400);
    expectErrorShape(withField, 'invalid_body');
    const read = await cancel(AS_READ);
    expect(read.statusCode, read.body).to.equal(403);
    // Before: 404 route_not_found; only the CLI could cancel.
    const done = await cancel(AS_ADMIN);
    expect(done.statusCode, done.body).to.equal(200);
    expect(done.json()).to.deep.include({ count: 1 });
    expect((done.json() as { jobs: { jobId: string; state: string }[] }).jobs[0]).to.include({
      jobId,
      state: 'cancelled',
    });
    const again = await cancel(AS_ADMIN);
    expect(again.statusCode, again.body).to.equal(409);
    expectErrorShape(again, 'job_not_cancellable');
    // A failed job's dead-letter copy, cancelled through the failed job's id: the answer names it.
    const failed = '0193a3f4-0000-7000-8000-0000000000fd';
    await f.queue.boss.send(DEAD_LETTER_QUEUE, { jobType: 'noop', payload: {}, meta: { jobId: failed } });
    const copy = await cancel(AS_ADMIN, failed);
    expect(copy.statusCode, copy.body).to.equal(200);
    // Before: only the copy's own id, with nothing linking it to the id the caller gave.
    expect((copy.json() as { jobs: { copyOf?: string }[] }).jobs.map((j) => j.copyOf)).to.deep.equal([
      failed,
    ]);
    const unknown = await cancel(AS_ADMIN, '0193a3f4-0000-7000-8000-0000000000fe');
    expect(unknown.statusCode, unknown.body).to.equal(404);
    expectErrorShape(unknown, 'job_not_found');
    const undo = await inject(f.app, {
      method: 'POST',
      url: '/v1/documents/bulk-restore',
      headers: AS_ADMIN,
      payload: { filter: { delete_op_id: opId } },
    });
    // Taken (a restore by filter is a job), where it answered 409 delete_in_progress before the cancel.
    expect(undo.statusCode, undo.body).to.equal(202);
    const live = await f.db.query(
      'SELECT 1 FROM documents WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL',
      [ids],
    );
    expect(live.rowCount, 'the cancelled delete took nothing').to.equal(2);
  });

  it('says what a cancelled bulk delete had already deleted (an attempt a worker handed back), and how to restore it', async () => {
    const { opId, ids, jobId } = await waitingBulkDelete(5, '0193a3f4-0000-7000-8000-00000000c4c2');
    // What an attempt handed back at a worker's shutdown leaves: the job waits again, its committed
    // batches' rows stay deleted under its op id, and its progress counts them.
    await f.db.query(
      `UPDATE documents SET deleted_at = now(), delete_op_id = $2, deleted_by = 'test' WHERE id = ANY($1::bigint[])`,
      [ids.slice(0, 3), opId],
    );
    await f.db.query('INSERT INTO sdops_job_progress (job_id, rows) VALUES ($1, 3)', [jobId]);
    // An id pasted in capitals is the same job, answered as the queue writes it (it was echoed as sent).
    const shown = await inject(f.app, {
      method: 'GET',
      url: `/v1/queue/jobs/${jobId.toUpperCase()}`,
      headers: AS_ADMIN,
    });
    expect((shown.json() as { job: { jobId: string } }).job.jobId).to.equal(jobId);
    const dry = await runCli(['queue', 'cancel', '--dry-run', jobId], { DATABASE_URL: f.url });
    expect(dry.code, dry.stderr).to.equal(0);
    // Before: "cancel it and the delete never happens", and the cancel said nothing of the 3 rows.
    expect(dry.stdout).to.include(
      `note: bulk_soft_delete job ${jobId} had already changed 3 rows in committed batches; they would stay (undo them: sdops restore documents --filter delete_op_id=${opId})`,
    );
    // Before: the count only, so a client that had not kept the 202's opId had no way to the restore.
    expect(await cancelOverApi(jobId)).to.include({ rowsCommitted: 3, opId });
    // The note's command, as printed, brings the three back.
    const undo = await runCli(['restore', 'documents', '--filter', `delete_op_id=${opId}`], {
      DATABASE_URL: f.url,
    });
    expect(undo.code, undo.stderr).to.equal(0);
    const live = await f.db.query(
      'SELECT 1 FROM documents WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL',
      [ids],
    );
    expect(live.rowCount).to.equal(5);
  });

  it('names the job id as the op id to undo by when a cancelled bulk delete was enqueued by hand without one', async () => {
    const jobId = await f.queue.enqueue(
      'bulk_soft_delete',
      { entity: 'documents', filter: { title: 'no such title' } },
      { startAfterSeconds: 3600 },
    );
    // A handed-back attempt's committed batch: its rows carry the job's own id (the handler's stamp).
    await f.db.query('INSERT INTO sdops_job_progress (job_id, rows) VALUES ($1, 2)', [jobId]);
    // Before: rowsCommitted without the op id, and the CLI printed no undo line.
    expect(await cancelOverApi(jobId)).to.include({ rowsCommitted: 2, opId: jobId });
  });

  it('refuses to undo a bulk_soft_delete enqueued by hand (it stamps its own job id) while it has not ended', async () => {
    const jobId = await f.queue.enqueue(
      'bulk_soft_delete',
      { entity: 'documents', filter: { title: 'no such title' } },
      { startAfterSeconds: 3600 },
    );
    const refused = await inject(f.app, {
      method: 'POST',
      url: '/v1/documents/bulk-restore',
      headers: AS_ADMIN,
      payload: { filter: { delete_op_id: jobId } },
    });
    expect(refused.statusCode, refused.body).to.equal(409);
    expectErrorShape(refused, 'delete_in_progress');
    await f.db.query(`UPDATE pgboss.job SET state = 'cancelled', completed_on = now() WHERE id = $1`, [
      jobId,
    ]);
  });

  it('refuses a restore whose rows a bulk delete that has not ended selects (by filter or by id), and takes one that meets none of them', async () => {
    // Asked to delete an owner's documents and then to restore them, the restore ran before the
    // waiting delete job (nothing deleted yet), the job then deleted them all, and both answered 202.
    const { rows } = await f.db.query<{ id: string; owner: string }>(
      `SELECT DISTINCT ON (owner_customer_id) id::text AS id, owner_customer_id::text AS owner FROM documents
        WHERE deleted_at IS NULL AND NOT is_deleted AND owner_customer_id IS NOT NULL ORDER BY owner_customer_id, id LIMIT 2`,
    );
    const [mine, other] = rows;
    if (!mine || !other) throw new Error('the fixture has documents of two owners');
    const filter = { owner_customer_id: Number(mine.owner) };
    const jobId = await f.queue.enqueue(
      'bulk_soft_delete',
      {
        entity: 'documents',
        filter,
        cascade: true,
        opId: '0193a3f4-0000-7000-8000-00000000d0e2',
        deletedBy: 'test',
      },
      { startAfterSeconds: 3600 },
    );
    const restore = { method: 'POST' as const, url: '/v1/documents/bulk-restore', headers: AS_ADMIN };
    const byFilter = await inject(f.app, { ...restore, payload: { filter } });
    expect(byFilter.statusCode, byFilter.body).to.equal(409);
    expectErrorShape(byFilter, 'delete_in_progress');
    expect(byFilter.body).to.include(`its bulk_soft_delete job ${jobId}`);
    // One of its rows, deleted earlier by someone else: restored now, the job would delete it again.
    await f.db.query('UPDATE documents SET deleted_at = now() WHERE id = $1', [mine.id]);
    const byId = await inject(f.app, {
      method: 'POST',
      url: `/v1/documents/${mine.id}/restore`,
      headers: AS_ADMIN,
    });
    expect(byId.statusCode, byId.body).to.equal(409);
    expectErrorShape(byId, 'delete_in_progress');
    const cli = await runCli(['restore', 'documents', '--filter', `owner_customer_id=${mine.owner}`], {
      DATABASE_URL: f.url,
    });
    expect(cli.code, cli.stderr).to.equal(1);
    expect(cli.stderr.trim().split('\n')).to.have.length(1);
    expect(cli.stderr).to.include(`sdops queue cancel ${jobId}`);
    // Another owner's documents meet none of the job's rows.
    const elsewhere = await inject(f.app, {
      ...restore,
      payload: { filter: { owner_customer_id: Number(other.owner) } },
    });
    expect(elsewhere.statusCode, elsewhere.body).to.equal(202);
    expect(
      (await deletedState(f, 'documents', [mine.id]))[0]?.deleted_at,
      'the refused restores changed nothing',
    ).to.not.equal(null);
    await f.db.query(`UPDATE pgboss.job SET state = 'cancelled', completed_on = now() WHERE id = $1`, [
      jobId,
    ]);
    const afterCancel = await inject(f.app, {
      method: 'POST',
      url: `/v1/documents/${mine.id}/restore`,
      headers: AS_ADMIN,
    });
    expect(afterCancel.statusCode, afterCancel.body).to.equal(200);
  });

  it('refuses a restore of rows a waiting bulk delete of a parent entity would reach by its cascade, and takes it when that delete does not cascade', async () => {
    // A bulk delete of a customer waited in the queue; an order of that customer, deleted earlier by
    // someone else, was restored (200), and the job's cascade then deleted it again.
    const { rows } = await f.db.query<{ customer: string; order: string; item: string; other: string }>(
      `SELECT o.customer_id::text AS customer, o.id::text AS order, i.id::text AS item,
              (SELECT id::text FROM orders WHERE customer_id <> o.customer_id AND deleted_at IS NULL ORDER BY id LIMIT 1) AS other
         FROM orders o JOIN order_items i ON i.order_id = o.id JOIN customers c ON c.id = o.customer_id
        WHERE o.deleted_at IS NULL AND i.deleted_at IS NULL AND c.deleted_at IS NULL ORDER BY o.id LIMIT 1`,
    );
    const [row] = rows;
    if (!row?.other) throw new Error('the fixture has live orders with items of two customers');
    const payload = {
      entity: 'customers',
      ids: [row.customer],
      opId: '0193a3f4-0000-7000-8000-00000000d0e3',
      deletedBy: 'test',
    };
    const jobId = await f.queue.enqueue('bulk_soft_delete', payload, { startAfterSeconds: 3600 });
    await f.db.query('UPDATE orders SET deleted_at = now() WHERE id = $1', [row.order]);
    await f.db.query('UPDATE order_items SET deleted_at = now() WHERE id = $1', [row.item]);
    await f.db.query('UPDATE orders SET deleted_at = now() WHERE id = $1', [row.other]);
    const restore = (entity: string, id: string) =>
      inject(f.app, { method: 'POST', url: `/v1/${entity}/${id}/restore`, headers: AS_ADMIN });
    for (const [entity, id] of [
      ['orders', row.order],
      ['order_items', row.item],
    ] as const) {
      const refused = await restore(entity, id);
      expect(refused.statusCode, `${entity} ${refused.body}`).to.equal(409);
      expectErrorShape(refused, 'delete_in_progress');
      expect(refused.body).to.include(
        `a bulk delete of customers that has not finished (its bulk_soft_delete job ${jobId}`,
      );
      expect(refused.body).to.include(`cascade reaches rows of ${entity}`);
    }
    const cli = await runCli(['restore', 'order_items', '--filter', `order_id=${row.order}`], {
      DATABASE_URL: f.url,
    });
    expect(cli.code, cli.stderr).to.equal(1);
    expect(cli.stderr).to.include(`sdops queue cancel ${jobId}`);
    expect((await deletedState(f, 'orders', [row.order]))[0]?.deleted_at, 'refused: unchanged').to.not.equal(
      null,
    );
    // Another customer's order is out of the cascade's reach.
    expect((await restore('orders', row.other)).statusCode).to.equal(200);
    await f.db.query(`UPDATE pgboss.job SET state = 'cancelled', completed_on = now() WHERE id = $1`, [
      jobId,
    ]);
    // The same delete without its cascade reaches no order.
    const flat = await f.queue.enqueue(
      'bulk_soft_delete',
      { ...payload, cascade: false, opId: '0193a3f4-0000-7000-8000-00000000d0e4' },
      { startAfterSeconds: 3600 },
    );
    expect((await restore('orders', row.order)).statusCode).to.equal(200);
    await f.db.query(`UPDATE pgboss.job SET state = 'cancelled', completed_on = now() WHERE id = $1`, [flat]);
    expect((await restore('order_items', row.item)).statusCode).to.equal(200);
  });

  it('runs a bulk-delete of at most syncIds ids in the request and answers 200 with the result', async () => {
    const { rows } = await f.db.query<{ id: string }>(
      'SELECT id::text AS id FROM order_items WHERE deleted_at IS NULL AND NOT is_deleted ORDER BY id DESC LIMIT 20',
    );
    const res = await inject(f.app, {
      method: 'POST',
      url: '/v1/order_items/bulk-delete',
      headers: AS_ADMIN,
      payload: { ids: rows.map((r) => r.id) },
    });
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json()).to.deep.include({ counts: { success: 20, noop: 0, failure: 0 } });
    expect(res.json()).to.not.have.property('job');
  });

  it('refuses a bulk filter naming an unknown column with 400 before queueing anything', async () => {
    const res = await inject(f.app, {
      method: 'POST',
      url: '/v1/order_items/bulk-delete',
      headers: AS_ADMIN,
      payload: { filter: { not_a_column: 'x' } },
    });
    expect(res.statusCode).to.equal(400);
    expect((res.json() as { error: { code: string } }).error.code).to.equal('invalid_filter');
  });

  it('documents the 202 job answer of both bulk routes in /openapi.json', async () => {
    const res = await inject(f.app, { method: 'GET', url: '/openapi.json' });
    const doc = res.json() as {
      paths: Record<
        string,
        { post?: { responses: Record<string, unknown>; parameters: { name: string; in: string }[] } }
      >;
    };
    for (const path of ['/v1/{entity}/bulk-delete', '/v1/{entity}/bulk-restore']) {
      expect(doc.paths[path]?.post?.responses, path).to.include.keys('200', '202');
      const header = doc.paths[path]?.post?.parameters.find((p) => p.name === 'idempotency-key');
      expect(header, path).to.include({ in: 'header', required: false });
    }
  });

  it('answers a retried keyed bulk request with the same job and op id, and refuses the key with another body', async () => {
    // A lost 202 (a failover, the client's own timeout): the client sends the request again, key and all.
    const send = (key: string, title: string) =>
      inject(f.app, {
        method: 'POST',
        url: '/v1/documents/bulk-delete',
        headers: { ...AS_ADMIN, 'idempotency-key': key },
        payload: { filter: { title }, reason: 'keyed' },
      });
    const key = `retry-${Date.now()}`;
    const first = await send(key, 'no such title, keyed');
    const again = await send(key, 'no such title, keyed');
    expect(first.statusCode, first.body).to.equal(202);
    expect(again.statusCode, again.body).to.equal(202);
    // Before: a second job with an op id of its own, and the first job's op id lost with its answer.
    expect(again.json()).to.deep.equal(first.json());
    expect(again.headers.location).to.equal(first.headers.location);
    const jobs = await f.db.query(
      `SELECT 1 FROM pgboss.job WHERE name = 'cleanup.bulk_soft_delete' AND data->'payload'->>'reason' = 'keyed'`,
    );
    expect(jobs.rowCount, 'one job').to.equal(1);
    const other = await send(key, 'another title');
    expect(other.statusCode, other.body).to.equal(409);
    expectErrorShape(other, 'idempotency_key_reused');
    // The same key on the other route or entity is another request.
    const restore = await inject(f.app, {
      method: 'POST',
      url: '/v1/documents/bulk-restore',
      headers: { ...AS_ADMIN, 'idempotency-key': key },
      payload: { filter: { title: 'no such title, keyed' } },
    });
    expect(restore.statusCode, restore.body).to.equal(202);
    expect(restore.json().job.id).to.not.equal(first.json().job.id);
    // A repeat is answered from its job, not checked again: a delete queued since would refuse a new
    // restore of those rows (delete_in_progress), but this one was queued before it (probe V2).
    const restoreOnce = () =>
      inject(f.app, {
        method: 'POST',
        url: '/v1/documents/bulk-restore',
        headers: { ...AS_ADMIN, 'idempotency-key': `${key}-restore` },
        payload: { filter: { title: 'keyed restore target' } },
      });
    const queuedRestore = await restoreOnce();
    expect(queuedRestore.statusCode, queuedRestore.body).to.equal(202);
    await f.db.query(
      `UPDATE documents SET title = 'keyed restore target' WHERE id = (SELECT min(id) FROM documents WHERE deleted_at IS NULL AND NOT is_deleted)`,
    );
    const waiting = await f.queue.enqueue(
      'bulk_soft_delete',
      { entity: 'documents', filter: { title: 'keyed restore target' } },
      { startAfterSeconds: 3600 },
    );
    const repeated = await restoreOnce();
    expect(repeated.statusCode, repeated.body).to.equal(202);
    expect(repeated.json().job.id).to.equal(queuedRestore.json().job.id);
    await cancelOverApi(waiting);
    for (const bad of ['', 'x'.repeat(256), 'caf\u00e9', 'two words']) {
      const refused = await inject(f.app, {
        method: 'POST',
        url: '/v1/documents/bulk-delete',
        headers: { ...AS_ADMIN, 'idempotency-key': bad },
        payload: { filter: { title: 'no such title, refused' } },
      });
      expect(refused.statusCode, `${JSON.stringify(bad)}: ${refused.body}`).to.equal(400);
      expectErrorShape(refused, 'invalid_idempotency_key');
    }
  });

  it("stamps a customer's cascaded children with its delete_op_id, so restoring it restores exactly those children", async function () {
    this.timeout(30_000);
    const { rows } = await f.db.query<{ id: string }>(
      `SELECT c.id::text AS id FROM customers c WHERE c.deleted_at IS NULL AND NOT c.is_deleted
          AND (SELECT count(*) FROM orders o
                WHERE o.customer_id = c.id AND o.deleted_at IS NULL AND NOT o.is_deleted) >= 2
          AND NOT EXISTS (SELECT 1 FROM orders o
                WHERE o.customer_id = c.id AND (o.deleted_at IS NOT NULL OR o.is_deleted))
        ORDER BY c.id LIMIT 1`,
    );
    const customer = rows[0]?.id;
    if (!customer) throw new Error('the seed has no live customer with two live orders');
    const { rows: orderRows } = await f.db.query<{ id: string }>(
      `SELECT id::text AS id FROM orders WHERE customer_id = $1 AND deleted_at IS NULL AND NOT is_deleted
        ORDER BY id`,
      [customer],
    );
    const [alone, ...cascaded] = orderRows.map((r) => r.id) as [string, ...string[]];

    // One order is deleted on its own first: the customer's restore must leave it deleted.
    const own = await inject(f.app, { method: 'DELETE', url: `/v1/orders/${alone}`, headers: AS_ADMIN });
    expect(own.statusCode, own.body).to.equal(200);
    const ownJob = (own.json() as { job?: { id: string } }).job;
    if (ownJob) await completed(f, ownJob.id);

    const del = await inject(f.app, {
      method: 'DELETE',
      url: `/v1/customers/${customer}`,
      headers: AS_ADMIN,
    });
    expect(del.statusCode, del.body).to.equal(200);
    const body = del.json() as { opId: string; job: { id: string; type: string } };
    expect(body.job.type).to.equal('cascade_soft_delete');
    const { rows: job } = await f.db.query<{ data: { payload: { opId?: string } } }>(
      'SELECT data FROM pgboss.job WHERE id = $1',
      [body.job.id],
    );
    expect(job[0]?.data.payload.opId).to.equal(body.opId);
    await completed(f, body.job.id);

    const children = await deletedState(f, 'orders', cascaded);
    expect(children.map((r) => r.delete_op_id)).to.deep.equal(cascaded.map(() => body.opId));
    const [aloneBefore] = await deletedState(f, 'orders', [alone]);
    expect(aloneBefore?.delete_op_id).to.be.a('string').and.not.equal(body.opId);

    const restore = await inject(f.app, {
      method: 'POST',
      url: `/v1/customers/${customer}/restore`,
      headers: AS_ADMIN,
    });
    expect(restore.statusCode, restore.body).to.equal(200);
    expect(restore.json()).to.deep.include({ counts: { success: 1, noop: 0, failure: 0 } });
    expect((restore.json() as { cascaded: Record<string, number> }).cascaded.orders).to.equal(
      cascaded.length,
    );
    for (const r of await deletedState(f, 'orders', cascaded)) {
      expect(r.deleted_at, `order ${r.id}`).to.equal(null);
    }
    expect(await deletedState(f, 'orders', [alone])).to.deep.equal([aloneBefore]);
  });
});
