import { resolve } from 'node:path';
import { type Config, loadConfig } from '../config.ts';
import { type Database, databaseAddress, migrateSchema, openDatabase } from '../db/index.ts';
import {
  configureLogging,
  type ProcessRole,
  startTelemetry,
  type Telemetry,
} from '../observability/index.ts';
import { expireJobsOfGoneWorkers } from '../cleanup/index.ts';
import { expireLeasesOfGoneOwners } from '../migration/index.ts';
import { InvalidInputError } from '../errors.ts';
import { getLogger } from '../observability/index.ts';
import { SoftDeleteService } from '../soft-delete/index.ts';
import { reachingDatabase } from './startup-wait.ts';
import { closingWith, reportOutcomeNow, sayBeforeExitingAtOnce } from './stop-signals.ts';

/** Options every command accepts (declared on the root program). */
export interface GlobalOptions {
  memory?: boolean;
  dataDir?: string;
  json?: boolean;
}

export interface CliContext {
  readonly config: Config;
  readonly db: Database;
  /** Which database this is, for telemetry: host:port/name, or the embedded one's directory. */
  readonly databaseName: string;
  readonly softDelete: SoftDeleteService;
  readonly telemetry: Telemetry;
  readonly json: boolean;
  /**
   * How to run `sdops` again on this database, as a printed command starts (the undo line of a
   * delete): `sdops` on PostgreSQL, `sdops --data-dir <its directory>` on the embedded database;
   * undefined for `--memory`, whose database ends with the process.
   */
  readonly sdopsHere: string | undefined;
  /**
   * Runs more start-up work (serve's and the worker's queue setup) riding out a database restart,
   * as the schema check before it does (SDOPS_STARTUP_OUTAGE_BUDGET_MS).
   */
  starting<T>(fn: () => Promise<T>): Promise<T>;
}

export interface ContextOptions {
  /** Process role: sets service.name (sdops-cli, sdops-migrate, sdops-worker, sdops-api). */
  role?: ProcessRole;
  /** Long-running roles log to stdout at LOG_LEVEL; one-shot commands keep stdout for their output. */
  logToStdout?: boolean;
  /** The configuration a command already read to check its settings before opening anything. */
  config?: Config;
  /** `sdops db migrate` applies the schema itself, to report what it applied. */
  appliesSchema?: boolean;
  /**
   * A migration run's metrics are the dashboard's record of it: its last export is tried again for
   * SDOPS_MIGRATION_EXPORT_RETRY_MS when the collector does not take it.
   */
  retriesFinalMetrics?: boolean;
}

export async function openDatabaseFor(config: Config, globals: GlobalOptions): Promise<Database> {
  if (config.databaseUrl) {
    // Quietly taking DATABASE_URL over them turned a scratch `--memory` command into a change of
    // the real database.
    const embedded = globals.memory ? '--memory' : globals.dataDir === undefined ? undefined : '--data-dir';
    if (embedded) {
      throw new InvalidInputError(
        'invalid_usage',
        `${embedded} selects the embedded database, but DATABASE_URL is set: unset it (run unset DATABASE_URL, then the command again) or drop ${embedded}`,
      );
    }
    return openDatabase({ url: config.databaseUrl, poolSize: config.dbPoolSize });
  }
  if (globals.memory) return openDatabase({ memory: true });
  return openDatabase({ dataDir: globals.dataDir ?? config.dataDir });
}

function sdopsHere(config: Config, globals: GlobalOptions): string | undefined {
  if (config.databaseUrl) return 'sdops';
  if (globals.memory) return undefined;
  // The directory in full, however it was chosen (--data-dir, SDOPS_DATA_DIR, the default under the
  // current folder): pasted in another shell or folder, a command without it opened a new, empty one.
  return `sdops --data-dir ${shellWord(resolve(globals.dataDir ?? config.dataDir))}`;
}

/** A path as one word of a shell command: quoted when it holds anything but plain characters. */
function shellWord(text: string): string {
  return /^[\w./@%+=:,-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The database's identity without credentials (the database gauges report under it). */
function databaseName(config: Config, globals: GlobalOptions): string {
  if (config.databaseUrl) {
    const { host, port, database } = databaseAddress(config.databaseUrl);
    return `${host}:${port}/${database}`;
  }
  return globals.memory ? 'pglite:memory' : `pglite:${resolve(globals.dataDir ?? config.dataDir)}`;
}

/**
 * The embedded database serves one process at a time, and this one holds its lock: a migration run
 * or a cleanup job still marked as in progress there belongs to a process that was killed. They are
 * handed back now (a run can be resumed at once, a job is retried by the next worker), not after
 * their lease timeouts, which exist for processes that might still be alive elsewhere.
 */
async function handBackWorkOfGoneProcesses(db: Database): Promise<void> {
  const runs = await expireLeasesOfGoneOwners(db);
  const jobs = await expireJobsOfGoneWorkers(db);
  if (runs + jobs === 0) return;
  getLogger('db').warn(
    'the embedded database was left by a process that ended mid-work; its migration runs can be resumed now and its jobs are retried',
    { runs, jobs },
  );
}

/** Logging and telemetry for one command: started before any work, flushed after it. */
async function startCommandTelemetry(config: Config, options: ContextOptions): Promise<Telemetry> {
  configureLogging(
    options.logToStdout
      ? { level: config.logLevel, console: 'stdout' }
      : // One-shot commands keep the console quiet unless LOG_LEVEL asks for more.
        {
          level: config.logLevel,
          console: 'stderr',
          consoleLevel: config.logLevelSet ? config.logLevel : 'warn',
        },
  );
  return startTelemetry({
    role: options.role ?? 'cli',
    settings: config.telemetry,
    environment: config.environment,
  });
}

/**
 * Opens the database, applies pending schema versions (every command does, so a fresh data
 * directory just works; a database not up yet is waited for, SDOPS_STARTUP_OUTAGE_BUDGET_MS) and
 * hands the command what it needs; always closes what it opened and flushes telemetry, also when
 * the command fails.
 */
export async function withContext<T>(
  globals: GlobalOptions,
  fn: (ctx: CliContext) => Promise<T>,
  options: ContextOptions = {},
): Promise<T> {
  const config = options.config ?? loadConfig();
  const telemetry = await startCommandTelemetry(config, options);
  // A serve or worker ended by a signal before its graceful stop is listening (while it waits for
  // the database at start) still says it was asked to stop: a planned stop, not a lost process.
  // Other roles have nothing to say, and exit at once.
  sayBeforeExitingAtOnce(() => telemetry.stopRequested());
  /** The command ran: before that, a refusal (bad directory, a held lock, no database) is its one line. */
  let started = false;
  try {
    const db = await openDatabaseFor(config, globals);
    try {
      if (!options.appliesSchema) {
        await reachingDatabase(config.startupOutageBudgetMs, () => migrateSchema(db));
        if (db.kind === 'pglite') await handBackWorkOfGoneProcesses(db);
      }
      let outcome: unknown;
      try {
        started = true;
        return await fn({
          config,
          db,
          databaseName: databaseName(config, globals),
          // A command has nobody to retry it: it waits out a database restart instead of failing.
          softDelete: new SoftDeleteService(db, { outageBudgetMs: config.cliOutageBudgetMs }),
          telemetry,
          json: globals.json === true,
          sdopsHere: sdopsHere(config, globals),
          starting: (work) => reachingDatabase(config.startupOutageBudgetMs, work),
        });
      } catch (error) {
        outcome = error;
        throw error;
      } finally {
        closingWith(outcome);
      }
    } finally {
      await db.close();
    }
  } finally {
    const retryMetricsMs = options.retriesFinalMetrics ? config.migrationExportRetryMs : 0;
    // How the run ended first: a wait for the collector must not hold that line.
    if (retryMetricsMs > 0) reportOutcomeNow();
    await telemetry.shutdown(undefined, { retryMetricsMs, quiet: !started });
  }
}
