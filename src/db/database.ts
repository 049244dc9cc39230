import type { CancelScope } from './cancel-scope.ts';
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
  /**
   * Runs fn while this process holds the session advisory lock `key` (an int8 as decimal text), on a
   * connection of its own so fn's statements through this Database never wait behind it; other
   * processes asking for the same key wait (at most 60 s, then fail). PGlite serves one process (its
   * directory is locked), so there the lock is an in-process queue.
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Cancels every statement running on this database's pooled connections right now, or only on
   * those checked out inside `scope` (PostgreSQL's pg_cancel_backend: the statement fails with 57014
   * and its transaction rolls back) and resolves with how many were running. A worker uses it when
   * it hands jobs back at shutdown, and for the one job whose lease ran out, so a job stuck on a
   * lock neither outlives its lease or the shutdown timeout nor keeps its locks. PGlite runs
   * statements in this process, one at a time: nothing to cancel, 0.
   */
  cancelRunning(scope?: CancelScope): Promise<number>;
  close(): Promise<void>;
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

/**
 * A timestamptz as UTC ISO 8601 text to the microsecond, whatever the session's DateStyle and
 * TimeZone: `::text` follows them, and read back it can name another instant (DateStyle SQL writes
 * a zone abbreviation, "IST", which PostgreSQL reads as Israel's, not India's).
 */
export function utcTextSql(expression: string): string {
  return `to_char((${expression}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Double-quotes an identifier. Identifiers come only from the entity registry, never from input. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
