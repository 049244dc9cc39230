import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { type CliResult, REPO_ROOT, runCli, SDOPS_BIN } from '../../support/cli.ts';
import { type ManagedProcess, startProcess } from '../support/process.ts';
import { giveUp, waitUntil } from '../../support/wait.ts';

/**
 * The app under test as an operator runs it: `sdops` child processes (one-shot commands and the
 * long-running `serve` / `worker`) against one PostgreSQL database, exporting all telemetry to
 * the test collector.
 */

export type Env = Record<string, string>;

/** Env every sdops process of the workload gets: the database, the collector, fast exports. */
export function appEnvironment(databaseUrl: string, collectorEnv: Env): Env {
  return {
    ...collectorEnv,
    DATABASE_URL: databaseUrl,
    OTEL_SDK_DISABLED: 'false',
    OTEL_METRIC_EXPORT_INTERVAL: '500',
    LOG_LEVEL: 'info',
    SDOPS_ENVIRONMENT: 'pipeline-test',
    // Worker: fast polling, one retry, short lease so a sleeping noop job times out; serve and worker
    // read the database gauges every 300 ms.
    SDOPS_QUEUE_POLL_INTERVAL_MS: '100',
    SDOPS_QUEUE_SAMPLE_INTERVAL_MS: '300',
    SDOPS_JOB_RETRY_LIMIT: '1',
    SDOPS_JOB_RETRY_DELAY_SECONDS: '1',
    SDOPS_JOB_EXPIRE_SECONDS: '2',
    SDOPS_QUEUE_MAINTENANCE_INTERVAL_SECONDS: '300',
    SDOPS_WORKER_SHUTDOWN_TIMEOUT_MS: '5000',
    SDOPS_PURGE_CRON: 'off',
    SDOPS_ARCHIVE_CRON: 'off',
    // Migration runner: two attempts per batch with short backoff; a short lease, so a run whose
    // process is frozen counts as stale within seconds.
    SDOPS_MIGRATION_RETRY_ATTEMPTS: '2',
    SDOPS_MIGRATION_HEARTBEAT_MS: '250',
    SDOPS_MIGRATION_LEASE_TIMEOUT_MS: '1500',
    SDOPS_MIGRATION_RETRY_BASE_MS: '10',
    SDOPS_MIGRATION_RETRY_MAX_MS: '20',
  };
}

export class CliFailure extends Error {
  readonly args: readonly string[];
  readonly result: CliResult;

  constructor(args: readonly string[], result: CliResult) {
    super(`sdops ${args.join(' ')} exited ${result.code}:\n${result.stderr.slice(-2000)}`);
    this.args = args;
    this.result = result;
  }
}

/**
 * Runs `sdops --json <args>`; expects `expectCode` (default 0) and returns the parsed stdout.
 * `onExit` sees every finished process (the ledger counts them and keeps their console records).
 */
export async function sdopsJson<T>(
  env: Env,
  args: readonly string[],
  {
    expectCode = 0,
    extraEnv = {},
    onExit,
  }: { expectCode?: number; extraEnv?: Env; onExit?: (result: CliResult) => void } = {},
): Promise<T> {
  const full = ['--json', ...args];
  const result = await runCli(full, { ...env, ...extraEnv });
  onExit?.(result);
  if (result.code !== expectCode) throw new CliFailure(full, result);
  const text = result.stdout.trim();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

export interface LongRunning {
  readonly name: string;
  readonly proc: ManagedProcess;
  logText(): string;
  /** SIGTERM, wait for exit; resolves with the exit code (null when killed by a signal). */
  stop(): Promise<number | null>;
}

/** Starts `sdops <args>` as a long-running process and waits until `ready` matches its output. */
export async function startLongRunning(
  name: string,
  env: Env,
  args: readonly string[],
  ready: RegExp,
  dir: string,
): Promise<LongRunning & { match: RegExpMatchArray }> {
  const logFile = join(dir, `${name}.log`);
  const proc = startProcess(process.execPath, [SDOPS_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    logFile,
  });
  const logText = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const match = await waitUntil(
    `sdops ${args.join(' ')} to be ready`,
    async () => {
      if (proc.exited()) giveUp(`sdops ${name} exited early`);
      return logText().match(ready) ?? undefined;
    },
    { timeoutMs: 30_000 },
  ).catch((error: Error) => {
    void proc.stop();
    throw new Error(`${error.message}\n--- ${name} log ---\n${proc.logTail(40)}`);
  });
  return {
    name,
    proc,
    match,
    logText,
    async stop() {
      await proc.stop();
      return proc.child.exitCode;
    },
  };
}

/** A small pg pool over the test database for the ground truth queries. */
export function sqlClient(url: string): pg.Pool {
  return new pg.Pool({ connectionString: url, max: 2 });
}

export async function sqlRows<T extends Record<string, unknown>>(
  pool: pg.Pool,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  return (await pool.query<T>(text, params)).rows;
}

/** count(*) as a number. */
export async function sqlCount(pool: pg.Pool, text: string, params: unknown[] = []): Promise<number> {
  const rows = await sqlRows<{ n: string | number }>(pool, text, params);
  return Number(rows[0]?.n ?? 0);
}
