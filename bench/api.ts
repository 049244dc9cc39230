import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import {
  alternatingTurns,
  createBenchDatabase,
  median,
  printRows,
  startOtlpSink,
  childNodeArgs,
} from './support.ts';

type Side = 'on' | 'off';

/**
 * `npm run bench -- api [seconds=16] [connections=16] [rounds=8]`: autocannon against
 * DELETE /v1/documents/{id}, a distinct id per request, with the API's telemetry exporting to a
 * local OTLP sink versus OTEL_SDK_DISABLED=true. Each side is a server process of its own (clean SDK
 * state); both stay up the whole run and take turns under load, `seconds / rounds` each, in
 * alternating order, after WARMUP_TURNS untimed turns each, so a drift in machine load (tens of
 * percent on a shared VM) lands on both and start-up lands on neither. The
 * ratio is of requests summed over each side's rounds. This file is also the child's entry point
 * (SDOPS_BENCH_API_CHILD=1).
 */
/** The slice of autocannon's API used here (the package ships no type declarations). */
interface AutocannonRequest {
  method: string;
  path?: string;
  setupRequest?: (req: AutocannonRequest) => AutocannonRequest;
}
interface AutocannonResult {
  requests: { total: number };
  latency: { p99: number };
  duration: number;
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
/** Untimed turns per side before the timed rounds (see the warm-up in run()). */
const WARMUP_TURNS = 4;
const ROWS = 600_000;
/** USER_HZ: /proc reports CPU time in these; 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

async function child(): Promise<void> {
  const { startApiServer } = await import('../src/api/index.ts');
  const { openDatabase } = await import('../src/db/index.ts');
  const { configureLogging, startTelemetry } = await import('../src/observability/index.ts');
  const { loadConfig } = await import('../src/config.ts');
  // Access log lines are formatted in both modes but discarded, so terminal I/O does not blur the
  // comparison; with telemetry on they are also exported over OTLP.
  configureLogging({ console: new Writable({ write: (_chunk, _enc, done) => done() }) });
  const telemetry = await startTelemetry({ role: 'api', settings: loadConfig().telemetry });
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
  const proc = spawn(process.execPath, [...childNodeArgs(), 'bench/api.ts'], {
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
  readonly requests: number;
  /** This turn's CPU per request, in µs (NaN off Linux): the server process's, all its threads. */
  readonly serverCpu: number;
  /** The same for the whole machine (server, PostgreSQL, load generator, OTLP sink, kernel). */
  readonly machineCpu: number;
  readonly seconds: number;
  readonly p99: number;
  readonly non2xx: number;
}

/**
 * CPU time used so far, in µs, by one process and by the whole machine (every CPU's time neither
 * idle, waiting on I/O nor stolen by the hypervisor), from /proc; NaN where there is none. Throughput alone cannot tell a costlier request from a
 * busier neighbour on a shared VM; CPU per request can.
 */
function cpuClock(pid: number | undefined): { server: number; machine: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
    const server = Number(fields[11]) + Number(fields[12]);
    // The first line of /proc/stat: "cpu user nice system idle iowait irq softirq steal ...".
    const all = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number);
    const machine = all.reduce((a, b) => a + b, 0) - (all[3] ?? 0) - (all[4] ?? 0) - (all[7] ?? 0);
    return { server: (server * 1e6) / CLOCK_TICKS, machine: (machine * 1e6) / CLOCK_TICKS };
  } catch {
    return { server: Number.NaN, machine: Number.NaN };
  }
}

async function load(
  url: string,
  firstId: number,
  seconds: number,
  connections: number,
  pid: number | undefined,
): Promise<{ round: Round; used: number }> {
  let next = firstId;
  const before = cpuClock(pid);
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
  const after = cpuClock(pid);
  const sent = Math.max(1, next - firstId);
  return {
    round: {
      requests: result.requests.total,
      serverCpu: (after.server - before.server) / sent,
      machineCpu: (after.machine - before.machine) / sent,
      seconds: result.duration,
      p99: result.latency.p99,
      non2xx: result.non2xx + result.errors,
    },
    used: next - firstId,
  };
}

export default async function run(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 16);
  const connections = Number(args[1] ?? 16);
  const rounds = Number(args[2] ?? 8);
  const roundSeconds = Math.max(1, Math.round(seconds / rounds));
  const bench = await createBenchDatabase();
  const sink = await startOtlpSink();
  const servers: Partial<Record<Side, { proc: ChildProcess; url: string }>> = {};
  try {
    const { migrateSchema, openDatabase } = await import('../src/db/index.ts');
    const db = await openDatabase({ url: bench.url });
    await migrateSchema(db);
    await db.query(`INSERT INTO documents (title) SELECT 'doc ' || g FROM generate_series(1, $1::int) g`, [
      ROWS,
    ]);
    await db.close();
    servers.off = await spawnServer(bench.url, false, sink.url);
    servers.on = await spawnServer(bench.url, true, sink.url);
    let nextId = 1;
    // Requests sent to each server (ids handed out), warm-up included: the divisor for a CPU profile.
    const sent: Record<Side, number> = { off: 0, on: 0 };
    const take = async (side: Side, duration: number): Promise<Round> => {
      const { round, used } = await load(
        servers[side]!.url,
        nextId,
        duration,
        connections,
        servers[side]!.proc.pid,
      );
      nextId += used;
      sent[side] += used;
      if (nextId > ROWS) throw new Error(`ran out of seeded documents (${ROWS}); lower the duration`);
      if (round.non2xx > 0) throw new Error(`${round.non2xx} requests failed with telemetry ${side}`);
      return round;
    };
    // Untimed warm-up, taking turns like the timed rounds: each server's CPU per request keeps
    // falling for about ten seconds under load (JIT, pool, caches; telemetry on: 1,010 -> 546 -> 394
    // -> 333 us in its first 2 s turns, then flat), the telemetry-on side's more, so a short warm-up
    // charged start-up to the ratio. An API server runs for days: steady state is what is measured.
    await alternatingTurns(WARMUP_TURNS, ['off', 'on'], (side) => take(side, roundSeconds));
    const taken = await alternatingTurns(rounds, ['off', 'on'], (side) => take(side, roundSeconds));
    const rate = (side: Side) =>
      taken[side].reduce((t, x) => t + x.requests, 0) / taken[side].reduce((t, x) => t + x.seconds, 0);
    const p99 = (side: Side) => median(taken[side].map((x) => x.p99));
    const rows = (['off', 'on'] as const).map((side) => ({
      telemetry: side === 'off' ? 'OTEL_SDK_DISABLED=true' : 'on (OTLP to local sink)',
      'req/s': Math.round(rate(side)),
      'median round p99 ms': p99(side),
      'CPU µs/request: server': Math.round(median(taken[side].map((x) => x.serverCpu))),
      machine: Math.round(median(taken[side].map((x) => x.machineCpu))),
    }));
    printRows(
      `DELETE /v1/documents/{id}: ${connections} connections, ${rounds} rounds of ${roundSeconds}s per side`,
      rows,
    );
    const roundRatios = taken.on.map(
      (x, i) => x.requests / x.seconds / (taken.off[i]!.requests / taken.off[i]!.seconds),
    );
    process.stdout.write(
      `(CPU: median round; the machine's includes PostgreSQL, the load generator and the sink)\n` +
        `throughput ratio on/off: ${(rate('on') / rate('off')).toFixed(3)} (target >= 0.9); median round ratio ${median(roundRatios).toFixed(3)}; OTLP exports received: ${sink.requests()}\n` +
        `requests sent, warm-up included: off ${sent.off} (pid ${servers.off?.proc.pid}), on ${sent.on} (pid ${servers.on?.proc.pid})\n`,
    );
  } finally {
    await Promise.all(Object.values(servers).map((s) => stopServer(s.proc)));
    sink.server.close();
    await bench.drop();
  }
}

if (process.env.SDOPS_BENCH_API_CHILD === '1') await child();
