import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { builtinHandlers, CleanupQueue, CleanupWorker, queueName } from '../src/cleanup/index.ts';
import { loadConfig } from '../src/config.ts';
import { type Database, migrateSchema, openDatabase } from '../src/db/index.ts';
import { configureLogging, startTelemetry } from '../src/observability/index.ts';
import { SoftDeleteService } from '../src/soft-delete/index.ts';
import {
  alternatingTurns,
  createBenchDatabase,
  median,
  printRows,
  startOtlpSink,
  childNodeArgs,
} from './support.ts';

/**
 * `npm run bench -- worker [jobs=10000] [concurrency=4] [noop|purge|all] [processes] [rounds=5] [telemetry on|off] [raw-complete each|batch]`:
 * jobs/s of the cleanup worker against pg-boss's raw claim loop (fetch -> complete, no handler, no
 * telemetry) in the same run, for no-op jobs and for purge_expired batches (raw = fetch ->
 * SoftDeleteService.purge -> complete), with 1 and 2 processes. The raw loop completes job by job
 * (`each`, the default, as a hand-written pg-boss loop does) or a fetch's jobs in one statement
 * (`batch`, as the worker does for jobs finishing together). Worker children run with telemetry
 * on (exporting to a local sink) and per-job info logs on stdout, which the parent drains.
 *
 * Steady state is measured: each side's processes stay alive for the whole run and first drain
 * WARMUP_ROUNDS untimed rounds (taking turns like the timed ones), so neither process start-up, JIT
 * warm-up nor pg-boss's start-up work (migration check, first maintenance) is charged to a round; a
 * worker runs for days. A round ends when every child has stopped after the last job, and stopping
 * includes a telemetry flush, so all the export work a round caused is charged to it.
 *
 * The CPU columns are the children's own CPU time (user + system) per job, flush included: steadier
 * than throughput on a shared VM, so they are what to compare when changing the worker's code. With
 * 2 processes the 2-vCPU machine is saturated (children, PostgreSQL, this parent), and throughput
 * then follows CPU per job.
 */

type Mode = 'raw' | 'worker';
type RawComplete = 'each' | 'batch';
type Kind = 'noop' | 'purge';
const PURGE_BATCH = 10;
const PURGE_PAYLOAD = { entity: 'documents', batchSize: PURGE_BATCH, maxRows: PURGE_BATCH };
/**
 * Untimed warm-up rounds, as large as a timed one and taking turns like them. Both sides' children
 * keep getting cheaper for a few thousand jobs after start (per-round CPU per job, 2 processes:
 * raw 366, 246, 264, 170; worker 777, 716, 475, 438 after a 500-job warm-up, then flat), the
 * worker's more in absolute terms; one 500-job round left that in the first timed rounds.
 */
const WARMUP_ROUNDS = 3;
/** How often a child reports its completed-job count. */
const REPORT_INTERVAL_MS = 5;

type ToChild = 'go' | 'stop' | 'exit';
/** `cpuMicros`: the child's CPU time (user + system) from 'go' to the end of its flush, sent on stop. */
type FromChild = 'ready' | 'stopped' | { readonly done: number; readonly cpuMicros?: number };

// ---- child process: drains the queue between "go" and "stop", as often as the parent asks ----

async function child(mode: Mode, kind: Kind, concurrency: number, rawComplete: RawComplete): Promise<void> {
  configureLogging({ console: 'stdout' });
  const telemetry = await startTelemetry({ role: 'worker', settings: loadConfig().telemetry });
  const db = await openDatabase({ url: process.env.DATABASE_URL as string, poolSize: concurrency + 4 });
  const jobType = kind === 'noop' ? 'noop' : 'purge_expired';
  const settings = { ...loadConfig().worker, pollIntervalMs: 20, queueSampleIntervalMs: 1000 };
  const queue = await CleanupQueue.open(db, {
    role: mode === 'worker' ? 'worker' : 'client',
    policy: settings.policy,
  });
  const sd = new SoftDeleteService(db);
  const handlers = builtinHandlers(sd, settings);
  const send = (message: FromChild) => process.send?.(message);

  // The baseline claims like the worker (one fetch for all free slots) and completes job by job.
  const startRaw = () => {
    const name = queueName(jobType);
    let stop = false;
    let done = 0;
    const loop = (async () => {
      while (!stop) {
        const jobs = await queue.boss.fetch(name, { includeMetadata: true, batchSize: concurrency });
        if (jobs.length === 0) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        await Promise.all(
          jobs.map(async (job) => {
            if (kind === 'purge')
              await sd.purge('documents', { batchSize: PURGE_BATCH, maxRows: PURGE_BATCH });
            if (rawComplete === 'each') await queue.boss.complete(name, job.id);
          }),
        );
        if (rawComplete === 'batch')
          await queue.boss.complete(
            name,
            jobs.map((job) => job.id),
          );
        done += jobs.length;
      }
    })();
    return {
      done: () => done,
      stop: () => {
        stop = true;
        return loop;
      },
    };
  };
  const startWorker = () => {
    const worker = new CleanupWorker(queue, handlers, { ...settings, concurrency, jobTypes: [jobType] });
    worker.start();
    return { done: () => worker.processed, stop: () => worker.stop().then(() => undefined) };
  };

  let running: { done(): number; stop(): Promise<void> } | undefined;
  let reported = 0;
  let cpuAtGo = process.cpuUsage();
  const reporter = setInterval(() => {
    const done = running?.done() ?? 0;
    if (done === reported) return;
    reported = done;
    send({ done });
  }, REPORT_INTERVAL_MS);
  process.on('message', (command: ToChild) => {
    void (async () => {
      if (command === 'go') {
        reported = 0;
        cpuAtGo = process.cpuUsage();
        running = mode === 'worker' ? startWorker() : startRaw();
      } else if (command === 'stop') {
        await running?.stop();
        const done = running?.done() ?? 0;
        running = undefined;
        await telemetry.forceFlush();
        const cpu = process.cpuUsage(cpuAtGo);
        send({ done, cpuMicros: cpu.user + cpu.system });
        send('stopped');
      } else {
        clearInterval(reporter);
        await queue.close();
        await db.close();
        await telemetry.shutdown();
        process.disconnect();
      }
    })();
  });
  send('ready');
}

// ---- parent ----

interface Child {
  readonly proc: ChildProcess;
  /** Jobs this child completed in the current round, as last reported. */
  done: number;
  /** CPU microseconds of the current round, once the child has stopped. */
  cpuMicros: number;
  readonly exited: Promise<void>;
}

function next(c: Child, want: 'ready' | 'stopped'): Promise<void> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`bench child exited early (${code})`));
    const onMessage = (m: FromChild) => {
      if (m !== want) return;
      c.proc.off('message', onMessage);
      c.proc.off('exit', onExit);
      resolve();
    };
    c.proc.on('message', onMessage);
    c.proc.once('exit', onExit);
  });
}

async function spawnChild(
  url: string,
  sink: string,
  mode: Mode,
  kind: Kind,
  concurrency: number,
  telemetry: boolean,
  rawComplete: RawComplete,
): Promise<Child> {
  const file = fileURLToPath(import.meta.url);
  const proc = spawn(
    process.execPath,
    [...childNodeArgs(), file, '--child', mode, kind, String(concurrency), rawComplete],
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
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    },
  );
  // The worker's per-job log lines are read, as a log shipper would.
  proc.stdout?.resume();
  const c: Child = {
    proc,
    done: 0,
    cpuMicros: 0,
    exited: new Promise((resolve) => proc.once('exit', () => resolve())),
  };
  proc.on('message', (m: FromChild) => {
    if (typeof m !== 'object') return;
    c.done = m.done;
    if (m.cpuMicros !== undefined) c.cpuMicros = m.cpuMicros;
  });
  await next(c, 'ready');
  return c;
}

async function seedDeletedDocuments(db: Database, rows: number): Promise<void> {
  await db.query(
    `INSERT INTO documents (title, is_deleted, deleted_at, deleted_by)
     SELECT 'bench ' || g, true, now() - interval '400 days' + g * interval '1 ms', 'bench'
       FROM generate_series(1, $1::int) AS g`,
    [rows],
  );
}

interface RoundResult {
  readonly seconds: number;
  /** The children's CPU time over the round, flush included. */
  readonly cpuMicros: number;
}

/** Enqueues `jobs` (untimed), lets `children` drain them and returns the seconds that took. */
async function round(
  db: Database,
  queue: CleanupQueue,
  children: Child[],
  kind: Kind,
  jobs: number,
): Promise<RoundResult> {
  await db.query(`DELETE FROM pgboss.job WHERE name LIKE 'cleanup.%'`);
  if (kind === 'purge') {
    await db.query('DELETE FROM documents');
    await seedDeletedDocuments(db, jobs * PURGE_BATCH);
    await queue.enqueueMany(
      'purge_expired',
      Array.from({ length: jobs }, () => PURGE_PAYLOAD),
    );
  } else {
    await queue.enqueueMany(
      'noop',
      Array.from({ length: jobs }, () => ({})),
    );
  }
  await db.query('VACUUM ANALYZE pgboss.job');
  for (const c of children) c.done = 0;
  const started = process.hrtime.bigint();
  for (const c of children) c.proc.send('go');
  // Each progress report is checked as it arrives (spawnChild's listener has updated c.done first).
  await new Promise<void>((resolve) => {
    const onReport = () => {
      if (children.reduce((sum, c) => sum + c.done, 0) < jobs) return;
      for (const c of children) c.proc.off('message', onReport);
      resolve();
    };
    for (const c of children) c.proc.on('message', onReport);
  });
  await Promise.all(
    children.map((c) => {
      const stopped = next(c, 'stopped');
      c.proc.send('stop');
      return stopped;
    }),
  );
  return {
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    cpuMicros: children.reduce((sum, c) => sum + c.cpuMicros, 0),
  };
}

export default async function workerBench(args: string[]): Promise<void> {
  const jobs = Number(args[0] ?? 10_000);
  const concurrency = Number(args[1] ?? 4);
  const kinds: readonly Kind[] = args[2] === 'noop' || args[2] === 'purge' ? [args[2]] : ['noop', 'purge'];
  const processCounts = Number(args[3]) > 0 ? [Number(args[3])] : [1, 2];
  const rounds = Number(args[4] ?? 5);
  // Worker children export spans/metrics/logs and log every job at info unless "off".
  const telemetry = args[5] !== 'off';
  const rawComplete: RawComplete = args[6] === 'batch' ? 'batch' : 'each';
  const bench = await createBenchDatabase();
  const sink = await startOtlpSink();
  const db = await openDatabase({ url: bench.url });
  try {
    await migrateSchema(db);
    const queue = await CleanupQueue.open(db, { role: 'client', policy: loadConfig().worker.policy });
    const rows: Record<string, string | number>[] = [];
    const perRound = Math.ceil(jobs / rounds);
    for (const kind of kinds) {
      for (const processes of processCounts) {
        // Each side's jobs are split into rounds of alternating order (see alternatingTurns).
        const spawnSide = (mode: Mode) =>
          Promise.all(
            Array.from({ length: processes }, () =>
              spawnChild(bench.url, sink.url, mode, kind, concurrency, telemetry, rawComplete),
            ),
          );
        const sides = { raw: await spawnSide('raw'), worker: await spawnSide('worker') };
        let results: Record<Mode, RoundResult[]>;
        try {
          const turn = (mode: Mode) => round(db, queue, sides[mode], kind, perRound);
          await alternatingTurns(WARMUP_ROUNDS, ['raw', 'worker'], turn);
          results = await alternatingTurns(rounds, ['raw', 'worker'], turn);
        } finally {
          const all = [...sides.raw, ...sides.worker];
          for (const c of all) if (c.proc.connected) c.proc.send('exit');
          await Promise.all(all.map((c) => c.exited));
        }
        const done = perRound * rounds;
        const total = (mode: Mode, key: 'seconds' | 'cpuMicros') =>
          results[mode].reduce((sum, r) => sum + r[key], 0);
        const raw = done / total('raw', 'seconds');
        const worker = done / total('worker', 'seconds');
        const roundRatio = median(
          results.worker.map((w, i) => w.seconds / (results.raw[i] as { seconds: number }).seconds),
        );
        rows.push({
          jobs: `${done} ${kind === 'noop' ? 'noop' : `purge_expired (batch ${PURGE_BATCH})`}`,
          processes,
          'concurrency/process': concurrency,
          'raw complete': rawComplete,
          'raw pg-boss jobs/s': Math.round(raw),
          'worker jobs/s': Math.round(worker),
          'overhead %': Number(((raw / worker - 1) * 100).toFixed(1)),
          'median round overhead %': Number(((roundRatio - 1) * 100).toFixed(1)),
          'raw cpu µs/job': Math.round(total('raw', 'cpuMicros') / done),
          'worker cpu µs/job': Math.round(total('worker', 'cpuMicros') / done),
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
  await child(
    process.argv[3] as Mode,
    process.argv[4] as Kind,
    Number(process.argv[5]),
    process.argv[6] === 'batch' ? 'batch' : 'each',
  );
}
