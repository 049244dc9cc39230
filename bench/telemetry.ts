import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrateSchema, openDatabase } from '../src/db/index.ts';
import { createBenchDatabase, printRows } from './support.ts';

const run$ = promisify(execFile);

/** A local OTLP/HTTP sink: accepts every export, so "telemetry on" pays the full export cost. */
async function startSink(): Promise<{ server: Server; url: string; requests: () => number }> {
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
  };
}

async function workload(
  url: string,
  mode: 'bulk' | 'single',
  telemetryOn: boolean,
  sink: string,
): Promise<number> {
  const { stdout } = await run$(
    process.execPath,
    ['--import', 'tsx', 'bench/workloads/soft-delete-workload.ts'],
    {
      env: {
        ...process.env,
        DATABASE_URL: url,
        BENCH_MODE: mode,
        OTEL_SDK_DISABLED: telemetryOn ? 'false' : 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: sink,
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
      },
      maxBuffer: 1 << 20,
    },
  );
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as { seconds: number; enabled: boolean };
  if (result.enabled !== telemetryOn)
    throw new Error(`telemetry was ${result.enabled}, expected ${telemetryOn}`);
  return result.seconds;
}

/**
 * The cost of telemetry on the core: a 100k-row bulk soft delete and 10k single-row soft deletes,
 * each with telemetry exporting to a local sink versus OTEL_SDK_DISABLED=true, interleaved, best of N.
 */
export default async function run(args: string[]): Promise<void> {
  const rows = Number(args[0] ?? 100_000);
  const repeats = Number(args[1] ?? 3);
  const bench = await createBenchDatabase();
  const sink = await startSink();
  try {
    const db = await openDatabase({ url: bench.url });
    await migrateSchema(db);
    await db.close();
    const client = new pg.Client({ connectionString: bench.url });
    await client.connect();
    await client.query(
      `INSERT INTO documents (title, body) SELECT 'doc ' || g, repeat('x', 200) FROM generate_series(1, $1) g`,
      [rows],
    );
    await client.end();

    const results: Record<string, string | number>[] = [];
    for (const mode of ['bulk', 'single'] as const) {
      let on = Number.POSITIVE_INFINITY;
      let off = Number.POSITIVE_INFINITY;
      for (let i = 0; i < repeats; i++) {
        off = Math.min(off, await workload(bench.url, mode, false, sink.url));
        on = Math.min(on, await workload(bench.url, mode, true, sink.url));
      }
      const ops = mode === 'bulk' ? `${rows} rows in 1 call` : '10000 calls of 1 row';
      const target = mode === 'bulk' ? 1.03 : 1.1;
      results.push({
        workload: mode,
        ops,
        'off (s)': +off.toFixed(3),
        'on (s)': +on.toFixed(3),
        'on/off time ratio': +(on / off).toFixed(3),
        target: `<= ${target}`,
      });
    }
    printRows(
      `telemetry overhead (best of ${repeats}; OTLP to a local sink, ${sink.requests()} exports received)`,
      results,
    );
  } finally {
    sink.server.close();
    await bench.drop();
  }
}
