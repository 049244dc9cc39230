import { ConfigError, errorMessage, SdopsError } from '../errors.ts';
import { sqlState, violatedConstraint } from './database.ts';

/**
 * The database cannot be reached right now: it is restarting, stopped, or the network is gone. Kind
 * `unavailable` (HTTP 503, CLI exit 1): the same request may well succeed a few seconds later, and
 * services that can wait (the worker, a migration run) retry it instead of failing the work.
 */
class DatabaseUnavailableError extends SdopsError {
  constructor(cause: unknown) {
    const said = describe(cause);
    // pg-boss re-emits ours as a plain object with its queue appended: said once is enough.
    const message = said.startsWith(UNAVAILABLE_PREFIX) ? said : `${UNAVAILABLE_PREFIX}${said})`;
    super('database_unavailable', message, 'unavailable', { cause });
  }
}

const UNAVAILABLE_PREFIX = 'the database is unavailable (';

/**
 * The database stayed unreachable for longer than the waiting work's outage budget (OutageGuard's
 * `exhausted`); `consequence` tells what became of the work, after the one shared sentence.
 */
export class DatabaseOutageError extends SdopsError {
  constructor(budgetMs: number, cause: unknown, consequence = '') {
    const seconds = Math.round(budgetMs / 1000);
    // A full disk is no unreachable database: the line sent the operator after the network.
    const what = isResourceShortage(cause)
      ? `the database could not do the work for more than ${seconds} s (${describe(driverError(cause))})`
      : `the database was unreachable for more than ${seconds} s`;
    super('database_outage', `${what}${consequence}`, 'unavailable', { cause });
  }
}

/** Socket-level failures of the driver (Node's errno codes). */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs that mean "not now" rather than "not this": class 08 (connection exception; but see
 * refusedStartup), 57P01-03
 * (the server is shutting down, crashed or still starting), 53000-53300 (insufficient resources:
 * a full disk, out of memory, too many connections). A full disk made a migration start over the API
 * a 500 internal_error with the cause in the server log only; it is a 503 with the cause, and the
 * long jobs wait it out as they wait out an outage.
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53[0-3]00)$/;

/**
 * PostgreSQL's own refusals of the start-up packet DATABASE_URL makes (SQLSTATE 08P01: a NUL in the
 * database name, `replication=database`): waiting never changes them. Only these messages: PgBouncer
 * says a server is down or its pool is full with 08P01 too, and those are outages.
 */
const STARTUP_REFUSED = /invalid startup packet|not supported in a replication connection/;

function refusedStartup(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return sqlState(error) === '08P01' && typeof message === 'string' && STARTUP_REFUSED.test(message);
}

/**
 * A full disk, memory or connection slots short (SQLSTATE class 53), also inside our unavailable
 * error: the database answers, and statements that need none of what is short still succeed.
 */
export function isResourceShortage(error: unknown): boolean {
  return sqlState(driverError(error))?.startsWith('53') === true;
}

/**
 * How an outage's lines name it, by its first error: a full disk is no unreachable database, and
 * "database unreachable" on one sent the operator after the network (the embedded probe).
 */
export function outageWords(error: unknown): { readonly began: string; readonly ended: string } {
  if (!isResourceShortage(error)) return { began: 'database unreachable', ended: 'database reachable again' };
  const state = sqlState(driverError(error));
  const began =
    state === '53100'
      ? 'database disk full'
      : state === '53200'
        ? 'database out of memory'
        : state === '53300'
          ? 'database out of connection slots'
          : 'database out of resources';
  return { began, ended: 'database works again' };
}

/** The driver's own error inside ours (DatabaseUnavailableError keeps it as its cause), or error itself. */
function driverError(error: unknown): unknown {
  return error instanceof DatabaseUnavailableError ? error.cause : error;
}

/** pg's own messages for a connection that died or never came (they carry no code). */
const DRIVER_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Client was closed/i;

function describe(cause: unknown): string {
  const message = errorMessage(cause);
  // AggregateError (every address of a host refused) has an empty message but a code.
  const code = (cause as { code?: unknown } | null)?.code;
  return message || (typeof code === 'string' ? code : 'connection failed');
}

/** Marks the pool's "all N connections stayed busy" error (postgres.ts) among unavailable ones. */
export const ALL_CONNECTIONS_BUSY = Symbol('all connections busy');

/**
 * True when an unavailable-database error was this process's own connections all being busy: the
 * database answers (another request, or the same one later, gets through), so it is no outage.
 */
export function allConnectionsBusy(error: unknown): boolean {
  const cause = driverError(error);
  return typeof cause === 'object' && cause !== null && ALL_CONNECTIONS_BUSY in cause;
}

/** True for an error that says the database is unreachable (ours, or the driver's own). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  if (error instanceof SdopsError || typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  // Also ours copied into a plain object (pg-boss re-emits some errors as `{ ...error, message }`).
  if (code === 'database_unavailable') return true;
  if (refusedStartup(error)) return false;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && DRIVER_MESSAGES.test(message);
}

/** The driver's error as callers should see it: connection failures become DatabaseUnavailableError. */
export function databaseError(error: unknown): unknown {
  if (!isDatabaseUnavailable(error) || error instanceof DatabaseUnavailableError) return error;
  return new DatabaseUnavailableError(error);
}

/** Runs a driver call and rethrows its failure as the caller should see it (databaseError). */
export async function withDatabaseErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw databaseError(error);
  }
}

/**
 * A data rule of the database (SQLSTATE class 23: a check, a trigger, a foreign key, usually another
 * team's) refused the change: the row's state, not a fault of the program. Named, not quoted: the
 * driver's detail can hold row values. Undefined for any other error.
 */
function refusedByDataRule(error: unknown, options: { withMessage?: boolean } = {}): SdopsError | undefined {
  if (error instanceof SdopsError) return undefined;
  const state = sqlState(error);
  if (!state?.startsWith('23')) return undefined;
  const rule = violatedConstraint(error);
  // A trigger's refusal has no constraint name: only its own message says which rule it is. The
  // CLI's operator gets it; an API caller does not (it may quote row values).
  const said = options.withMessage && !rule && error instanceof Error ? ` (${error.message})` : '';
  return new SdopsError(
    'constraint_violation',
    `the database refused the change: ${rule ? `constraint "${rule}"` : `SQLSTATE ${state}${said}`}`,
    'conflict',
    { cause: error },
  );
}

/**
 * A statement gave up waiting for a lock another session held (SQLSTATE 55P03, lock_timeout: an API
 * request's, or one a DBA set): the row's holder, not a fault of the program. Its transaction rolled
 * back. Undefined for any other error.
 */
function refusedByLockWait(error: unknown): SdopsError | undefined {
  if (error instanceof SdopsError || sqlState(error) !== '55P03') return undefined;
  return new SdopsError(
    'row_locked',
    'another database session held a lock this request needs (on a row it writes, or on its table) ' +
      'past the lock timeout, and its transaction was rolled back; try again',
    'conflict',
    { cause: error },
  );
}

/**
 * The database refused the change for the state of its rows (a data rule, or a lock another session
 * held too long), named with the code every surface gives it; undefined for any other error.
 */
export function refusedByDatabase(
  error: unknown,
  options: { withMessage?: boolean } = {},
): SdopsError | undefined {
  return refusedByDataRule(error, options) ?? refusedByLockWait(error);
}

/**
 * SQLSTATEs of a server that answered but refused whom or what DATABASE_URL names (no such database,
 * role or password; a role without the privileges sdops needs).
 */
const REFUSED_CONNECTION = new Set(['3D000', '28000', '28P01', '42501']);
/**
 * A session DATABASE_URL opens that cannot hold sdops's tables or changes: a setting in its options
 * (or the role's or database's own) or a standby server. It failed as an internal error ("failed:").
 */
const SESSION_CANNOT_WRITE: Readonly<Record<string, string>> = {
  '25006':
    'the database session DATABASE_URL opens is read-only (a standby server, or default_transaction_read_only ' +
    "in its options or the role's or database's settings), and sdops writes",
  '3F000':
    "the database session DATABASE_URL opens has no schema to keep sdops's tables in (search_path, in its " +
    "options or the role's or database's settings, names none that exists)",
};

/** The session's search_path names no schema that exists: sdops's tables can be neither found nor made. */
export function noSchemaInSearchPath(): ConfigError {
  return new ConfigError(SESSION_CANNOT_WRITE['3F000'] as string);
}
/** The driver's own refusal when the server asks for a password DATABASE_URL does not give. */
const NO_PASSWORD = /client password must be a string/;
/** The driver's when DATABASE_URL asks for SSL (sslmode, ssl) and the server offers none. */
const NO_SSL = /server does not support SSL connections/;
/** Node's TLS refusals of the server's certificate (untrusted, self-signed, expired, wrong name). */
const CERTIFICATE_REFUSED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
/**
 * A setting DATABASE_URL passes at connect (`options=-c name=value`) the server refused: invalid
 * value (22023) or no such parameter (42704). Only at connect: the message names the parameter.
 */
const REFUSED_SETTING = new Set(['22023', '42704']);
const SETTING_MESSAGE = /parameter "/;

/**
 * The server refused the connection DATABASE_URL describes (no such database, role or password):
 * a configuration error the operator fixes, not an internal failure. pg's message names the database
 * or user, never the password.
 */
export function refusedConnection(error: unknown): SdopsError | undefined {
  if (error instanceof SdopsError || !(error instanceof Error)) return undefined;
  if (NO_PASSWORD.test(error.message)) {
    return new ConfigError('the database asks for a password that DATABASE_URL does not give');
  }
  if (NO_SSL.test(error.message)) {
    return new ConfigError(
      'the database does not support SSL connections, which DATABASE_URL asks for (sslmode, ssl): ' +
        'leave sslmode out or give sslmode=disable (node-postgres never falls back to a plain connection, not even for prefer)',
    );
  }
  // libpq's sslmode=require encrypts without checking the certificate; node-postgres checks it (as
  // verify-full), and a server with a self-signed one failed as an internal error naming no setting.
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CERTIFICATE_REFUSED.has(code)) {
    return new ConfigError(
      `the database's certificate was refused (${error.message}): node-postgres checks it for sslmode ` +
        'require, prefer and verify-ca as for verify-full; give its CA with sslrootcert=<file>, or ' +
        "sslmode=no-verify to encrypt without checking it (uselibpqcompat=true keeps libpq's meaning of sslmode)",
    );
  }
  const state = sqlState(error);
  if (state && REFUSED_SETTING.has(state) && SETTING_MESSAGE.test(error.message)) {
    return new ConfigError(`the database refused a setting DATABASE_URL passes (options): ${error.message}`);
  }
  if (refusedStartup(error)) {
    return new ConfigError(
      `the database refused the connection DATABASE_URL describes (${error.message}): ` +
        'a value in it the server cannot take (a control character in a name, replication=...)',
    );
  }
  const session = state ? SESSION_CANNOT_WRITE[state] : undefined;
  if (session) return new ConfigError(`${session} (${error.message})`);
  if (!state || !REFUSED_CONNECTION.has(state)) return undefined;
  return new ConfigError(`the database refused DATABASE_URL: ${error.message}`);
}
