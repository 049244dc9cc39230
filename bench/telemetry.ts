import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import pg from 'pg';
import { migrateSchema, openDatabase } from '../src/db/index.ts';
import {
  alternatingTurns,
  createBenchDatabase,
  median,
  printRows,
  startOtlpSink,
  tsxArgs,
} from './support.ts';
import { resetDocuments, WARMUP_IDS } from './workloads/documents.ts';

const SINGLE_CALLS = 10_000;
/** Calls per turn of the single-row workload: about half a second. */
const SINGLE_TURN_CALLS = 500;

/** Wall time of the timed work and the child's CPU time (user + system) over the same span. */
interface Sample {
  readonly seconds: number;
  readonly cpuSeconds: number;
}

interface Workload {
  readonly name: 'bulk' | 'single';
  readonly ops: string;
  /** Operation calls per side, for the CPU-per-call column. */
  readonly calls: number;
  readonly target: number;
  /** Rows of each child's id range, beyond its warm-up ids. */
  readonly rowsPerSide: number;
  readonly turns: number;
  readonly turn: { calls?: number };
}

interface Result {
  readonly on: Sample;
  readonly off: Sample;
  /** Median over turns of on/off wall time. */
  readonly medianTurnRatio: number;
}

function startChild(url: string, on: boolean, sink: string, workload: Workload, side: number): ChildProcess {
  return fork('bench/workloads/telemetry-turns.ts', [], {
    execArgv: tsxArgs(),
    env: {
      ...process.env,
      DATABASE_URL: url,
      OTEL_SDK_DISABLED: on ? 'false' : 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: sink,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      WORKLOAD: workload.name,
      // Bulk turns put their rows back and never overlap, so both sides work on the very same rows
      // (no bias from where in the table a range lies); single-row turns use rows up, so each side
      // has its own range.
      ID_OFFSET: String(workload.name === 'bulk' ? 0 : side * (WARMUP_IDS + workload.rowsPerSide)),
      ID_COUNT: String(WARMUP_IDS + workload.rowsPerSide),
      WARMUP: String(WARMUP_IDS),
    },
  });
}

async function turn(child: ChildProcess, message: { calls?: number }, on: boolean): Promise<Sample> {
  child.send(message);
  const [reply] = (await once(child, 'message')) as [Sample & { enabled: boolean }];
  if (reply.enabled !== on) throw new Error(`telemetry was ${reply.enabled}, expected ${on}`);
  return reply;
}

/**
 * Between bulk turns (untimed): the undone 100k-row update leaves dead tuples and dirty pages, and a
 * vacuum or checkpoint landing inside the next turn would swing its time by tens of percent.
 */
async function settle(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('VACUUM documents');
    // Needs superuser (or pg_checkpoint); without it the vacuum alone still helps.
    await client.query('CHECKPOINT').catch(() => undefined);
  } finally {
    await client.end();
  }
}

/**
 * One workload with telemetry on and off: a child process per side stays alive and the two take
 * turns in alternating order, so a change in machine load lands on both sides; each side's turns
 * are summed.
 */
async function measure(url: string, sink: string, workload: Workload): Promise<Result> {
  await resetDocuments(url);
  const children = {
    on: startChild(url, true, sink, workload, 0),
    off: startChild(url, false, sink, workload, 1),
  };
  try {
    await Promise.all([once(children.on, 'message'), once(children.off, 'message')]);
    // The reset and the warm-ups leave dead tuples too; clear them before the first timed turn.
    if (workload.name === 'bulk') await settle(url);
    const turns = await alternatingTurns(workload.turns, ['off', 'on'], async (side) => {
      const sample = await turn(children[side], workload.turn, side === 'on');
      if (workload.name === 'bulk') await settle(url);
      return sample;
    });
    const sum = (samples: Sample[]) => ({
      seconds: samples.reduce((t, s) => t + s.seconds, 0),
      cpuSeconds: samples.reduce((t, s) => t + s.cpuSeconds, 0),
    });
    return {
      on: sum(turns.on),
      off: sum(turns.off),
      medianTurnRatio: median(turns.on.map((s, i) => s.seconds / (turns.off[i] as Sample).seconds)),
    };
  } finally {
    for (const child of Object.values(children)) {
      if (child.connected) child.send('exit');
    }
    await Promise.all(Object.values(children).map((c) => (c.exitCode === null ? once(c, 'exit') : null)));
  }
}

/**
 * The cost of telemetry on the core, telemetry exporting to a local OTLP sink versus
 * OTEL_SDK_DISABLED=true, in one run:
 *   bulk    one soft delete of `rows` ids per turn, `bulkTurns` turns per side
 *   single  10k single-row soft deletes per side, in turns of 500
 *   npm run bench -- telemetry [rows=100000] [bulkTurns=5] [bulk|single|all]
 * The CPU column (the child's own user + system time) is less sensitive to other load on a shared
 * machine than wall time.
 */
export default async function run(args: string[]): Promise<void> {
  const rows = Number(args[0] ?? 100_000);
  const bulkTurns = Number(args[1] ?? 5);
  const only = args[2] ?? 'all';
  if (!['bulk', 'single', 'all'].includes(only))
    throw new Error(`workload must be bulk|single|all, got ${only}`);
  const all: Workload[] = [
    {
      name: 'bulk',
      ops: `${rows} rows in 1 call (${bulkTurns} turns per side)`,
      calls: bulkTurns,
      target: 1.03,
      rowsPerSide: rows,
      turns: bulkTurns,
      turn: {},
    },
    {
      name: 'single',
      ops: `${SINGLE_CALLS} calls of 1 row (${SINGLE_CALLS / SINGLE_TURN_CALLS} turns per side)`,
      calls: SINGLE_CALLS,
      target: 1.1,
      rowsPerSide: SINGLE_CALLS,
      turns: SINGLE_CALLS / SINGLE_TURN_CALLS,
      turn: { calls: SINGLE_TURN_CALLS },
    },
  ];
  const workloads = all.filter((w) => only === 'all' || w.name === only);
  const bench = await createBenchDatabase();
  const sink = await startOtlpSink();
  try {
    const db = await openDatabase({ url: bench.url });
    await migrateSchema(db);
    await db.close();
    const client = new pg.Client({ connectionString: bench.url });
    await client.connect();
    const needed = 2 * (WARMUP_IDS + Math.max(...workloads.map((w) => w.rowsPerSide)));
    await client.query(
      `INSERT INTO documents (title, body) SELECT 'doc ' || g, repeat('x', 200) FROM generate_series(1, $1) g`,
      [needed],
    );
    // Vacuum runs between bulk turns, untimed (settle); an autovacuum or auto-analyze of the fresh
    // table starting inside a turn would land on one side only.
    await client.query('ALTER TABLE documents SET (autovacuum_enabled = off)');
    await client.query('ANALYZE documents');
    await client.end();

    const rowsOut: Record<string, string | number>[] = [];
    for (const workload of workloads) {
      const { on, off, medianTurnRatio } = await measure(bench.url, sink.url, workload);
      rowsOut.push({
        workload: workload.name,
        ops: workload.ops,
        'off (s)': +off.seconds.toFixed(3),
        'on (s)': +on.seconds.toFixed(3),
        'on/off time ratio': +(on.seconds / off.seconds).toFixed(3),
        target: `<= ${workload.target}`,
        'median turn ratio': +medianTurnRatio.toFixed(3),
        'cpu us/call added': +(((on.cpuSeconds - off.cpuSeconds) / workload.calls) * 1e6).toFixed(1),
      });
    }
    printRows(
      `telemetry overhead: on (OTLP to a local sink, ${sink.requests()} exports received) vs OTEL_SDK_DISABLED=true`,
      rowsOut,
    );
  } finally {
    sink.server.close();
    await bench.drop();
  }
}
