import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { builtinHandlers, CleanupQueue, CleanupWorker, queueName } from '../src/cleanup/index.ts';
import { loadConfig } from '../src/config.ts';
import { type Database, migrateSchema, openDatabase } from '../src/db/index.ts';
import { configureLogging, startTelemetry } from '../src/observability/index.ts';
import { SoftDeleteService } from '../src/soft-delete/index.ts';
import { alternatingTurns, createBenchDatabase, median, printRows, startOtlpSink } from './support.ts';

/**
 * `npm run bench -- worker [jobs=10000] [concurrency=4] [noop|purge|all] [processes] [rounds=5] [telemetry on|off]`: jobs/s of the cleanup worker against pg-boss's raw
 * claim loop (fetch -> complete, no handler, no telemetry) in the same run, for no-op jobs and for
 * purge_expired batches (raw = fetch -> SoftDeleteService.purge -> complete), with 1 and 2 processes.
 * Worker children run with telemetry on (exporting to a local sink) and per-job info logs.
 */

type Mode = 'raw' | 'worker';
type Kind = 'noop' | 'purge';
const PURGE_BATCH = 10;
const PURGE_PAYLOAD = { entity: 'documents', batchSize: PURGE_BATCH, maxRows: PURGE_BATCH };

// ---- child process: waits for "go" on stdin, then drains its share of the queue ----

async function child(mode: Mode, kind: Kind, concurrency: number): Promise<void> {
  configureLogging({ console: 'stdout' });
  const telemetry = startTelemetry({ role: 'worker' });
  const db = await openDatabase({ url: process.env.DATABASE_URL as string, poolSize: concurrency + 4 });
  const jobType = kind === 'noop' ? 'noop' : 'purge_expired';
  const settings = { ...loadConfig().worker, pollIntervalMs: 20, queueSampleIntervalMs: 1000 };
  const queue = await CleanupQueue.open(db, { role: mode === 'worker' ? 'worker' : 'client' });
  const sd = new SoftDeleteService(db);
  const handlers = builtinHandlers(sd, settings);
  const worker = new CleanupWorker(queue, handlers, { ...settings, concurrency, jobTypes: [jobType] });
  let stop = false;
  // The baseline claims like the worker (one fetch for all free slots) and completes job by job.
  const raw = async () => {
    const name = queueName(jobType);
    while (!stop) {
      const jobs = await queue.boss.fetch(name, { includeMetadata: true, batchSize: concurrency });
      if (jobs.length === 0) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      await Promise.all(
        jobs.map(async (job) => {
          if (kind === 'purge') await sd.purge('documents', { batchSize: PURGE_BATCH, maxRows: PURGE_BATCH });
          await queue.boss.complete(name, job.id);
        }),
      );
    }
  };
  process.stdout.write('READY\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  process.stdin.destroy();
  const loops: Promise<void>[] = [];
  if (mode === 'worker') worker.start();
  else loops.push(raw());
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  stop = true;
  if (mode === 'worker') await worker.stop();
  await Promise.all(loops);
  await queue.close();
  await db.close();
  await telemetry.shutdown();
}

// ---- parent ----

function spawnChild(
  url: string,
  sink: string,
  mode: Mode,
  kind: Kind,
  concurrency: number,
  telemetry: boolean,
) {
  const file = fileURLToPath(import.meta.url);
  const proc: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', file, '--child', mode, kind, String(concurrency)],
    {
      env: {
        ...process.env,
        DATABASE_URL: url,
        OTEL_EXPORTER_OTLP_ENDPOINT: sink,
        // purge baselines keep telemetry on: the core's own spans/metrics/logs are part of the purge work.
        OTEL_SDK_DISABLED: (mode === 'raw' && kind === 'noop') || !telemetry ? 'true' : 'false',
        LOG_LEVEL: telemetry ? 'info' : 'warn',
        SDOPS_PURGE_CRON: 'off',
        SDOPS_ARCHIVE_CRON: 'off',
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout?.on('data', (d: Buffer) => {
      if (out.length < 10_000) out += d.toString();
      if (out.includes('READY')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`bench child exited early (${code}): ${out}`)));
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return { proc, ready, exited };
}

async function seedDeletedDocuments(db: Database, rows: number): Promise<void> {
  await db.query(
    `INSERT INTO documents (title, is_deleted, deleted_at, deleted_by)
     SELECT 'bench ' || g, true, now() - interval '400 days' + g * interval '1 ms', 'bench'
       FROM generate_series(1, $1::int) AS g`,
    [rows],
  );
}

async function run(
  db: Database,
  queue: CleanupQueue,
  url: string,
  sink: string,
  spec: { mode: Mode; kind: Kind; processes: number; jobs: number; concurrency: number; telemetry: boolean },
): Promise<number> {
  await db.query(`DELETE FROM pgboss.job WHERE name LIKE 'cleanup.%'`);
  if (spec.kind === 'purge') {
    await db.query('DELETE FROM documents');
    await seedDeletedDocuments(db, spec.jobs * PURGE_BATCH);
    await queue.enqueueMany(
      'purge_expired',
      Array.from({ length: spec.jobs }, () => PURGE_PAYLOAD),
    );
  } else {
    await queue.enqueueMany(
      'noop',
      Array.from({ length: spec.jobs }, () => ({})),
    );
  }
  await db.query('VACUUM ANALYZE pgboss.job');
  const children = Array.from({ length: spec.processes }, () =>
    spawnChild(url, sink, spec.mode, spec.kind, spec.concurrency, spec.telemetry),
  );
  await Promise.all(children.map((c) => c.ready));
  const started = process.hrtime.bigint();
  for (const c of children) c.proc.stdin?.end('go\n');
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pgboss.job WHERE name LIKE 'cleanup.%' AND state = 'completed'`,
    );
    if (Number(rows[0]?.n) >= spec.jobs) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  for (const c of children) c.proc.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
  return seconds;
}

export default async function workerBench(args: string[]): Promise<void> {
  const jobs = Number(args[0] ?? 10_000);
  const concurrency = Number(args[1] ?? 4);
  const kinds: readonly Kind[] = args[2] === 'noop' || args[2] === 'purge' ? [args[2]] : ['noop', 'purge'];
  const processCounts = Number(args[3]) > 0 ? [Number(args[3])] : [1, 2];
  const rounds = Number(args[4] ?? 5);
  // Worker children export spans/metrics/logs and log every job at info unless "off".
  const telemetry = args[5] !== 'off';
  const bench = await createBenchDatabase();
  const sink = await startOtlpSink();
  const db = await openDatabase({ url: bench.url });
  try {
    await migrateSchema(db);
    const queue = await CleanupQueue.open(db, { role: 'client' });
    const rows: Record<string, string | number>[] = [];
    const perRound = Math.ceil(jobs / rounds);
    for (const kind of kinds) {
      for (const processes of processCounts) {
        // Each side's jobs are split into rounds of alternating order (see alternatingTurns).
        const spec = { kind, processes, jobs: perRound, concurrency, telemetry };
        const seconds = await alternatingTurns(rounds, ['raw', 'worker'], (mode) =>
          run(db, queue, bench.url, sink.url, { ...spec, mode }),
        );
        const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
        const raw = (perRound * rounds) / total(seconds.raw);
        const worker = (perRound * rounds) / total(seconds.worker);
        const roundRatio = median(seconds.worker.map((w, i) => w / (seconds.raw[i] as number)));
        rows.push({
          jobs: `${perRound * rounds} ${kind === 'noop' ? 'noop' : `purge_expired (batch ${PURGE_BATCH})`}`,
          processes,
          'concurrency/process': concurrency,
          'raw pg-boss jobs/s': Math.round(raw),
          'worker jobs/s': Math.round(worker),
          'overhead %': Number(((raw / worker - 1) * 100).toFixed(1)),
          'median round overhead %': Number(((roundRatio - 1) * 100).toFixed(1)),
        });
      }
    }
    await queue.close();
    printRows('cleanup worker vs raw pg-boss claim loop (overhead = raw/worker - 1; target < 20%)', rows);
  } finally {
    await db.close();
    sink.server.close();
    await bench.drop();
  }
}

if (process.argv[2] === '--child' && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await child(process.argv[3] as Mode, process.argv[4] as Kind, Number(process.argv[5]));
}
