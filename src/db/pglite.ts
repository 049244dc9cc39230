import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, realpath, stat, statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { InvalidInputError, SdopsError } from '../errors.ts';
import { withDatabaseErrors } from './errors.ts';
import { getLogger } from '../observability/index.ts';
import type { Database, QueryResult, ScriptRow } from './database.ts';
import { lockDataDir } from './dir-lock.ts';
import {
  exists,
  isCreationEntry,
  markCreation,
  setAsideFolders,
  setAsideUnfinishedCreation,
} from './pglite-creation.ts';

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * pg returns int8/numeric as strings (they do not fit a JS number); PGlite would return numbers and
 * silently lose precision above 2^53. Making PGlite return strings too keeps ids identical on both.
 */
const PGLITE_PARSERS = {
  [INT8_OID]: (value: string) => value,
  [NUMERIC_OID]: (value: string) => value,
};

type PgliteRunner = Pick<PGlite, 'query' | 'exec'>;

const scriptRows = (results: readonly { rows?: ScriptRow[] }[]) => results.flatMap((r) => r.rows ?? []);

/**
 * mkdir -p, one level at a time: Node's own recursive mkdir never returns when a parent refuses new
 * entries with ENOENT (under /proc it loops for ever).
 */
async function makeDirs(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await stat(dir)).isDirectory()) return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    await makeDirs(parent);
  }
  try {
    await mkdir(dir);
  } catch (error) {
    // Another process made it in between: fine, as long as it is a directory.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !(await stat(dir)).isDirectory()) throw error;
  }
}

/** Why a path cannot be a data directory, for errors that are the path's fault (exit code 2). */
const UNUSABLE: Readonly<Record<string, string>> = {
  EEXIST: 'a file is in the way',
  ENOTDIR: 'a file is in the way',
  ENOENT: 'its parent does not accept new directories',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENAMETOOLONG: 'the name is too long',
};

async function makeDataDir(dataDir: string): Promise<void> {
  try {
    await makeDirs(dataDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const why = UNUSABLE[code];
    if (why === undefined) throw error;
    throw new InvalidInputError(
      'invalid_argument',
      `the embedded database directory ${dataDir} cannot be created: ${why} (${code}); --data-dir or SDOPS_DATA_DIR chooses another`,
    );
  }
  // PGlite's file system checks the mode bits itself (root too), and then fails with an object
  // that says nothing ("[object Object]").
  const modeAllows = ((await stat(dataDir)).mode & 0o200) !== 0;
  const refused = await access(dataDir, constants.W_OK).then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error.code ?? 'EACCES',
  );
  // A read-only mount is no matter of permissions: saying so sent the operator to chmod.
  if (refused === 'EROFS') {
    throw new InvalidInputError(
      'invalid_argument',
      `the embedded database directory ${dataDir} is on a read-only file system (EROFS): choose another --data-dir`,
    );
  }
  if (!modeAllows || refused !== undefined) {
    throw new InvalidInputError(
      'invalid_argument',
      `the embedded database directory ${dataDir} is not writable: give its owner write permission, or choose another with --data-dir or SDOPS_DATA_DIR`,
    );
  }
}

/** What a PostgreSQL data directory holds from its first moments (initdb writes these first). */
const DATA_DIR_ENTRIES = new Set(['PG_VERSION', 'base', 'global', 'pg_wal', 'pg_xact', 'postgresql.conf']);

/**
 * `--data-dir .` or `~` once wrote a database among the user's own files: a directory that is not
 * empty and has nothing of a data directory is refused, as initdb refuses it.
 */
async function refuseForeignFiles(dataDir: string): Promise<void> {
  const entries = (await readdir(dataDir)).filter((name) => !isCreationEntry(name)).sort();
  if (entries.includes('PG_VERSION')) return;
  // A directory with a control file once held a database (initdb writes it after PG_VERSION): without
  // PG_VERSION, PGlite ran initdb over it and answered from an empty database, exit 0.
  if (await exists(join(dataDir, 'global', 'pg_control'))) {
    throw new InvalidInputError(
      'invalid_argument',
      `the embedded database directory ${dataDir} holds a database without its PG_VERSION file (damaged, copied in part, or left by an older sdops whose first start was stopped while it created the database): restore the whole directory, delete it if it never held data, or choose another --data-dir`,
    );
  }
  if (entries.length === 0 || entries.some((name) => DATA_DIR_ENTRIES.has(name))) return;
  const shown = entries
    .slice(0, 3)
    .map((name) => JSON.stringify(name))
    .join(', ');
  throw new InvalidInputError(
    'invalid_argument',
    `the embedded database directory ${dataDir} is not empty and holds no database (${shown}${entries.length > 3 ? ', ...' : ''}): choose a new or empty directory`,
  );
}

/** PostgreSQL's own record of which major version wrote a data directory. */
async function dataVersion(dataDir: string): Promise<string | undefined> {
  return (await readFile(`${dataDir}/PG_VERSION`, 'utf8').catch(() => undefined))?.trim();
}

/** Below this, PostgreSQL may not start at all (it writes WAL and temporary files from the first moment). */
const LOW_SPACE_BYTES = 64 * 2 ** 20;

async function freeBytes(dataDir: string): Promise<number | undefined> {
  try {
    const { bavail, bsize } = await statfs(dataDir);
    return bavail * bsize;
  } catch {
    return undefined;
  }
}

/**
 * Short of space, a command that writes fails (No space left on device) or, inside PGlite, can spin
 * without end (probe C: a seed at 25 MB free, past its commit, ignoring Ctrl-C): say so before it
 * starts, so a stuck command has its explanation on the screen.
 */
async function warnIfShortOfSpace(dataDir: string): Promise<void> {
  const free = await freeBytes(dataDir);
  if (free === undefined || free >= LOW_SPACE_BYTES) return;
  getLogger('db').warn(
    `only ${Math.floor(free / 2 ** 20)} MB are free on the file system of the embedded database in ${dataDir}: a command that writes may fail (no space left on device) or hang; free some space`,
  );
}

/** The PostgreSQL major PGlite 0.5 runs: a data directory of any other major cannot be opened. */
export const EMBEDDED_POSTGRES_MAJOR = 18;

/** PGlite's start-up failures say little ("PGlite failed to initialize properly", or a bare object). */
export async function openFailure(dataDir: string | undefined, error: unknown): Promise<SdopsError> {
  const detail = error instanceof Error ? error.message : `file system error ${JSON.stringify(error)}`;
  const version = dataDir ? await dataVersion(dataDir) : undefined;
  const free = dataDir ? await freeBytes(dataDir) : undefined;
  const where = dataDir ? `the embedded database in ${dataDir}` : 'the in-memory embedded database';
  // Short of space, a sound directory failed the same way, and the hint sent the operator after
  // its data instead of the disk.
  const setAside = dataDir ? await setAsideFolders(dataDir) : [];
  const hint =
    free !== undefined && free < LOW_SPACE_BYTES
      ? `; only ${Math.floor(free / 2 ** 20)} MB are free on its file system: free some space and run it again${setAside.length > 0 ? ` (${setAside.join(', ')} in it hold the files of first starts that were stopped: delete them if they hold nothing you need)` : ''}`
      : version && version !== String(EMBEDDED_POSTGRES_MAJOR)
        ? `; it holds data of PostgreSQL ${version} and this sdops embeds PostgreSQL ${EMBEDDED_POSTGRES_MAJOR} (PGlite 0.5), which cannot open another major's files: open it with the sdops release that wrote it`
        : version
          ? `; it holds data of PostgreSQL ${version}: is it damaged, or read-only inside?`
          : '';
  return new SdopsError('failed', `${where} could not be opened (${detail})${hint}`, 'internal', {
    cause: error,
  });
}

/** A creation a killed first start left unfinished is done again (pglite-creation.ts), and said so. */
async function startingOver(dataDir: string): Promise<void> {
  const aside = await setAsideUnfinishedCreation(dataDir);
  if (aside === undefined) return;
  getLogger('db').warn(
    `the embedded database in ${dataDir} was left half-created by a first start that was stopped; its files were moved to ${aside} and the database is created again (delete that folder once you are sure it holds nothing you need)`,
  );
}

/**
 * The embedded PGlite: one PostgreSQL session in this process. A data directory is locked for as
 * long as it is open (dir-lock.ts): a second process is refused instead of running a second
 * PostgreSQL over the same files.
 */
export async function openPglite(dataDir: string | undefined): Promise<Database> {
  let lock: Awaited<ReturnType<typeof lockDataDir>> | undefined;
  if (dataDir) {
    await makeDataDir(dataDir);
    lock = await lockDataDir(dataDir);
    // Under the lock: another process's first run, writing its files, is not taken for foreign ones.
    await startingOver(dataDir)
      .then(() => refuseForeignFiles(dataDir))
      .catch(async (error: unknown) => {
        await lock?.release();
        throw error;
      });
  }
  let db: PGlite;
  try {
    const created = dataDir ? await markCreation(dataDir) : undefined;
    // PGlite's file system cannot mount a path whose last part is a symlink (errno 44, every start).
    const real = dataDir ? await realpath(dataDir) : undefined;
    db = await PGlite.create({ ...(real ? { dataDir: real } : {}), parsers: PGLITE_PARSERS });
    if (created) {
      await created();
      // Said once, at creation: run from another folder, the default ./.sdops/data is a new, empty
      // database there, and a command answered "no live rows" with no word of it.
      getLogger('db').warn(
        `created a new embedded database in ${real} (SDOPS_DATA_DIR or --data-dir chooses where)`,
      );
    }
  } catch (error) {
    await lock?.release();
    throw await openFailure(dataDir, error);
  }
  if (dataDir) await warnIfShortOfSpace(dataDir);

  const queryOn = async <R extends Record<string, unknown>>(
    runner: PgliteRunner,
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>> => {
    // A full disk (53100) is the caller's "not now", as on PostgreSQL: the API answered it 500.
    const res = await withDatabaseErrors(() => runner.query<R>(sql, params ? [...params] : undefined));
    // rowCount is per statement; affectedRows would add up the parts of a data-modifying CTE.
    return { rows: res.rows, rowCount: res.rowCount ?? res.affectedRows ?? res.rows.length };
  };

  // withLock: one process owns the directory, so an in-process queue is the whole lock.
  let locked: Promise<unknown> = Promise.resolve();

  return {
    kind: 'pglite',
    query: (sql, params) => queryOn(db, sql, params),
    async exec(sql) {
      // PGlite is one session: a script whose own BEGIN ... COMMIT fails half way would leave that
      // session in an aborted transaction for every later statement. Inside db.transaction the
      // ROLLBACK runs under PGlite's lock, before anything else can reach the session (the script's
      // BEGIN and COMMIT only warn about the transaction already open / already ended).
      if (/^\s*BEGIN\b/i.test(sql)) {
        return withDatabaseErrors(() => db.transaction(async (tx) => scriptRows(await tx.exec(sql))));
      }
      return scriptRows(await withDatabaseErrors(() => db.exec(sql)));
    },
    async transaction(fn) {
      // PGlite answers from this thread, so a loop of batches resolves promise after promise and
      // never lets the event loop reach its I/O: signals, timers, telemetry exports and the data
      // directory's lock (whose holder then never answered who it is) waited for the whole command.
      // The turn comes before BEGIN, not after COMMIT: a signal is then handled between batches,
      // when the caller has taken in every committed one (a second Ctrl-C's line, which counts the
      // committed batches, was one batch short when the signal came between COMMIT and the caller).
      await new Promise((resolve) => setImmediate(resolve));
      return withDatabaseErrors(() =>
        db.transaction((tx) =>
          fn({
            query: (sql, params) => queryOn(tx, sql, params),
            exec: async (sql) => {
              await withDatabaseErrors(() => tx.exec(sql));
            },
          }),
        ),
      );
    },
    withLock(_key, fn) {
      const run = locked.then(fn, fn);
      locked = run.catch(() => undefined);
      return run;
    },
    cancelRunning: async () => 0,
    async close() {
      try {
        await db.close();
      } finally {
        await lock?.release();
      }
    },
  };
}
