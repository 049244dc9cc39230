import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { createBenchDatabase, printRows, startOtlpSink } from './support.ts';

/**
 * `npm run bench -- api [seconds] [connections]`: autocannon against DELETE /v1/documents/{id}, a
 * distinct id per request, with the API's telemetry exporting to a local OTLP sink versus
 * OTEL_SDK_DISABLED=true. Each server runs in a child process of its own (clean SDK state); the two
 * modes alternate for ROUNDS rounds on the same database and the best round of each is reported.
 * This file is also the child's entry point (SDOPS_BENCH_API_CHILD=1).
 */
/** The slice of autocannon's API used here (the package ships no type declarations). */
interface AutocannonRequest {
  method: string;
  path?: string;
  setupRequest?: (req: AutocannonRequest) => AutocannonRequest;
}
interface AutocannonResult {
  requests: { average: number };
  latency: { p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
  requests: AutocannonRequest[];
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const TOKEN = 'bench-admin-token-0123456789';
const ROUNDS = 2;
const ROWS = 600_000;

async function child(): Promise<void> {
  const { startApiServer } = await import('../src/api/index.ts');
  const { openDatabase } = await import('../src/db/index.ts');
  const { configureLogging, startTelemetry } = await import('../src/observability/index.ts');
  // Access log lines are formatted in both modes but discarded, so terminal I/O does not blur the
  // comparison; with telemetry on they are also exported over OTLP.
  configureLogging({ console: new Writable({ write: (_chunk, _enc, done) => done() }) });
  const telemetry = startTelemetry({ role: 'api' });
  const db = await openDatabase({ url: process.env.DATABASE_URL as string, poolSize: 10 });
  const api = await startApiServer({
    db,
    tokens: [{ role: 'admin', token: TOKEN }],
    host: '127.0.0.1',
    port: 0,
  });
  process.stdout.write(`${JSON.stringify({ url: api.url, telemetry: telemetry.enabled })}\n`);
  process.on('SIGTERM', () => {
    void api
      .close()
      .then(() => db.close())
      .then(() => telemetry.shutdown())
      .then(() => process.exit(0));
  });
}

async function spawnServer(
  dbUrl: string,
  telemetryOn: boolean,
  sink: string,
): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/api.ts'], {
    env: {
      ...process.env,
      SDOPS_BENCH_API_CHILD: '1',
      DATABASE_URL: dbUrl,
      OTEL_SDK_DISABLED: telemetryOn ? 'false' : 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: sink,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const first = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl !== -1) resolve(buf.slice(0, nl));
    });
    proc.once('exit', (code) => reject(new Error(`api child exited with ${code} before listening`)));
  });
  const info = JSON.parse(first) as { url: string; telemetry: boolean };
  if (info.telemetry !== telemetryOn)
    throw new Error(`telemetry was ${info.telemetry}, expected ${telemetryOn}`);
  return { proc, url: info.url };
}

async function stopServer(proc: ChildProcess): Promise<void> {
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  await exited;
}

interface Round {
  readonly reqPerSec: number;
  readonly p99: number;
  readonly non2xx: number;
}

async function load(
  url: string,
  firstId: number,
  seconds: number,
  connections: number,
): Promise<{ round: Round; used: number }> {
  let next = firstId;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${TOKEN}` },
    requests: [
      {
        method: 'DELETE',
        setupRequest: (req) => ({ ...req, path: `/v1/documents/${next++}` }),
      },
    ],
  });
  return {
    round: {
      reqPerSec: result.requests.average,
      p99: result.latency.p99,
      non2xx: result.non2xx + result.errors,
    },
    used: next - firstId,
  };
}

export default async function run(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 8);
  const connections = Number(args[1] ?? 16);
  const bench = await createBenchDatabase();
  const sink = await startOtlpSink();
  try {
    const { migrateSchema, openDatabase } = await import('../src/db/index.ts');
    const db = await openDatabase({ url: bench.url });
    await migrateSchema(db);
    await db.query(`INSERT INTO documents (title) SELECT 'doc ' || g FROM generate_series(1, $1::int) g`, [
      ROWS,
    ]);
    await db.close();
    let nextId = 1;
    const best: Record<'on' | 'off', Round | undefined> = { on: undefined, off: undefined };
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const server = await spawnServer(bench.url, mode === 'on', sink.url);
        try {
          // Warm-up (JIT, pool connections) on ids of its own.
          nextId += (await load(server.url, nextId, 1, connections)).used;
          const { round, used } = await load(server.url, nextId, seconds, connections);
          nextId += used;
          if (nextId > ROWS) throw new Error(`ran out of seeded documents (${ROWS}); lower the duration`);
          if (round.non2xx > 0) throw new Error(`${round.non2xx} requests failed in mode ${mode}`);
          if (!best[mode] || round.reqPerSec > (best[mode]?.reqPerSec ?? 0)) best[mode] = round;
        } finally {
          await stopServer(server.proc);
        }
      }
    }
    const on = best.on as Round;
    const off = best.off as Round;
    printRows(`DELETE /v1/documents/{id}: ${connections} connections, ${seconds}s, best of ${ROUNDS}`, [
      { telemetry: 'OTEL_SDK_DISABLED=true', 'req/s': Math.round(off.reqPerSec), 'p99 ms': off.p99 },
      { telemetry: 'on (OTLP to local sink)', 'req/s': Math.round(on.reqPerSec), 'p99 ms': on.p99 },
    ]);
    const ratio = on.reqPerSec / off.reqPerSec;
    process.stdout.write(
      `throughput ratio on/off: ${ratio.toFixed(3)} (target >= 0.9); OTLP exports received: ${sink.requests()}\n`,
    );
  } finally {
    sink.server.close();
    await bench.drop();
  }
}

if (process.env.SDOPS_BENCH_API_CHILD === '1') await child();
