import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrateSchema, openDatabase } from '../src/db/index.ts';
import { createBenchDatabase, printRows, startOtlpSink } from './support.ts';
import { WARMUP_IDS } from './workloads/documents.ts';

const run$ = promisify(execFile);

/** Must match SINGLE_COUNT's default in bench/workloads/soft-delete-workload.ts. */
const SINGLE_CALLS = 10_000;

/** Wall time of the workload and the child's CPU time (user + system) over the same span. */
interface Sample {
  readonly seconds: number;
  readonly cpuSeconds: number;
}

async function workload(
  url: string,
  mode: 'bulk' | 'single',
  telemetryOn: boolean,
  sink: string,
): Promise<Sample> {
  const { stdout } = await run$(
    process.execPath,
    ['--import', 'tsx', 'bench/workloads/soft-delete-workload.ts'],
    {
      env: {
        ...process.env,
        DATABASE_URL: url,
        BENCH_MODE: mode,
        SINGLE_COUNT: String(SINGLE_CALLS),
        OTEL_SDK_DISABLED: telemetryOn ? 'false' : 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: sink,
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
      },
      maxBuffer: 1 << 20,
    },
  );
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as Sample & { enabled: boolean };
  if (result.enabled !== telemetryOn)
    throw new Error(`telemetry was ${result.enabled}, expected ${telemetryOn}`);
  return { seconds: result.seconds, cpuSeconds: result.cpuSeconds };
}

/**
 * The cost of telemetry on the core: a 100k-row bulk soft delete and 10k single-row soft deletes,
 * each with telemetry exporting to a local sink versus OTEL_SDK_DISABLED=true: one discarded warm-up
 * run per side, then N rounds in alternating order, best of N for wall and (separately) child CPU
 * time. The CPU columns are less sensitive to other load on a shared machine than the wall times.
 */
export default async function run(args: string[]): Promise<void> {
  const rows = Number(args[0] ?? 100_000);
  const repeats = Number(args[1] ?? 3);
  const bench = await createBenchDatabase();
  const sink = await startOtlpSink();
  try {
    const db = await openDatabase({ url: bench.url });
    await migrateSchema(db);
    await db.close();
    const client = new pg.Client({ connectionString: bench.url });
    await client.connect();
    await client.query(
      `INSERT INTO documents (title, body) SELECT 'doc ' || g, repeat('x', 200) FROM generate_series(1, $1) g`,
      [rows + WARMUP_IDS],
    );
    await client.end();

    const results: Record<string, string | number>[] = [];
    for (const mode of ['bulk', 'single'] as const) {
      // One discarded run per side first: the first runs pay cold PostgreSQL and OS caches.
      await workload(bench.url, mode, false, sink.url);
      await workload(bench.url, mode, true, sink.url);
      const best = {
        on: { seconds: Infinity, cpuSeconds: Infinity },
        off: { seconds: Infinity, cpuSeconds: Infinity },
      };
      for (let i = 0; i < repeats; i++) {
        // Alternating order, so a drift in machine load does not always hit the same side.
        for (const on of i % 2 === 0 ? [false, true] : [true, false]) {
          const sample = await workload(bench.url, mode, on, sink.url);
          const side = on ? best.on : best.off;
          side.seconds = Math.min(side.seconds, sample.seconds);
          side.cpuSeconds = Math.min(side.cpuSeconds, sample.cpuSeconds);
        }
      }
      const calls = mode === 'bulk' ? 1 : SINGLE_CALLS;
      const ops = mode === 'bulk' ? `${rows} rows in 1 call` : `${SINGLE_CALLS} calls of 1 row`;
      const target = mode === 'bulk' ? 1.03 : 1.1;
      results.push({
        workload: mode,
        ops,
        'off (s)': +best.off.seconds.toFixed(3),
        'on (s)': +best.on.seconds.toFixed(3),
        'on/off time ratio': +(best.on.seconds / best.off.seconds).toFixed(3),
        target: `<= ${target}`,
        'cpu off (s)': +best.off.cpuSeconds.toFixed(3),
        'cpu on (s)': +best.on.cpuSeconds.toFixed(3),
        'cpu us/call added': +(((best.on.cpuSeconds - best.off.cpuSeconds) / calls) * 1e6).toFixed(1),
      });
    }
    printRows(
      `telemetry overhead (best of ${repeats} after a warm-up run per side; OTLP to a local sink, ${sink.requests()} exports received)`,
      results,
    );
  } finally {
    sink.server.close();
    await bench.drop();
  }
}
