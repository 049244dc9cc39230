import { loadConfig } from '../../src/config.ts';
import { expect } from 'chai';
import { CleanupQueue } from '../../src/cleanup/index.ts';
import { openDatabase } from '../../src/db/index.ts';
import { runCli } from '../support/cli.ts';
import { spawnSdops } from '../support/sdops-process.ts';
import type { Operator } from './support/operator.ts';
import { parseTable } from './support/runbook.ts';
import type { DrillStack } from './support/stack.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * One drill per alert: how its condition is caused on real PostgreSQL (as production gets there, not
 * by writing metrics), and how the on-call engineer follows the alert's runbook section, with the
 * outcome that section promises. The alert itself is watched by alerts.test.ts.
 */
export interface Drill {
  /** Runbook sections the mitigation sends the engineer to, followed as well (headings). */
  readonly procedures?: readonly string[];
  /** The production rule's threshold is reached too (it is checked on the production expression). */
  readonly productionFires: boolean;
  /** After the mitigation the production expression is back to no data as well (instant gauges). */
  readonly productionResolves: boolean;
  /** Causes the condition (the stack stops whatever it started afterwards). */
  cause(stack: DrillStack): Promise<void>;
  /** Diagnosis, mitigation and verification as written, with the outcome the section promises. */
  follow(op: Operator, stack: DrillStack): Promise<void>;
}

/** The process id of the worker ServiceProcessLost's drill killed, for its follow to find. */
let lostWorkerPid: number | undefined;

/** Spans and access lines for the collector to export: five API requests, each a 404 of its own trace. */
async function requestsToExport(stack: DrillStack): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const r = await fetch(`${stack.apiUrl}/v1/documents/${999_999_990 + i}`);
    expect(r.status, 'a document that does not exist').to.equal(404);
  }
}

/** A row of `sdops queue status` for one type, numbers as numbers. */
function queueRow(output: string, jobType: string): Record<string, number> {
  const row = parseTable(output).find((r) => r.job_type === jobType);
  if (!row) throw new Error(`sdops queue status lists no ${jobType}:\n${output}`);
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}

/** Re-runs a read-only runbook line until what it prints satisfies `ok` (an operator watching). */
async function watch(
  op: Operator,
  line: string,
  what: string,
  ok: (stdout: string) => boolean,
  timeoutMs = 60_000,
) {
  return waitUntil(
    what,
    async () => {
      const r = await op.run(line);
      return r.code === 0 && ok(r.stdout) ? r.stdout : undefined;
    },
    { timeoutMs, intervalMs: 1000 },
  );
}

async function withQueue<T>(stack: DrillStack, fn: (q: CleanupQueue) => Promise<T>): Promise<T> {
  const db = await openDatabase({ url: stack.db.url, poolSize: 2 });
  const queue = await CleanupQueue.open(db, { role: 'client', policy: loadConfig().worker.policy });
  try {
    return await fn(queue);
  } finally {
    await queue.close();
    await db.close();
  }
}

async function legacyDocuments(stack: DrillStack, n: number): Promise<void> {
  await stack.sql.query(
    `INSERT INTO documents (title, body, is_deleted, updated_at)
     SELECT 'legacy ' || g, 'b', true, now() - interval '400 days' FROM generate_series(1, $1::int) g`,
    [n],
  );
}

const OLD_TOKEN = 'drill-old-admin-token-0001';
const NEW_TOKEN = 'drill-new-admin-token-0002';
/** The API the ApiAuthRefusalRatioHigh drill restarts with another token list (the stack stops it). */
let rotated: { readonly url: string; stop(): Promise<void> } | undefined;

export const DRILLS: Readonly<Record<string, Drill>> = {
  /**
   * Jobs longer than the workers' lease: every attempt ends job_timeout, retries run out, the jobs die.
   * The section keys the fix by that code: raise the lease, restart the workers, retry the dead jobs.
   */
  CleanupJobFailureRatioHigh: {
    productionFires: true,
    productionResolves: false, // a 1-hour window: the drill-scaled rule (20 s) shows it resolving
    async cause(stack) {
      await stack.startWorker(['--job-types', 'noop', '--concurrency', '25'], {
        SDOPS_JOB_EXPIRE_SECONDS: '2',
        SDOPS_JOB_RETRY_LIMIT: '1',
      });
      await withQueue(stack, (q) =>
        q.enqueueMany(
          'noop',
          Array.from({ length: 25 }, () => ({ sleepMs: 3000 })),
        ),
      );
      await waitUntil(
        'the 25 jobs to die of their lease',
        async () => {
          const r = await runCli(['--json', 'queue', 'status'], stack.env);
          const noop = (JSON.parse(r.stdout) as { jobType: string; dead: number }[]).find(
            (x) => x.jobType === 'noop',
          );
          return noop?.dead === 25 ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      // The misconfigured worker keeps running until the engineer restarts it (the mitigation).
    },
    async follow(op, stack) {
      expect(queueRow((await op.run('sdops queue status')).stdout, 'noop')).to.include({ dead: 25 });
      const failing = await op.sql('-- Failing jobs (retrying, or failed for good)');
      expect(failing.map((r) => r.code)).to.include('job_timeout');
      const byCode = await op.sql('GROUP BY 1, 2 ORDER BY jobs DESC');
      expect(byCode[0]).to.include({ job_type: 'noop', code: 'job_timeout' });
      const impact = await op.sql('User impact of failing cascades');
      expect(impact.map((r) => Number(r.live_children))).to.deep.equal([0, 0]);
      const withoutLegacy = await op.sql('The same without the legacy parents');
      expect(withoutLegacy.map((r) => Number(r.live_children))).to.deep.equal([0, 0]);
      const ratio = await op.promql('increase(cleanup_worker_job_failures_total[1h] anchored)');
      expect(ratio.find((s) => s.metric.job_type === 'noop')?.value).to.be.greaterThan(0.05);
      await op.promql('rate(cleanup_worker_job_failures_total[5m] anchored)');
      await op.promql('cleanup_worker_job_duration_seconds_bucket{status="failure"}');
      // code = job_timeout: the branch of the mitigation keyed by it. The workers are restarted with a
      // longer lease: the misconfigured one goes (compose would replace it), the new one starts.
      await stack.stopStackWorkers();
      await op.start('SDOPS_JOB_EXPIRE_SECONDS=3600 sdops worker', 'worker started');
      const retried = await op.run('sdops queue retry --dead');
      expect(retried.code, retried.stderr).to.equal(0);
      expect(retried.stdout).to.include('retried 25 dead job(s)');
      op.skip('shell', 'sdops queue retry "$JOB_ID"', 'the --dead form retries all 25 at once');
      op.skip(
        'shell',
        'sdops queue cancel "$JOB_ID"',
        'for invalid_payload / unknown_job_type; the code here is job_timeout',
      );
      await watch(op, 'sdops queue status', 'every noop job completed, none dead', (out) => {
        const row = queueRow(out, 'noop');
        return row.completed === 25 && row.dead === 0 && row.failed === 0;
      });
      expect(await op.sql('-- Failing jobs (retrying, or failed for good)')).to.deep.equal([]);
    },
  },

  /** A worker too slow for its queue: 150 jobs wait; more capacity drains them. */
  CleanupQueueBacklog: {
    productionFires: true,
    productionResolves: true,
    async cause(stack) {
      await stack.startWorker(['--job-types', 'noop', '--concurrency', '1']);
      await withQueue(stack, (q) =>
        q.enqueueMany(
          'noop',
          Array.from({ length: 150 }, () => ({ sleepMs: 400 })),
        ),
      );
    },
    async follow(op) {
      const status = queueRow((await op.run('sdops queue status')).stdout, 'noop');
      expect(status.waiting).to.be.greaterThan(100);
      expect(status.active, 'a worker does take the type, slowly').to.equal(1);
      const length = await op.promql('max by (job_type) (cleanup_queue_length)');
      expect(length.find((s) => s.metric.job_type === 'noop')?.value).to.be.greaterThan(100);
      await op.promql('max by (job_type) (cleanup_queue_oldest_wait_seconds)');
      await op.promql('sum by (job_type) (rate(cleanup_worker_jobs_processed_total[5m] anchored))');
      await op.promql('cleanup_worker_queue_wait_seconds_bucket[15m] anchored');
      const workers = await op.promql('count(changes(process_uptime_seconds{job="sdops-worker"}[2m]) > 0)');
      expect(workers[0]?.value).to.equal(1);
      op.vars.JOB_TYPE = 'noop'; // export JOB_TYPE=<the alert's job_type>, as the mitigation says first
      // Branch 3, too slow: more slots.
      op.skip('shell', 'sdops worker', 'branch 1 (no worker takes the type): one does, slowly');
      op.skip(
        'shell',
        'sdops worker --job-types "$JOB_TYPE" --no-schedule',
        'branch 1 (the running workers leave the type out): the running one takes it',
      );
      const policy = await op.sql('SELECT name, expire_seconds, retry_limit, retry_delay FROM pgboss.queue');
      expect(
        policy.find((q) => q.name === 'cleanup.noop'),
        'the lease and retries in force, for the extra worker to match',
      ).to.include({ expire_seconds: 900, retry_limit: 3 });
      await op.start('SDOPS_DB_POOL_SIZE=20 sdops worker --concurrency 16 --no-schedule', 'worker started');
      op.skip(
        'shell',
        'sdops worker --concurrency 8 --job-types "$JOB_TYPE" --no-schedule',
        'the same branch, a dedicated worker instead: one of the two is enough',
      );
      op.skip(
        'shell',
        'sdops queue cancel --type "$JOB_TYPE" --state waiting --dry-run',
        'branch 4: these jobs are wanted',
      );
      op.skip(
        'shell',
        'sdops queue cancel --type "$JOB_TYPE" --state waiting',
        'branch 4: these jobs are wanted',
      );
      await watch(op, 'sdops queue status', 'the noop queue to drain', (out) => {
        const row = queueRow(out, 'noop');
        return row.waiting === 0 && row.completed === 150;
      });
    },
  },

  /** Cascades enqueued by the API while no worker runs at all: nothing of the type moves. */
  CleanupQueueStalled: {
    productionFires: false, // 10 minutes of waiting: the drill-scaled rule waits 5 s
    productionResolves: true,
    async cause(stack) {
      const { rows } = await stack.sql.query<{ id: string }>(
        `WITH c AS (INSERT INTO customers (email, name) SELECT 'stalled' || g || '@example.com', 'S' FROM generate_series(1, 3) g RETURNING id)
         INSERT INTO orders (customer_id) SELECT id FROM c, generate_series(1, 2) RETURNING customer_id::text AS id`,
      );
      const customers = [...new Set(rows.map((r) => r.id))];
      // Deleted through the API, which leaves the children to a cascade_soft_delete job.
      for (const id of customers) {
        const r = await fetch(`${stack.apiUrl}/v1/customers/${id}`, { method: 'DELETE' });
        expect(r.status, await r.text()).to.be.oneOf([200, 202]);
      }
    },
    async follow(op, stack) {
      const oldest = await op.promql('max by (job_type) (cleanup_queue_oldest_wait_seconds)');
      expect(oldest.find((s) => s.metric.job_type === 'cascade_soft_delete')?.value).to.be.greaterThan(5);
      await op.promql('increase(cleanup_worker_queue_wait_seconds_count[10m] anchored)');
      await op.promql('count(changes(process_uptime_seconds{job="sdops-worker"}[2m]) > 0)');
      op.skip(
        'shell',
        'docker compose ps sdops-worker',
        'no compose in the drill: `sdops queue status` shows no job active',
      );
      const status = queueRow((await op.run('sdops queue status')).stdout, 'cascade_soft_delete');
      expect(status).to.include({ waiting: 3, active: 0 });
      expect(await op.sql("state = 'active'\n ORDER BY started_on"), 'no worker holds any job').to.deep.equal(
        [],
      );
      op.vars.JOB_TYPE = 'cascade_soft_delete'; // export JOB_TYPE=<the alert's job_type>
      // Step 1: no worker running.
      await op.start('sdops worker', 'worker started');
      op.skip('shell', 'sdops worker --job-types "$JOB_TYPE" --no-schedule', 'step 2: no worker ran at all');
      op.skip('sql', 'pg_blocking_pids', 'step 3: no worker is stuck, none ran');
      await watch(op, 'sdops queue status', 'the cascades to run', (out) => {
        const row = queueRow(out, 'cascade_soft_delete');
        return row.waiting === 0 && row.completed === 3;
      });
      const live = await stack.sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM orders o JOIN customers c ON c.id = o.customer_id
          WHERE c.email LIKE 'stalled%' AND o.deleted_at IS NULL`,
      );
      expect(Number(live.rows[0]?.n), "the deleted customers' orders are deleted now").to.equal(0);
    },
  },

  /**
   * A cascade hits orders another team's check refuses to delete: every attempt fails with 23514, the
   * job dies, the customer is deleted with live orders. The owning team lifts the rule; a retry of the
   * dead job finishes the cascade.
   */
  CleanupJobsDead: {
    productionFires: true,
    productionResolves: true,
    async cause(stack) {
      const { rows } = await stack.sql.query<{ id: string }>(
        `WITH c AS (INSERT INTO customers (email, name) VALUES ('dead@example.com', 'D') RETURNING id)
         INSERT INTO orders (customer_id, currency) SELECT id, 'XTS' FROM c, generate_series(1, 2)
         RETURNING customer_id::text AS id`,
      );
      await stack.sql.query(
        `ALTER TABLE orders ADD CONSTRAINT orders_xts_kept CHECK (deleted_at IS NULL OR currency <> 'XTS') NOT VALID`,
      );
      await stack.startWorker(['--job-types', 'cascade_soft_delete'], {
        SDOPS_JOB_RETRY_LIMIT: '1',
        SDOPS_JOB_RETRY_DELAY_SECONDS: '1',
      });
      const r = await fetch(`${stack.apiUrl}/v1/customers/${rows[0]?.id}`, { method: 'DELETE' });
      expect(r.status, await r.text()).to.be.oneOf([200, 202]);
    },
    async follow(op, stack) {
      const dead = await op.promql('max by (job_type) (cleanup_queue_dead)');
      expect(dead.find((s) => s.metric.job_type === 'cascade_soft_delete')?.value).to.equal(1);
      expect(queueRow((await op.run('sdops queue status')).stdout, 'cascade_soft_delete')).to.include({
        dead: 1,
      });
      const copies = await op.sql('AS dead_copy_id');
      expect(copies.map((c) => c.code)).to.deep.equal(['23514']);
      expect(String(copies[0]?.error)).to.include('orders_xts_kept');
      const impact = await stack.sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM orders WHERE currency = 'XTS' AND deleted_at IS NULL`,
      );
      expect(Number(impact.rows[0]?.n), 'the customer is deleted, its orders are not').to.equal(2);
      // Step 1, class 23: the owning team lifts its rule (outside this runbook).
      await stack.sql.query('ALTER TABLE orders DROP CONSTRAINT orders_xts_kept');
      const retried = await op.run('sdops queue retry --dead');
      expect(retried.code, retried.stderr).to.equal(0);
      expect(retried.stdout).to.include('retried 1 dead job(s)');
      op.skip('shell', 'sdops queue retry "$JOB_ID"', 'the --dead form retries the one dead job');
      op.skip('shell', 'sdops queue cancel "$JOB_ID"', 'step 3: this job is wanted');
      op.skip(
        'shell',
        'sdops queue cancel --type "$JOB_TYPE" --state dead --dry-run',
        'step 3: this job is wanted',
      );
      op.skip('shell', 'sdops queue cancel --type "$JOB_TYPE" --state dead', 'step 3: this job is wanted');
      op.skip(
        'promql',
        'rate(cleanup_worker_job_failures_total[5m] anchored)',
        'for the follow-on CleanupJobFailureRatioHigh, which needs 20 attempts: this drill has 4',
      );
      await watch(op, 'sdops queue status', 'the cascade to complete, nothing dead', (out) => {
        const row = queueRow(out, 'cascade_soft_delete');
        return row.dead === 0 && row.completed === 1;
      });
      const live = await stack.sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM orders WHERE currency = 'XTS' AND deleted_at IS NULL`,
      );
      expect(Number(live.rows[0]?.n), "the deleted customer's orders are deleted now").to.equal(0);
    },
  },

  /**
   * A migration batch hits a row another team's check refuses: the run ends partially_failed. The
   * section and its procedure lead to the row; once it is corrected, retry-failed finishes the run.
   */
  MigrationRunFailed: {
    procedures: ['Procedure: partial failures during a migration'],
    productionFires: true,
    productionResolves: false, // a 15-minute window: the drill-scaled rule (20 s) shows it resolving
    async cause(stack) {
      await legacyDocuments(stack, 300);
      await stack.sql.query(
        `UPDATE documents SET title = 'poison' WHERE id = (SELECT min(id) + 150 FROM documents)`,
      );
      await stack.sql.query(`
        CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'document % fails the content check: title "poison"', NEW.id USING ERRCODE = 'check_violation'; END $$;
        CREATE TRIGGER documents_content_check BEFORE UPDATE ON documents FOR EACH ROW
          WHEN (NEW.title = 'poison' AND NEW.deleted_at IS NOT NULL) EXECUTE FUNCTION refuse_poison();`);
      const run = await runCli(
        ['migrate', 'start', 'backfill-deleted-at', '--entity', 'documents', '--batch-size', '100'],
        stack.env,
      );
      expect(run.code, run.stderr).to.equal(1);
      expect(run.stderr).to.match(/ended partially_failed/);
    },
    async follow(op, stack) {
      const list = await op.run('sdops migrate list --state partially_failed --limit 5');
      const runId = parseTable(list.stdout)[0]?.run_id;
      expect(runId, list.stdout).to.match(/^[0-9a-f-]{36}$/);
      op.vars.RUN_ID = runId as string; // export RUN_ID=<the run_id of the newest row>
      expect(parseTable((await op.run('sdops migrate list --state failed --limit 5')).stdout)).to.deep.equal(
        [],
      );
      // A run an outage ended shows running (stale); this one recorded its end.
      expect(parseTable((await op.run('sdops migrate list --state running --limit 5')).stdout)).to.deep.equal(
        [],
      );
      op.skip('shell', 'sdops migrate list --limit 10', 'the run is in the first list: not repaired since');
      const status = await op.run('sdops migrate status "$RUN_ID"');
      expect(status.stdout).to.include('partially_failed').and.include('last error').and.include('poison');
      // The batch's error names the SQLSTATE (escalation goes by it); it was only in Loki.
      expect(status.stdout).to.include('(SQLSTATE 23514)');
      const json = JSON.parse((await op.run('sdops --json migrate status "$RUN_ID"')).stdout) as {
        failedBatches: { entity: string }[];
      };
      expect(json.failedBatches.map((b) => b.entity)).to.deep.equal(['documents']);
      await op.promql('increase(migration_run_failure_total[1h] anchored)');
      await op.promql('rate(migration_rows_processed_total[5m] anchored)');
      await op.promql('migration_batch_duration_seconds_count{status="failure"}');
      const batches = await op.sql("WHERE run_id = :'run_id' AND status = 'failed'\n    ORDER BY batch_no");
      expect(batches).to.have.length(1);
      const rows = await op.sql('to_jsonb(d) AS row');
      // The whole row, as for any entity (the block once named documents' own columns).
      const bad = rows.filter((r) => (r.row as { title?: unknown }).title === 'poison');
      expect(bad, 'the failed range shows the offending row').to.have.length(1);
      // The candidates' changes one by one, rolled back: the refused row named with its error.
      const refused: string[] = [];
      await op.sql("set_config('sdops.run_id'", refused);
      expect(refused).to.deep.equal([
        `documents ${bad[0]?.id} refused: document ${bad[0]?.id} fails the content check: title "poison" (SQLSTATE 23514)`,
      ]);
      // Step 3, fix the cause: the owning team corrects the row (not a runbook command: data).
      await stack.sql.query(`UPDATE documents SET title = 'corrected' WHERE id = $1`, [bad[0]?.id]);
      const retried = await op.run('sdops migrate retry-failed "$RUN_ID"');
      expect(retried.code, retried.stderr).to.equal(0);
      op.skip('shell', 'sdops migrate resume "$RUN_ID"', 'retry-failed ended succeeded: no scan was left');
      const record = await op.sql('SELECT state, total_estimate, rows_processed');
      expect(record[0]).to.include({ state: 'succeeded', batches_failed: 0 });
      const left = await op.sql("UNION ALL SELECT 'documents', count(*)");
      expect(left.map((r) => Number(r.count))).to.deep.equal([0, 0, 0, 0]);
      const dry = await op.run('sdops migrate start backfill-deleted-at --dry-run');
      expect(dry.stdout).to.include('dry run: 0 rows would change');
      const after = await op.run('sdops migrate status "$RUN_ID"');
      expect(after.stdout).to.include('succeeded').and.not.include('last error');
    },
  },

  /** The process running a migration is SIGKILLed: the run says running and nobody moves it. */
  MigrationRunStale: {
    productionFires: false, // 5 minutes after the lease: the drill-scaled rule waits 2 s
    productionResolves: true,
    async cause(stack) {
      await legacyDocuments(stack, 400);
      const runner = spawnSdops(
        'migrate start backfill-deleted-at --entity documents --batch-size 20 --max-rows-per-second 40'.split(
          ' ',
        ),
        stack.env,
      );
      await waitUntil(
        'the run to make progress',
        async () => {
          const { rows } = await stack.sql.query(
            `SELECT 1 FROM sdops_migration_runs WHERE rows_processed >= 60`,
          );
          return rows.length > 0 ? true : undefined;
        },
        { timeoutMs: 30_000 },
      );
      runner.child.kill('SIGKILL');
      await runner.exited;
    },
    async follow(op, stack) {
      const running = parseTable((await op.run('sdops migrate list --state running --limit 10')).stdout);
      expect(running).to.have.length(1);
      expect(running[0]?.owner).to.match(/\(stale\)$/);
      op.vars.RUN_ID = running[0]?.run_id as string;
      expect(
        parseTable((await op.run('sdops migrate list --state stopping --limit 10')).stdout),
      ).to.deep.equal([]);
      const status = parseTable((await op.run('sdops migrate status "$RUN_ID"')).stdout)[0];
      expect(status, 'a dead run has no rate and no ETA').to.include({
        state: 'running',
        'rows/s': '-',
        eta: '-',
      });
      const silent = await op.sql('now() - heartbeat_at AS silent_for');
      expect(silent).to.have.length(1);
      await op.promql('max by (migration) (migration_runs_stale_seconds)');
      await op.promql('sum by (migration, status) (rate(migration_rows_processed_total[5m] anchored))');
      // Step 1: the owner is host:pid; on this host, is the pid still there?
      op.vars.OWNER_PID = String(running[0]?.owner).split(':')[1] as string;
      const ps = await op.run('ps -o pid,stat,etime,args -p "$OWNER_PID"');
      expect(ps.code, 'nothing listed: the process is gone').to.equal(1);
      // Step 2: resume from the checkpoint.
      const resumed = await op.run('sdops migrate resume "$RUN_ID"');
      expect(resumed.code, resumed.stderr).to.equal(0);
      op.skip('shell', 'sdops migrate stop "$RUN_ID"', 'the alternative to resuming now: park it for later');
      op.skip('sql', "state = 'idle in transaction'", 'resume was not refused with run_row_held');
      const after = parseTable((await op.run('sdops migrate status "$RUN_ID"')).stdout)[0];
      expect(after).to.include({ state: 'succeeded' });
      const legacy = await stack.sql.query(
        `SELECT count(*) AS n FROM documents WHERE is_deleted AND deleted_at IS NULL`,
      );
      expect(Number(legacy.rows[0]?.n), 'every row migrated, the killed batch included').to.equal(0);
    },
  },
  /**
   * Another team's trigger on documents raises a plain exception (SQLSTATE P0001, not a refused row of
   * class 23, which would answer 409): every DELETE of those documents through the API answers 500
   * internal_error. The section's checks find the database reachable, the 500s on DELETE
   * /v1/:entity/:id and the trigger; the owning team drops it, and the clients' repeated DELETEs succeed.
   */
  ApiServerErrorRatioHigh: {
    productionFires: true,
    productionResolves: false, // a 10-minute window: the drill-scaled rule (30 s) shows it resolving
    async cause(stack) {
      const { rows } = await stack.sql.query<{ id: string }>(
        `INSERT INTO documents (title, body) SELECT 'hold ' || g, 'b' FROM generate_series(1, 30) g
         RETURNING id::text AS id`,
      );
      await stack.sql.query(`
        CREATE FUNCTION legal_hold() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'document % is under legal hold (records team)', NEW.id; END $$;
        CREATE TRIGGER documents_legal_hold BEFORE UPDATE ON documents FOR EACH ROW
          WHEN (NEW.title LIKE 'hold %') EXECUTE FUNCTION legal_hold();`);
      for (const { id } of rows) {
        const r = await fetch(`${stack.apiUrl}/v1/documents/${id}`, { method: 'DELETE' });
        const body = await r.text();
        expect(r.status, body).to.equal(500);
        expect(JSON.parse(body)).to.deep.equal({
          error: { code: 'internal_error', message: 'internal error' },
        });
      }
    },
    async follow(op, stack) {
      op.vars.API_URL = stack.apiUrl; // API_URL set to the API's base URL, as the section says
      const ready = await op.run(`curl -s -w ' %{http_code}\\n' "$API_URL/readyz"`);
      expect(ready.stdout, 'the database is reachable: not the 503 branch').to.match(
        /"status":"ready".* 200\n$/,
      );
      const db = await op.run('sdops db status');
      expect(db.code, db.stderr).to.equal(0);
      const requests = await op.promql(
        'sum by (job) (increase(http_server_request_duration_seconds_count[10m] anchored))',
      );
      // The 30 DELETEs (and the readiness check above, once exported).
      expect(requests.find((s) => s.metric.job === 'sdops-api')?.value).to.be.at.least(30);
      // Span metrics reach Prometheus a flush and a scrape after the spans: the operator looks again.
      const errorSpans = await waitUntil(
        'the error spans by route in the span metrics',
        async () => {
          const byRoute = await op.promql(
            'sum by (service_name, span_name) (increase(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER", status_code="STATUS_CODE_ERROR"}',
          );
          return byRoute.some((x) => x.value === 30) ? byRoute : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 1000 },
      );
      expect(errorSpans.map((x) => [x.metric.service_name, x.metric.span_name, x.value])).to.deep.equal([
        ['sdops-api', 'DELETE /v1/:entity/:id', 30],
      ]);
      const share = await op.promql(
        'sum by (service_name) (increase(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER", status_code="STATUS_CODE_ERROR"}[10m] anchored)) /',
      );
      expect(share.find((x) => x.metric.service_name === 'sdops-api')?.value).to.be.greaterThan(0.9);
      op.skip(
        'sql',
        'The sessions that block others',
        'not the branch of a full pool: the API answered 500, not 503',
      );
      const triggers = await op.sql('FROM information_schema.triggers');
      const hold = triggers.find((t) => t.trigger_name === 'documents_legal_hold');
      expect(hold, 'the trigger the exception_message points at').to.include({ table_name: 'documents' });
      expect(triggers, "only other teams' triggers: ours are left out").to.have.length(1);
      // 500 with P0001 from another team's trigger: the owning team drops its rule (not a runbook command).
      await stack.sql.query('DROP TRIGGER documents_legal_hold ON documents; DROP FUNCTION legal_hold()');
      // The clients repeat the failed DELETEs: they succeed now.
      const { rows } = await stack.sql.query<{ id: string }>(
        `SELECT id::text AS id FROM documents WHERE title LIKE 'hold %' AND deleted_at IS NULL`,
      );
      expect(rows, 'the 500s changed nothing').to.have.length(30);
      for (const { id } of rows) {
        const r = await fetch(`${stack.apiUrl}/v1/documents/${id}`, { method: 'DELETE' });
        expect(r.status, await r.text()).to.equal(200);
      }
      const again = await op.run(`curl -s -w ' %{http_code}\\n' "$API_URL/readyz"`);
      expect(again.stdout).to.match(/ 200\n$/);
    },
  },
  /**
   * A token rotated on the API only: `sdops serve` restarted with the new admin token alone, while
   * the clients still send the old one, and every DELETE answers 401. The section's checks show the
   * 401s by route and that the API does not know the clients' token; the API is restarted with both
   * tokens listed (not a runbook command: a deploy), and the clients' repeated DELETEs succeed.
   */
  /**
   * The collector stops. The section's database commands tell the product's state meanwhile; the
   * mitigation starts the collector again, and its target answers.
   */
  /**
   * The stack's API is killed with SIGKILL (an out-of-memory kill: no last export), so its uptime
   * freezes in the collector's scrape. The engineer finds which service is gone and starts it again.
   */
  ServiceDown: {
    productionFires: false, // 2 minutes without a move, then a 1-minute `for`: promtool's cases prove it
    productionResolves: true,
    async cause(stack) {
      // A process that has just started is no dead one: the API shows a moving uptime first.
      await waitUntil(
        'the API to show a sign of life',
        async () =>
          (await stack.query('changes(process_uptime_seconds{job="sdops-api"}[5s]) > 0')).length > 0
            ? true
            : undefined,
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      await stack.killApi();
    },
    async follow(op, stack) {
      // Within 2 minutes of the kill the production window still holds the API's last moves: this
      // query shows it until then, so only the hour's processes are checked.
      await op.promql('count by (job) (changes(process_uptime_seconds[2m]) > 0)');
      const seen = await op.promql('max by (job, instance) (max_over_time(process_uptime_seconds[1h]))');
      expect(
        seen.filter((x) => x.metric.job === 'sdops-api'),
        'the killed API process, with the uptime it reached',
      ).to.have.length(1);
      const hosts = await op.promql(
        'max by (job, instance, host_name, process_pid) (last_over_time(target_info{job=~"sdops-api|sdops-worker"}[1h]))',
      );
      const killed = hosts.find(
        (x) => x.metric.instance === seen.find((y) => y.metric.job === 'sdops-api')?.metric.instance,
      );
      expect(killed?.metric.host_name, 'the killed API process named with its host')
        .to.be.a('string')
        .and.not.equal('');
      expect(Number(killed?.metric.process_pid), 'and its process id').to.be.greaterThan(0);
      op.skip(
        'shell',
        'docker compose ps sdops-api sdops-worker',
        'no compose in the drill: the killed process is gone',
      );
      op.skip(
        'shell',
        'docker compose logs --tail 100 sdops-api',
        'no compose: killed, it wrote no last line',
      );
      const status = await op.run('sdops queue status');
      expect(status.code, `the database answers without the API\n${status.stderr}`).to.equal(0);
      op.skip(
        'shell',
        'docker compose up -d sdops-api',
        'no Docker: the stack starts its sdops serve again below',
      );
      await stack.restartApi();
      op.vars.API_URL = stack.apiUrl;
      const ready = await op.run(`curl -s -w ' %{http_code}\\n' "$API_URL/readyz"`);
      expect(ready.stdout.trim(), 'the new API answers its readiness probe').to.match(/ 200$/);
    },
  },

  /**
   * The stack's API is killed three times, each soon after it started, and started again each time
   * (as a supervisor does): a process is up most of the time, so ServiceDown stays quiet. The engineer
   * sees the short lives, finds the kills, and the process left running stays up.
   */
  ServiceCrashLooping: {
    productionFires: false, // 2 minutes before an end counts, then a 1-minute `for`: promtool's cases prove it
    productionResolves: false, // a 15-minute window: the drill-sized rule (1 minute) shows it resolving
    async cause(stack) {
      for (let started = 1; started <= 3; started++) {
        // Each process shows a sign of life (a move) before it is killed, or it is no process at all.
        await waitUntil(
          `API process ${started} to show a sign of life`,
          async () =>
            (
              await stack.query(
                `count(changes(process_uptime_seconds{job="sdops-api"}[1m]) > 0) >= ${started}`,
              )
            ).length > 0
              ? true
              : undefined,
          { timeoutMs: 30_000, intervalMs: 250 },
        );
        await stack.killApi();
        await stack.restartApi();
      }
    },
    async follow(op, stack) {
      const lives = await op.promql('max by (job, instance) (max_over_time(process_uptime_seconds[15m]))');
      const api = lives.filter((x) => x.metric.job === 'sdops-api');
      expect(api, 'the killed API processes and the one running now').to.have.length.of.at.least(4);
      expect(
        api.filter((x) => x.value < 300),
        'every one of them ran less than 5 minutes',
      ).to.have.length(api.length);
      op.skip('shell', 'docker compose ps sdops-api sdops-worker', 'no compose in the drill');
      op.skip(
        'shell',
        'docker compose logs --tail 100 sdops-api',
        'no compose: the processes were killed from outside and wrote no last line, so the cause is the killer, which stops now',
      );
      op.vars.API_URL = stack.apiUrl;
      const ready = await op.run(`curl -s -w ' %{http_code}\\n' "$API_URL/readyz"`);
      expect(ready.stdout.trim(), 'the process running now answers its readiness probe').to.match(/ 200$/);
      const queue = await op.run('sdops queue status');
      expect(queue.code, `the worker's check reads the queue\n${queue.stderr}`).to.equal(0);
    },
  },

  /**
   * Three workers of the stack run; one is stopped with SIGTERM (a scale-down: it says so) and one
   * killed with SIGKILL (an out-of-memory kill: no word), while the third goes on. Only the killed
   * one is lost. The engineer finds it and its host, and starts a worker in its place.
   */
  ServiceProcessLost: {
    productionFires: false, // 2 minutes without a move, then a 1-minute `for`: promtool's cases prove it
    productionResolves: true,
    async cause(stack) {
      const workers = [];
      for (let i = 0; i < 3; i++) workers.push(await stack.startWorker(['--job-types', 'noop']));
      await waitUntil(
        'the three workers to show a sign of life',
        async () =>
          (await stack.query('count(changes(process_uptime_seconds{job="sdops-worker"}[1m]) > 0) >= 3'))
            .length > 0
            ? true
            : undefined,
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      const [stopped, killed] = workers;
      expect(await stopped?.stop('SIGTERM'), 'the stopped worker exits 0').to.equal(0);
      await killed?.stop('SIGKILL');
      lostWorkerPid = killed?.pid;
    },
    async follow(op, stack) {
      // The section's list waits for the lost process's last move to leave its 1-minute window.
      const lostQuery =
        'max by (job, instance) (max_over_time(process_uptime_seconds[1h])) unless on (job, instance) (changes(process_uptime_seconds[1m]) > 0) unless on (job, instance) (process_uptime_seconds unless on (job, instance) (process_uptime_seconds offset 1m)) unless on (job, instance) max_over_time(sdops_process_stopping[1h])';
      const lost = await waitUntil(
        "the lost worker in the section's list",
        async () => {
          const found = (await op.promql(lostQuery)).filter((x) => x.metric.job === 'sdops-worker');
          return found.length > 0 ? found : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 2_000 },
      );
      expect(lost, 'the killed worker alone: the one stopped with SIGTERM said so').to.have.length(1);
      const hosts = await op.promql(
        'max by (job, instance, host_name, process_pid) (last_over_time(target_info{job=~"sdops-api|sdops-worker"}[1h]))',
      );
      const host = hosts.find((x) => x.metric.instance === lost[0]?.metric.instance);
      expect(Number(host?.metric.process_pid), 'its process id, the one killed').to.equal(lostWorkerPid);
      expect(host?.metric.host_name).to.be.a('string').and.not.equal('');
      op.skip('shell', 'docker compose up -d sdops-api', 'no Docker: the stack starts a worker in its place');
      await stack.startWorker(['--job-types', 'noop']);
      op.vars.API_URL = stack.apiUrl;
      const ready = await op.run(`curl -s -w ' %{http_code}\\n' "$API_URL/readyz"`);
      expect(ready.stdout.trim(), 'the API, which lost nothing, answers its probe').to.match(/ 200$/);
      const first = queueRow((await op.run('sdops queue status')).stdout, 'noop');
      expect(first, 'the queue answers with the workers running').to.be.an('object');
    },
  },

  TelemetryCollectorDown: {
    productionFires: false, // a 2-minute `for`: promtool's case proves it (test/alerts)
    productionResolves: true,
    async cause(stack) {
      await stack.collector.stop();
    },
    async follow(op, stack) {
      const down = await op.promql('up{job=~"otel-collector.*"} == 0');
      expect(down.map((x) => x.metric.job).sort(), 'the collector answers no scrape').to.include(
        'otel-collector',
      );
      // The drill's collector is a static target: it reads 0, it never leaves discovery.
      expect(
        await op.promql('last_over_time(up{job="otel-collector"}[1h]) unless up{job="otel-collector"}'),
        'no collector gone from discovery',
      ).to.deep.equal([]);
      for (const line of [
        'sdops queue status',
        'sdops migrate list --state running --limit 10',
        'sdops migrate list --state failed --limit 10',
      ]) {
        const r = await op.run(line);
        expect(r.code, `${line}: the database answers while the collector is down\n${r.stderr}`).to.equal(0);
      }
      op.skip(
        'shell',
        "curl -s -o /dev/null -w '%{http_code}\\n' http://localhost:13133/",
        'the drill collector listens on a free port',
      );
      for (const line of [
        'docker compose ps otel-collector',
        'docker compose logs --tail 100 otel-collector',
        'docker compose up -d otel-collector',
      ]) {
        op.skip('shell', line, 'no Docker here: the drill collector is a process, started again below');
      }
      // The restart the mitigation asks for.
      await stack.collector.start();
      await waitUntil(
        'the collector to answer its scrape again',
        async () => ((await op.promql('up{job=~"otel-collector.*"} == 0')).length === 0 ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 500 },
      );
    },
  },
  /**
   * The stack's trace and log backend (the collector's sink, standing in for Tempo and Loki) answers
   * 503 to everything while API requests go on: the collector holds a batch it retries. The engineer
   * finds the exporter and the error in the collector's log, starts the backend again, and sees that
   * nothing was dropped.
   */
  TelemetryBackendDown: {
    productionFires: false, // 5 minutes of it: promtool's case proves it (test/alerts)
    productionResolves: true,
    async cause(stack) {
      stack.collector.sink.refuse(true);
      await requestsToExport(stack);
    },
    async follow(op, stack) {
      const inFlight = await op.promql('otelcol_exporter_in_flight_requests');
      expect(
        inFlight.filter((x) => x.value > 0).map((x) => x.metric.exporter),
        'the exporter holding a batch',
      ).to.include('otlp_http/test_sink');
      const fill = await op.promql('otelcol_exporter_queue_size / otelcol_exporter_queue_capacity');
      expect(
        fill.every((x) => x.value < 1),
        'no queue full: nothing dropped at once',
      ).to.equal(true);
      for (const line of [
        'docker compose ps tempo loki',
        'curl -s http://localhost:3200/ready',
        'curl -s http://localhost:3100/ready',
      ])
        op.skip(
          'shell',
          line,
          'no Tempo or Loki here: the drill collector exports to a local sink, which refuses',
        );
      op.skip(
        'shell',
        'docker compose logs --tail 100 otel-collector',
        'no Docker: the collector log file is read below',
      );
      expect(stack.collector.logTail(200), 'the exporter says why it retries').to.match(
        /Exporting failed\. Will retry the request after interval\.[^\n]*503/,
      );
      // The mitigation: the backend is started again (the collector is left alone, as the section says).
      op.skip('shell', 'docker compose up -d tempo loki', 'no Docker: the sink takes exports again below');
      stack.collector.sink.refuse(false);
      await waitUntil(
        'the held batch to be delivered: nothing in flight',
        async () =>
          (await op.promql('otelcol_exporter_in_flight_requests')).every((x) => x.value === 0)
            ? true
            : undefined,
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      const sent = await op.promql('rate(otelcol_exporter_sent_spans');
      expect(
        sent.map((x) => x.metric.exporter),
        'spans delivered again',
      ).to.include('otlp_http/test_sink');
      const dropped = await op.promql('otelcol_exporter_send_failed_spans');
      expect(
        dropped,
        'nothing dropped: the collector held the batch until the backend took it',
      ).to.deep.equal([]);
    },
  },
  /**
   * The stack's trace and log backend refuses every export as malformed (HTTP 400) while API requests
   * go on: the collector does not retry such a batch, it drops it at once and counts it. The engineer
   * finds the exporter and the backend's answer, the backend takes data again, and no drop follows.
   */
  TelemetryDataDropped: {
    productionFires: true,
    productionResolves: false, // a 10-minute window: the drill-sized rule (20 s) shows it resolving
    async cause(stack) {
      stack.collector.sink.refuse(true, 400);
      await requestsToExport(stack);
    },
    async follow(op, stack) {
      const refused = await op.promql('otelcol_exporter_send_failed_spans');
      expect(
        refused.filter((x) => x.value > 0).map((x) => x.metric.exporter),
        'the exporter that dropped spans',
      ).to.include('otlp_http/test_sink');
      expect(
        await op.promql('otelcol_exporter_enqueue_failed_spans'),
        'no queue full: the backend refused them',
      ).to.deep.equal([]);
      op.skip(
        'shell',
        "docker compose logs --since 15m otel-collector | grep 'Dropping data'",
        'no Docker: the collector log file is read below',
      );
      expect(stack.collector.logTail(200), "the backend's answer").to.match(
        /Exporting failed\. Dropping data\.[^\n]*Permanent error[^\n]*400/,
      );
      // The mitigation: the backend takes the data again (its limit raised, its sender fixed).
      stack.collector.sink.refuse(false);
      const r = await fetch(`${stack.apiUrl}/v1/documents/999999999`);
      expect(r.status).to.equal(404);
      await waitUntil(
        'spans delivered again',
        async () =>
          (await op.promql('rate(otelcol_exporter_sent_spans')).some(
            (x) => x.metric.exporter === 'otlp_http/test_sink' && x.value > 0,
          )
            ? true
            : undefined,
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      // No drop since: the drill-sized rule (a 20 s window) resolves only 20 s after the last one.
    },
  },

  ApiAuthRefusalRatioHigh: {
    productionFires: true,
    productionResolves: false, // a 10-minute window: the drill-scaled rule (30 s) shows it resolving
    async cause(stack) {
      const { rows } = await stack.sql.query<{ id: string }>(
        `INSERT INTO documents (title, body) SELECT 'rotated ' || g, 'b' FROM generate_series(1, 30) g
         RETURNING id::text AS id`,
      );
      rotated = await stack.startApi({ SDOPS_API_TOKENS: `admin:${NEW_TOKEN}` });
      for (const { id } of rows) {
        const r = await fetch(`${rotated.url}/v1/documents/${id}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${OLD_TOKEN}` },
        });
        expect(r.status, await r.text()).to.equal(401);
      }
    },
    async follow(op, stack) {
      if (!rotated) throw new Error('the cause did not start the rotated API');
      const refusals = await waitUntil(
        'the 401s by route in Prometheus',
        async () => {
          const byRoute = await op.promql(
            'sum by (job, http_route, http_request_method, http_response_status_code) (increase(http_server_request_duration_seconds_count{http_response_status_code=~"401|403"}',
          );
          return byRoute.some((x) => x.value >= 30) ? byRoute : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 1000 },
      );
      expect(
        refusals.map((x) => [
          x.metric.job,
          x.metric.http_route,
          x.metric.http_request_method,
          x.metric.http_response_status_code,
        ]),
      ).to.deep.equal([['sdops-api', '/v1/:entity/:id', 'DELETE', '401']]);
      op.vars.API_URL = rotated.url; // API_URL set to the API's base URL
      op.vars.TOKEN = OLD_TOKEN; // the token the clients were given
      const read = `curl -s -o /dev/null -w '%{http_code}\\n' -H "Authorization: Bearer \${TOKEN:?set TOKEN first}" "$API_URL/v1/documents?limit=1"`;
      const admin = `curl -s -o /dev/null -w '%{http_code}\\n' -X POST -H "Authorization: Bearer \${TOKEN:?set TOKEN first}" "$API_URL/v1/queue/retry"`;
      expect((await op.run(read)).stdout, 'the API does not know the clients token').to.equal('401\n');
      // The deploy the mitigation asks for: both tokens listed.
      await rotated.stop();
      rotated = await stack.startApi({ SDOPS_API_TOKENS: `admin:${NEW_TOKEN},admin:${OLD_TOKEN}` });
      op.vars.API_URL = rotated.url;
      expect((await op.run(read)).stdout, 'the API knows it again').to.equal('200\n');
      expect((await op.run(admin)).stdout, 'an admin token: refused only for the missing body').to.equal(
        '400\n',
      );
      const { rows } = await stack.sql.query<{ id: string }>(
        `SELECT id::text AS id FROM documents WHERE title LIKE 'rotated %' AND deleted_at IS NULL`,
      );
      expect(rows, 'the 401s changed nothing').to.have.length(30);
      for (const { id } of rows) {
        const r = await fetch(`${rotated.url}/v1/documents/${id}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${OLD_TOKEN}` },
        });
        expect(r.status, await r.text()).to.equal(200);
      }
    },
  },
};
