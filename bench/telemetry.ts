import { type ChildProcess, execFile, fork } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrateSchema, openDatabase } from '../src/db/index.ts';
import { createBenchDatabase, printRows, startOtlpSink } from './support.ts';
import { resetDocuments, WARMUP_IDS } from './workloads/documents.ts';

const run$ = promisify(execFile);

const SINGLE_CALLS = 10_000;
/** Calls per turn in the single-row workload: about a second, short enough to share load drift. */
const TURN_CALLS = 500;

/** Wall time of a workload and the child's CPU time (user + system) over the same span. */
interface Sample {
  readonly seconds: number;
  readonly cpuSeconds: number;
}

interface WorkloadResult {
  readonly on: Sample;
  readonly off: Sample;
  /** Median over turns (single) or rounds (bulk) of on/off wall time. */
  readonly medianPairRatio: number;
}

function telemetryEnv(url: string, on: boolean, sink: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: url,
    OTEL_SDK_DISABLED: on ? 'false' : 'true',
    OTEL_EXPORTER_OTLP_ENDPOINT: sink,
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function bulkRun(url: string, on: boolean, sink: string): Promise<Sample> {
  const { stdout } = await run$(
    process.execPath,
    ['--import', 'tsx', 'bench/workloads/soft-delete-workload.ts'],
    { env: telemetryEnv(url, on, sink), maxBuffer: 1 << 20 },
  );
  const result = JSON.parse(stdout.trim().split('\n').pop() as string) as Sample & { enabled: boolean };
  if (result.enabled !== on) throw new Error(`telemetry was ${result.enabled}, expected ${on}`);
  return { seconds: result.seconds, cpuSeconds: result.cpuSeconds };
}

/**
 * One bulk soft delete of 100k rows per process, on vs off: a discarded warm-up run per side, then
 * `rounds` rounds in alternating order; best of the rounds per side.
 */
async function bulk(url: string, sink: string, rounds: number): Promise<WorkloadResult> {
  await bulkRun(url, false, sink);
  await bulkRun(url, true, sink);
  const on: Sample[] = [];
  const off: Sample[] = [];
  for (let i = 0; i < rounds; i++) {
    for (const side of i % 2 === 0 ? [false, true] : [true, false])
      (side ? on : off).push(await bulkRun(url, side, sink));
  }
  const best = (samples: Sample[]) => ({
    seconds: Math.min(...samples.map((s) => s.seconds)),
    cpuSeconds: Math.min(...samples.map((s) => s.cpuSeconds)),
  });
  return {
    on: best(on),
    off: best(off),
    medianPairRatio: median(on.map((s, i) => s.seconds / (off[i] as Sample).seconds)),
  };
}

function startSingleChild(url: string, on: boolean, sink: string, idOffset: number): ChildProcess {
  return fork('bench/workloads/single-row-segments.ts', [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...telemetryEnv(url, on, sink),
      ID_OFFSET: String(idOffset),
      ID_COUNT: String(WARMUP_IDS + SINGLE_CALLS),
      WARMUP: String(WARMUP_IDS),
    },
  });
}

async function turn(child: ChildProcess, calls: number, on: boolean): Promise<Sample> {
  child.send({ calls });
  const [reply] = (await once(child, 'message')) as [Sample & { enabled: boolean }];
  if (reply.enabled !== on) throw new Error(`telemetry was ${reply.enabled}, expected ${on}`);
  return reply;
}

/**
 * 10k single-row soft deletes per side, in turns of TURN_CALLS: an "on" and an "off" process stay
 * alive and take turns in alternating order, so a change in machine load lands on both sides.
 */
async function single(url: string, sink: string): Promise<WorkloadResult> {
  await resetDocuments(url);
  const children = {
    on: startSingleChild(url, true, sink, 0),
    off: startSingleChild(url, false, sink, WARMUP_IDS + SINGLE_CALLS),
  };
  try {
    await Promise.all([once(children.on, 'message'), once(children.off, 'message')]);
    const turns = { on: [] as Sample[], off: [] as Sample[] };
    for (let i = 0; i < SINGLE_CALLS / TURN_CALLS; i++) {
      for (const on of i % 2 === 0 ? [false, true] : [true, false]) {
        const side = on ? 'on' : 'off';
        turns[side].push(await turn(children[side], TURN_CALLS, on));
      }
    }
    const sum = (samples: Sample[]) => ({
      seconds: samples.reduce((t, s) => t + s.seconds, 0),
      cpuSeconds: samples.reduce((t, s) => t + s.cpuSeconds, 0),
    });
    return {
      on: sum(turns.on),
      off: sum(turns.off),
      medianPairRatio: median(turns.on.map((s, i) => s.seconds / (turns.off[i] as Sample).seconds)),
    };
  } finally {
    for (const child of Object.values(children)) {
      if (child.connected) child.send('exit');
    }
    await Promise.all(Object.values(children).map((c) => (c.exitCode === null ? once(c, 'exit') : null)));
  }
}

/**
 * The cost of telemetry on the core: a 100k-row bulk soft delete and 10k single-row soft deletes,
 * each with telemetry exporting to a local OTLP sink versus OTEL_SDK_DISABLED=true, in one run.
 *   npm run bench -- telemetry [rows=100000] [bulk rounds=3] [bulk|single|all]
 * The CPU columns (the child's own user + system time) are less sensitive to other load on a shared
 * machine than wall times.
 */
export default async function run(args: string[]): Promise<void> {
  const rows = Number(args[0] ?? 100_000);
  const rounds = Number(args[1] ?? 3);
  const only = args[2] ?? 'all';
  if (!['bulk', 'single', 'all'].includes(only))
    throw new Error(`workload must be bulk|single|all, got ${only}`);
  const bench = await createBenchDatabase();
  const sink = await startOtlpSink();
  try {
    const db = await openDatabase({ url: bench.url });
    await migrateSchema(db);
    await db.close();
    const client = new pg.Client({ connectionString: bench.url });
    await client.connect();
    const needed = Math.max(rows, 2 * (WARMUP_IDS + SINGLE_CALLS)) + WARMUP_IDS;
    await client.query(
      `INSERT INTO documents (title, body) SELECT 'doc ' || g, repeat('x', 200) FROM generate_series(1, $1) g`,
      [needed],
    );
    await client.end();

    const workloads = [];
    if (only !== 'single')
      workloads.push({
        name: 'bulk',
        ops: `${rows} rows in 1 call (best of ${rounds})`,
        calls: 1,
        target: 1.03,
        result: await bulk(bench.url, sink.url, rounds),
      });
    if (only !== 'bulk')
      workloads.push({
        name: 'single',
        ops: `${SINGLE_CALLS} calls of 1 row (${SINGLE_CALLS / TURN_CALLS} turns per side)`,
        calls: SINGLE_CALLS,
        target: 1.1,
        result: await single(bench.url, sink.url),
      });
    printRows(
      `telemetry overhead: on (OTLP to a local sink, ${sink.requests()} exports received) vs OTEL_SDK_DISABLED=true`,
      workloads.map(({ name, ops, calls, target, result: { on, off, medianPairRatio } }) => ({
        workload: name,
        ops,
        'off (s)': +off.seconds.toFixed(3),
        'on (s)': +on.seconds.toFixed(3),
        'on/off time ratio': +(on.seconds / off.seconds).toFixed(3),
        target: `<= ${target}`,
        'median pair ratio': +medianPairRatio.toFixed(3),
        'cpu us/call added': +(((on.cpuSeconds - off.cpuSeconds) / calls) * 1e6).toFixed(1),
      })),
    );
  } finally {
    sink.server.close();
    await bench.drop();
  }
}
