import {
  ATTR_DB_COLLECTION_NAME,
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_QUERY_TEXT,
  ATTR_DB_SYSTEM_NAME,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
} from '@opentelemetry/semantic-conventions';
import { type DbSpanInfo, dbSpanInfo, type SpanAttributes, withDbSpan } from '../observability/index.ts';
import type { Database, QueryResult, TransactionClient } from './database.ts';
import { databaseAddress } from './database-url.ts';
import { type OpenDatabaseOptions, openDriver } from './driver.ts';

/**
 * One database client span per SQL statement (`query`, `exec`), child of the operation's span,
 * with the semantic-convention attributes: db.system.name, db.namespace, db.operation.name,
 * db.collection.name, db.query.text (the parameterised text; parameter values never), and
 * server.address/server.port for a server (Tempo's service graph names the database node after
 * server.address, and recognises a database call by db.namespace). Transaction control (BEGIN,
 * COMMIT, ROLLBACK) is issued by database.ts itself and has no span.
 *
 * Cost per statement: the span's name and attributes are parsed and built once per distinct SQL
 * text (the texts come from code, so there are few) and reused; with no recording span active the
 * statement runs without any telemetry work beyond one context lookup.
 */

/** Where the statements go: the attributes every span of this database shares. */
export interface DbTarget {
  readonly namespace: string;
  readonly address?: string;
  readonly port?: number;
}

/** Server, port and database of a postgres:// URL (the database defaults to the user, as libpq). */
export function targetOfUrl(url: string): DbTarget {
  const { host, port, database } = databaseAddress(url);
  return { namespace: database, address: host, port };
}

/** PGlite runs in process, on its one database `postgres`: no server address. */
const PGLITE_TARGET: DbTarget = { namespace: 'postgres' };

const MAX_CACHED_STATEMENTS = 2000;
const SKIP = /^(?:\s+|--[^\n]*\n|\/\*[\s\S]*?\*\/)*/;
const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)(?:\.(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*))?`;
const TARGET: Record<string, RegExp> = {
  SELECT: new RegExp(String.raw`\bFROM\s+(${IDENT})`, 'i'),
  DELETE: new RegExp(String.raw`^\s*DELETE\s+FROM\s+(?:ONLY\s+)?(${IDENT})`, 'i'),
  INSERT: new RegExp(String.raw`^\s*INSERT\s+INTO\s+(${IDENT})`, 'i'),
  UPDATE: new RegExp(String.raw`^\s*UPDATE\s+(?:ONLY\s+)?(${IDENT})`, 'i'),
  LOCK: new RegExp(String.raw`^\s*LOCK\s+(?:TABLE\s+)?(?:ONLY\s+)?(${IDENT})`, 'i'),
};

function unquote(identifier: string): string {
  return identifier.replace(/"((?:[^"]|"")+)"/g, (_m, inner: string) => inner.replaceAll('""', '"'));
}

/** A write, not the row locks of `FOR UPDATE` or the upsert's `DO UPDATE`. */
const FIRST_WRITE = /(?<!\b(?:FOR|DO)\s+)\b(INSERT|UPDATE|DELETE)\b/i;

/**
 * The operation (first keyword, upper case) and, for a single-table statement, its table. WITH is
 * not an operation: a statement starting with it is named after the first write in it (a CTE's or
 * the main statement's), else after its SELECT; the soft-delete core's statements change their
 * target table in their first CTE, e.g. `WITH n0 AS (UPDATE documents ...` is `UPDATE documents`.
 */
export function describeStatement(sql: string): { operation: string; collection?: string } {
  let text = sql.replace(SKIP, '');
  let operation = (/^[A-Za-z]+/.exec(text)?.[0] ?? 'SQL').toUpperCase();
  if (operation === 'WITH') {
    const write = FIRST_WRITE.exec(text);
    if (write?.[1]) {
      operation = write[1].toUpperCase();
      text = text.slice(write.index);
    } else if (/\bSELECT\b/i.test(text)) {
      operation = 'SELECT';
    }
  }
  const found = TARGET[operation]?.exec(text);
  const match = found?.[1];
  // `FROM unnest($1) AS x` names a function, not a table: no collection rather than a wrong one.
  const isCall =
    operation === 'SELECT' && found != null && /^\s*\(/.test(text.slice(found.index + found[0].length));
  return match && !isCall ? { operation, collection: unquote(match) } : { operation };
}

function buildInfo(sql: string, target: DbTarget): DbSpanInfo {
  const { operation, collection } = describeStatement(sql);
  const attributes: Record<string, string | number> = {
    [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
    [ATTR_DB_NAMESPACE]: target.namespace,
    [ATTR_DB_OPERATION_NAME]: operation,
    [ATTR_DB_QUERY_TEXT]: sql,
  };
  if (collection) attributes[ATTR_DB_COLLECTION_NAME] = collection;
  if (target.address) attributes[ATTR_SERVER_ADDRESS] = target.address;
  if (target.port) attributes[ATTR_SERVER_PORT] = target.port;
  return dbSpanInfo(collection ? `${operation} ${collection}` : operation, attributes as SpanAttributes);
}

class StatementInfos {
  readonly #target: DbTarget;
  readonly #byText = new Map<string, DbSpanInfo>();

  constructor(target: DbTarget) {
    this.#target = target;
  }

  get(sql: string): DbSpanInfo {
    let info = this.#byText.get(sql);
    if (info === undefined) {
      info = buildInfo(sql, this.#target);
      // Texts come from code; the bound only guards against a caller building SQL dynamically.
      if (this.#byText.size >= MAX_CACHED_STATEMENTS) this.#byText.clear();
      this.#byText.set(sql, info);
    }
    return info;
  }
}

class TracedTransaction implements TransactionClient {
  readonly #tx: TransactionClient;
  readonly #infos: StatementInfos;

  constructor(tx: TransactionClient, infos: StatementInfos) {
    this.#tx = tx;
    this.#infos = infos;
  }
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>> {
    return withDbSpan(this.#infos.get(sql), () => this.#tx.query<R>(sql, params));
  }
  exec(sql: string): Promise<void> {
    return withDbSpan(this.#infos.get(sql), () => this.#tx.exec(sql));
  }
}

/** Wraps a Database so its statements (and those of its transactions) become client spans. */
export function traceDatabase(db: Database, target: DbTarget): Database {
  const infos = new StatementInfos(target);
  return {
    kind: db.kind,
    query: (sql, params) => withDbSpan(infos.get(sql), () => db.query(sql, params)),
    exec: (sql) => withDbSpan(infos.get(sql), () => db.exec(sql)),
    transaction: (fn) => db.transaction((tx) => fn(new TracedTransaction(tx, infos))),
    withLock: (key, fn) => db.withLock(key, fn),
    cancelRunning: (scope) => db.cancelRunning(scope),
    close: () => db.close(),
  };
}

/** openDriver (driver.ts) with every statement traced. */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const db = await openDriver(opts);
  return traceDatabase(db, opts.url ? targetOfUrl(opts.url) : PGLITE_TARGET);
}
