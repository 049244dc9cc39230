import pg from 'pg';
import type { Database, QueryResult, ScriptRow, TransactionClient } from './database.ts';
import { getLogger, outsideTrace } from '../observability/index.ts';
import { type CancelScope, currentCancelScope } from './cancel-scope.ts';
import { lockWaitLimit } from './lock-wait.ts';
import { ALL_CONNECTIONS_BUSY, databaseError, withDatabaseErrors } from './errors.ts';
import { StallWatch } from './stall-watch.ts';
import { doneWithin } from '../timing.ts';

/**
 * PostgreSQL through a pg pool. Built to ride out a server restart or outage: no connection error
 * can crash the process (idle, checked-out and lock connections all have an 'error' listener),
 * connection failures reach callers as DatabaseUnavailableError (HTTP 503, retried by the worker and
 * the migration runner), a connection attempt gives up after CONNECT_TIMEOUT_MS instead of waiting
 * on a dead host, a server that stops answering without closing its connections (frozen, cut off)
 * has them closed by the stall watch (stall-watch.ts), and the pool opens fresh connections as soon
 * as the server is back.
 */
const CONNECT_TIMEOUT_MS = 5000;
/** How long closing the pool waits for connections still busy before it closes them. */
const CLOSE_GRACE_MS = 5000;
/** How long the server lets one of our transactions sit idle between statements before ending it. */
const IDLE_IN_TRANSACTION_TIMEOUT = '60s';
/** How long a process waits for another one's session lock (withLock) before giving up. */
const LOCK_TIMEOUT = '60s';

const ignore = (): void => undefined;
const log = getLogger('db');

/**
 * The logger's error serialiser redacts credentials from the message; the URL is never logged. Outside
 * any trace: the socket's events run in the context of whatever opened the connection, so the line
 * carried the trace of a request or job that had ended a minute before, as a second line of its own.
 */
function logIdleError(error: unknown): void {
  // As an unavailable-database error when it is one: an expected condition, logged without the socket stack.
  outsideTrace(() =>
    log.warn(
      'an idle database connection failed; the pool opens a new one when needed',
      {},
      databaseError(error),
    ),
  );
}

function toResult<R>(rows: R[], rowCount: number | null | undefined): QueryResult<R> {
  return { rows, rowCount: rowCount ?? rows.length };
}

/** What a connection of a cancelled scope is released with: the pool then closes it. */
function closedForCancel(scope: CancelScope | undefined): Error | undefined {
  return scope?.cancelling ? new Error('closed: its statements are being cancelled') : undefined;
}

export function openPostgres(url: string, poolSize: number): Database {
  // application_name: an operator looking at pg_stat_activity tells our sessions apart (a URL's
  // own application_name wins).
  const settings = {
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'sdops',
  };
  const pool = new pg.Pool({ ...settings, max: poolSize });
  // An idle client losing its connection (server restart) must not crash the process; the next
  // query gets a fresh connection or a real error. Logged, so a server restart or a dropped
  // network shows up in the log where it happened.
  pool.on('error', logIdleError);
  const stalls = new StallWatch(settings, {
    stalled: (closed, waiting) =>
      log.warn(
        `the database stopped answering (frozen or cut off): closed ${closed} connection(s), ` +
          `${waiting} with a statement waiting; new ones are opened when it answers again`,
      ),
  });
  pool.on('connect', (client) => {
    stalls.adopt(client);
    // None of our transactions waits on anything but the database between its statements. One left
    // open (its process stopped or frozen between a statement and COMMIT) held its locks for as
    // long as its connection lived: the rows it wrote, a migration run's row, every session queued
    // behind them. The server ends it after a minute instead.
    client.query(`SET idle_in_transaction_session_timeout = '${IDLE_IN_TRANSACTION_TIMEOUT}'`).catch(ignore);
  });
  /**
   * pg-pool says "timeout exceeded when trying to connect" also when no new connection was tried:
   * every one it may open was busy. One open transaction holding a row lock can fill a pool with
   * statements waiting on it; the answer should say so, not send the on-call to a database that
   * answers fine.
   */
  // Connections checked out right now (pool.query checks one out too): what cancelRunning cancels.
  const busy = new Set<pg.PoolClient>();
  pool.on('acquire', (client) => busy.add(client));
  pool.on('release', (_err, client) => busy.delete(client));
  // Checked out counts, not only statements out: a transaction's connection between statements,
  // or rolling back after its statement gave up on a lock, is as busy (a probe's 50 DELETEs on one
  // locked row: 60 of 66 answers blamed the database, because their timeout met the rollbacks).
  // After the watch closed the pool, its slots are connection attempts to a dead server, neither
  // checked out nor running a statement: pg-pool's own message describes those.
  const saturated = (): Error | undefined =>
    busy.size >= poolSize || stalls.waiting >= poolSize
      ? Object.assign(
          new Error(
            `all ${poolSize} connections of this process stayed busy for ${CONNECT_TIMEOUT_MS / 1000} s: ` +
              'their statements wait on row locks, run long, or the database stopped answering (SDOPS_DB_POOL_SIZE)',
          ),
          { code: 'ETIMEDOUT', [ALL_CONNECTIONS_BUSY]: true },
        )
      : undefined;
  const checkOut = (): Promise<pg.PoolClient> =>
    withDatabaseErrors(() => pool.connect().catch((error: unknown) => Promise.reject(saturated() ?? error)));
  const queryOn = <R extends Record<string, unknown>>(
    client: pg.ClientBase,
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>> =>
    withDatabaseErrors(async () => {
      const res = await stalls.watch(client, () => client.query<R>(sql, params ? [...params] : undefined));
      return toResult(res.rows, res.rowCount);
    });

  /**
   * The lock_timeout a connection's session has, when the work that used it last set one
   * (withLockWaitLimit); absent, it has the server's. Set or reset only when work of the other kind
   * gets it: one statement more per switch, none per request.
   */
  const lockWaits = new WeakMap<pg.ClientBase, number>();
  const matchLockWait = async (client: pg.ClientBase): Promise<void> => {
    const wanted = lockWaitLimit();
    if (lockWaits.get(client) === wanted) return;
    if (wanted === undefined) {
      await queryOn(client, 'RESET lock_timeout');
      lockWaits.delete(client);
    } else {
      await queryOn(client, `SET lock_timeout = ${Math.round(wanted * 1000)}`);
      lockWaits.set(client, wanted);
    }
  };

  /**
   * fn on a connection of its own, registered in the caller's cancel scope if it has one. As
   * pool.query does, a connection whose statement failed is not reused; nor is one a cancel may be
   * on its way to.
   */
  const onConnection = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const scope = currentCancelScope();
    const client = await checkOut();
    scope?.clients.add(client);
    let failed: Error | undefined;
    try {
      await matchLockWait(client);
      return await fn(client);
    } catch (error) {
      failed = error as Error;
      throw error;
    } finally {
      scope?.clients.delete(client);
      client.release(failed ?? closedForCancel(scope));
    }
  };

  return {
    kind: 'postgres',
    query: (sql, params) => onConnection((client) => queryOn(client, sql, params)),
    exec: (sql) =>
      onConnection((client) =>
        withDatabaseErrors(async () => {
          // A multi-statement script answers with one result per statement. On failure its
          // connection is closed, so an aborted BEGIN in the script never returns to the pool.
          const res: pg.QueryResult<ScriptRow> | pg.QueryResult<ScriptRow>[] = await stalls.watch(
            client,
            () => client.query(sql),
          );
          return Array.isArray(res) ? res.flatMap((r) => r.rows ?? []) : (res.rows ?? []);
        }),
      ),
    async transaction(fn) {
      const client = await checkOut();
      const scope = currentCancelScope();
      scope?.clients.add(client);
      // The pool stops listening on a client it hands out: without this, the server closing the
      // connection between two statements of the transaction is an uncaught 'error' event.
      let lost: Error | undefined;
      const onError = (error: Error) => {
        lost = error;
      };
      client.on('error', onError);
      let broken: Error | undefined;
      try {
        await matchLockWait(client);
        await queryOn(client, 'BEGIN');
        const tx: TransactionClient = {
          query: (sql, params) => queryOn(client, sql, params),
          exec: async (sql) => {
            await withDatabaseErrors(() => stalls.watch(client, () => client.query(sql)));
          },
        };
        const result = await fn(tx);
        await queryOn(client, 'COMMIT');
        return result;
      } catch (err) {
        try {
          if (lost) throw lost;
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          // A connection that cannot roll back must not go back into the pool.
          broken = rollbackErr as Error;
        }
        throw err;
      } finally {
        scope?.clients.delete(client);
        client.off('error', onError);
        client.release(broken ?? lost ?? closedForCancel(scope));
      }
    },
    async withLock(key, fn) {
      // Its own connection, outside the pool: fn's statements never wait behind it, and a pool of
      // any size cannot be starved by it. The lock ends with the connection if the process dies.
      const client = new pg.Client(settings);
      // Losing this connection releases the lock while fn may still run: worth a line in the log.
      client.on('error', (error: Error) =>
        log.warn('the connection holding an advisory lock failed; the lock is released', {}, error),
      );
      await withDatabaseErrors(() => client.connect());
      stalls.adopt(client);
      try {
        await queryOn(client, `SET lock_timeout = '${LOCK_TIMEOUT}'`);
        await queryOn(client, 'SELECT pg_advisory_lock($1::bigint)', [key]);
        try {
          return await fn();
        } finally {
          await queryOn(client, 'SELECT pg_advisory_unlock($1::bigint)', [key]).catch(ignore);
        }
      } finally {
        await client.end().catch(ignore);
      }
    },
    async cancelRunning(scope?: CancelScope) {
      if (scope) scope.cancelling = true;
      const pids = [...(scope ? (scope.clients as Set<pg.PoolClient>) : busy)]
        .map((client) => (client as unknown as { processID: number | null }).processID)
        .filter((pid): pid is number => typeof pid === 'number');
      if (pids.length === 0) return 0;
      // A connection of its own: the pool's may all be the busy ones.
      const admin = new pg.Client(settings);
      admin.on('error', ignore);
      await withDatabaseErrors(() => admin.connect());
      stalls.adopt(admin);
      try {
        const { rows } = await queryOn<{ n: number }>(
          admin,
          'SELECT count(*) FILTER (WHERE pg_cancel_backend(pid))::int AS n FROM unnest($1::int[]) AS pid',
          [pids],
        );
        return Number(rows[0]?.n ?? 0);
      } finally {
        await admin.end().catch(ignore);
      }
    },
    async close() {
      stalls.stop();
      const ended = pool.end();
      // A connection still waiting on a server that stopped answering (a held job claim) kept the
      // pool, and the process, open for as long as the freeze lasted: a stopped worker never exited.
      if (!(await doneWithin(ended, CLOSE_GRACE_MS))) {
        const closed = stalls.closeAll();
        log.warn(`the database did not answer while the pool closed: closed ${closed} connection(s)`);
      }
      await ended;
    },
  };
}
