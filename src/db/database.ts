import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>>;
}

/** What a transaction callback receives: a Queryable that can also run parameterless scripts. */
export interface TransactionClient extends Queryable {
  exec(sql: string): Promise<void>;
}

/** A row of any statement of a script. */
export type ScriptRow = Record<string, unknown>;

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** BEGIN ... COMMIT around fn; ROLLBACK and rethrow when fn throws. */
  transaction<T>(fn: (tx: TransactionClient) => Promise<T>): Promise<T>;
  /**
   * Runs a parameterless, possibly multi-statement script (simple query protocol) and resolves with
   * the rows of all its statements in order (pg-boss reads a RETURNING in the middle of its scripts).
   * A script that fails leaves no transaction open behind it.
   */
  exec(sql: string): Promise<ScriptRow[]>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres:// URL: a pg Pool. Otherwise the embedded PGlite. */
  url?: string;
  /** PGlite data directory (created if missing). */
  dataDir?: string;
  /** PGlite in memory; wins over dataDir. */
  memory?: boolean;
  poolSize?: number;
}

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

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  if (opts.url) return openPostgres(opts.url, opts.poolSize ?? 10);
  return openPglite(opts.memory ? undefined : opts.dataDir);
}

function toResult<R>(rows: R[], rowCount: number | null | undefined): QueryResult<R> {
  return { rows, rowCount: rowCount ?? rows.length };
}

function openPostgres(url: string, poolSize: number): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client losing its connection (server restart) must not crash the process; the next
  // query gets a fresh connection or a real error.
  pool.on('error', () => undefined);

  const queryOn = async <R extends Record<string, unknown>>(
    runner: pg.Pool | pg.PoolClient,
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>> => {
    const res = await runner.query<R>(sql, params ? [...params] : undefined);
    return toResult(res.rows, res.rowCount);
  };

  return {
    kind: 'postgres',
    query: (sql, params) => queryOn(pool, sql, params),
    async exec(sql) {
      // A multi-statement script answers with one result per statement. On failure pool.query
      // destroys the connection, so an aborted BEGIN in the script never returns to the pool.
      const res: pg.QueryResult<ScriptRow> | pg.QueryResult<ScriptRow>[] = await pool.query(sql);
      return Array.isArray(res) ? res.flatMap((r) => r.rows ?? []) : (res.rows ?? []);
    },
    async transaction(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const tx: TransactionClient = {
          query: (sql, params) => queryOn(client, sql, params),
          exec: async (sql) => {
            await client.query(sql);
          },
        };
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          // A connection that cannot roll back must not go back into the pool.
          broken = rollbackErr as Error;
        }
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };
}

type PgliteRunner = Pick<PGlite, 'query' | 'exec'>;

async function openPglite(dataDir: string | undefined): Promise<Database> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create({ ...(dataDir ? { dataDir } : {}), parsers: PGLITE_PARSERS });

  const queryOn = async <R extends Record<string, unknown>>(
    runner: PgliteRunner,
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>> => {
    const res = await runner.query<R>(sql, params ? [...params] : undefined);
    // rowCount is per statement; affectedRows would add up the parts of a data-modifying CTE.
    return toResult(res.rows, res.rowCount ?? res.affectedRows);
  };

  const scriptRows = (results: readonly { rows?: ScriptRow[] }[]) => results.flatMap((r) => r.rows ?? []);
  return {
    kind: 'pglite',
    query: (sql, params) => queryOn(db, sql, params),
    async exec(sql) {
      // PGlite is one session: a script whose own BEGIN ... COMMIT fails half way would leave that
      // session in an aborted transaction for every later statement. Inside db.transaction the
      // ROLLBACK runs under PGlite's lock, before anything else can reach the session (the script's
      // BEGIN and COMMIT only warn about the transaction already open / already ended).
      if (/^\s*BEGIN\b/i.test(sql)) return db.transaction(async (tx) => scriptRows(await tx.exec(sql)));
      return scriptRows(await db.exec(sql));
    },
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          query: (sql, params) => queryOn(tx, sql, params),
          exec: async (sql) => {
            await tx.exec(sql);
          },
        }),
      ),
    async close() {
      await db.close();
    },
  };
}

/** SQLSTATE of a database error from either driver (both expose `code`), else undefined. */
export function sqlState(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** Name of the violated constraint, when the driver reports it. */
export function violatedConstraint(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'constraint' in err) {
    const c = (err as { constraint: unknown }).constraint;
    if (typeof c === 'string') return c;
  }
  return undefined;
}

/** Double-quotes an identifier. Identifiers come only from the entity registry, never from input. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
