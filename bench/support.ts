import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';

/**
 * Benchmarks run against a real PostgreSQL: DATABASE_URL when set, otherwise a throwaway cluster
 * started by scripts/test-postgres.sh for this run. Each benchmark gets a fresh database.
 */
export interface BenchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

let server: { url: string; dir?: string } | undefined;

function serverUrl(): string {
  if (server) return server.url;
  if (process.env.DATABASE_URL) {
    server = { url: process.env.DATABASE_URL };
  } else {
    const out = execFileSync('bash', ['scripts/test-postgres.sh', 'start'], { encoding: 'utf8' });
    const url = /SDOPS_TEST_PG_URL=(\S+)/.exec(out)?.[1];
    const dir = /SDOPS_TEST_PG_DIR=(\S+)/.exec(out)?.[1];
    if (!url) throw new Error(`bench: could not start PostgreSQL:\n${out}`);
    server = { url, dir };
  }
  return server.url;
}

export function stopBenchServer(): void {
  if (server?.dir) execFileSync('bash', ['scripts/test-postgres.sh', 'stop', server.dir]);
  server = undefined;
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  const name = `sdops_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Runs fn `repeats` times and keeps the best (least disturbed) wall time in seconds. */
export async function bestOf(repeats: number, fn: () => Promise<void>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeats; i++) {
    const started = process.hrtime.bigint();
    await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
  }
  return best;
}

/**
 * Gives each side one turn per round and returns each side's results in round order. The order
 * rotates from round to round (for two sides it alternates), so every side takes every position
 * equally often. On a shared VM load drifts by tens of percent within minutes; short rotating turns
 * make that drift land on all sides alike.
 */
export async function alternatingTurns<S extends string, T>(
  rounds: number,
  sides: readonly S[],
  turn: (side: S) => Promise<T>,
): Promise<Record<S, T[]>> {
  const results = Object.fromEntries(sides.map((side) => [side, []])) as unknown as Record<S, T[]>;
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(k + round) % sides.length] as S;
      results[side].push(await turn(side));
    }
  }
  return results;
}

/** The middle value (the upper one of the two middles for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

export function printRows(title: string, rows: readonly Record<string, string | number>[]): void {
  process.stdout.write(`\n${title}\n`);
  console.table(rows);
}

/**
 * Node flags for a measured child process, from BENCH_NODE_ARGS (space-separated), so the
 * processes being measured can be profiled: BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/p'.
 * NODE_OPTIONS cannot carry --cpu-prof. Children run the .ts sources natively, like the CLI.
 */
export function childNodeArgs(): string[] {
  return (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((arg) => arg.length > 0);
}

/** A local OTLP/HTTP sink: accepts every export, so "telemetry on" pays the full export cost. */
export async function startOtlpSink(): Promise<{ server: Server; url: string; requests: () => number }> {
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
