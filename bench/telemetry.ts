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
  childNodeArgs,
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
  /**
   * Pairs of children (one on, one off) taking turns in one run. Identical processes differ by up
   * to ~15% in one run (memory layout, JIT decisions), so one pair's ratio is partly luck; pooling
   * several pairs, each running the whole loop, averages that out.
   */
  readonly pairs: number;
}

interface Result {
  /** Each side's samples summed over all its children. */
  readonly on: Sample;
  readonly off: Sample;
  /** on/off wall time of each pair. */
  readonly pairRatios: number[];
  /** Median over all pairs' turns of on/off wall time. */
  readonly medianTurnRatio: number;
}

function startChild(url: string, on: boolean, sink: string, workload: Workload, side: number): ChildProcess {
  return fork('bench/workloads/telemetry-turns.ts', [], {
    execArgv: childNodeArgs(),
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

const sum = (samples: readonly Sample[]): Sample => ({
  seconds: samples.reduce((t, s) => t + s.seconds, 0),
  cpuSeconds: samples.reduce((t, s) => t + s.cpuSeconds, 0),
});

/**
 * One workload with telemetry on and off: `pairs` children per side stay alive and all of them take
 * turns in rotating order, so a change in machine load lands on every child; each side's turns are
 * summed over its children.
 */
async function measure(url: string, sink: string, workload: Workload): Promise<Result> {
  await resetDocuments(url);
  const children = Array.from({ length: workload.pairs }, (_, pair) =>
    [false, true].map((on) => {
      const index = 2 * pair + (on ? 1 : 0);
      return { name: `${on ? 'on' : 'off'}${pair}`, on, child: startChild(url, on, sink, workload, index) };
    }),
  ).flat();
  const byName = new Map(children.map((c) => [c.name, c]));
  try {
    await Promise.all(children.map((c) => once(c.child, 'message')));
    // The reset and the warm-ups leave dead tuples too; clear them before the first timed turn.
    if (workload.name === 'bulk') await settle(url);
    const names = children.map((c) => c.name);
    const turns = await alternatingTurns(workload.turns, names, async (name) => {
      const c = byName.get(name) as (typeof children)[number];
      const sample = await turn(c.child, workload.turn, c.on);
      if (workload.name === 'bulk') await settle(url);
      return sample;
    });
    const pairs = Array.from({ length: workload.pairs }, (_, pair) => ({
      on: turns[`on${pair}`] ?? [],
      off: turns[`off${pair}`] ?? [],
    }));
    return {
      on: sum(pairs.flatMap((p) => p.on)),
      off: sum(pairs.flatMap((p) => p.off)),
      pairRatios: pairs.map((p) => sum(p.on).seconds / sum(p.off).seconds),
      medianTurnRatio: median(
        pairs.flatMap((p) => p.on.map((s, i) => s.seconds / (p.off[i] as Sample).seconds)),
      ),
    };
  } finally {
    for (const { child } of children) {
      if (child.connected) child.send('exit');
    }
    await Promise.all(children.map(({ child }) => (child.exitCode === null ? once(child, 'exit') : null)));
  }
}

/**
 * The cost of telemetry on the core, telemetry exporting to a local OTLP sink versus
 * OTEL_SDK_DISABLED=true, in one run:
 *   bulk    one soft delete of `rows` ids per turn, `bulkTurns` turns per side (one pair)
 *   single  10k single-row soft deletes per child, in turns of 500, in `pairs` pairs of children
 *   npm run bench -- telemetry [rows=100000] [bulkTurns=5] [bulk|single|all] [pairs=3]
 * The ratio pools all pairs; the per-pair ratios show how far one pair alone could have strayed.
 * The CPU column (the child's own user + system time) is less sensitive to other load on a shared
 * machine than wall time.
 */
export default async function run(args: string[]): Promise<void> {
  const rows = Number(args[0] ?? 100_000);
  const bulkTurns = Number(args[1] ?? 5);
  const only = args[2] ?? 'all';
  const pairs = Number(args[3] ?? 3);
  if (!['bulk', 'single', 'all'].includes(only))
    throw new Error(`workload must be bulk|single|all, got ${only}`);
  if (!Number.isInteger(pairs) || pairs < 1)
    throw new Error(`pairs must be a positive integer, got ${args[3]}`);
  const all: Workload[] = [
    {
      name: 'bulk',
      ops: `${rows} rows in 1 call (${bulkTurns} turns per side)`,
      calls: bulkTurns,
      target: 1.03,
      rowsPerSide: rows,
      turns: bulkTurns,
      turn: {},
      // Bulk is far from its target and each turn rewrites 100k rows; one pair is enough.
      pairs: 1,
    },
    {
      name: 'single',
      ops: `${SINGLE_CALLS} calls of 1 row per child (${SINGLE_CALLS / SINGLE_TURN_CALLS} turns), ${pairs} pair(s)`,
      calls: SINGLE_CALLS,
      target: 1.1,
      rowsPerSide: SINGLE_CALLS,
      turns: SINGLE_CALLS / SINGLE_TURN_CALLS,
      turn: { calls: SINGLE_TURN_CALLS },
      pairs,
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
    // Single-row children each use up their own range; bulk children share one.
    const needed = Math.max(
      ...workloads.map((w) => (w.name === 'bulk' ? 1 : 2 * w.pairs) * (WARMUP_IDS + w.rowsPerSide)),
    );
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
      const { on, off, pairRatios, medianTurnRatio } = await measure(bench.url, sink.url, workload);
      rowsOut.push({
        workload: workload.name,
        ops: workload.ops,
        'off (s)': +off.seconds.toFixed(3),
        'on (s)': +on.seconds.toFixed(3),
        'on/off time ratio': +(on.seconds / off.seconds).toFixed(3),
        target: `<= ${workload.target}`,
        'pair ratios': pairRatios.map((r) => r.toFixed(3)).join(' '),
        'median turn ratio': +medianTurnRatio.toFixed(3),
        'cpu us/call added': +(
          ((on.cpuSeconds - off.cpuSeconds) / (workload.calls * workload.pairs)) *
          1e6
        ).toFixed(1),
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
