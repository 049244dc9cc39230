/**
 * The product's error vocabulary: every stable code it raises, the kinds they fall into, and how a
 * kind becomes a CLI exit code and an HTTP status. Callers branch on codes, never on messages.
 */

/** Every code an SdopsError (or the API's error body, or the CLI's error line) can carry. */
export type ErrorCode =
  // Caller input, any surface
  | 'invalid_argument'
  | 'invalid_batch_size'
  | 'invalid_body'
  | 'invalid_config'
  | 'invalid_filter'
  | 'invalid_fraction'
  | 'invalid_id'
  | 'invalid_idempotency_key'
  | 'invalid_job_id'
  | 'invalid_limit'
  | 'invalid_max_rows'
  | 'invalid_migration_param'
  | 'invalid_older_than_days'
  | 'invalid_op_id'
  | 'invalid_params'
  | 'invalid_payload'
  | 'invalid_query'
  | 'invalid_rows'
  | 'invalid_run_id'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_usage'
  | 'unknown_entity'
  | 'unknown_job_type'
  | 'unknown_migration'
  // HTTP request shape and access
  | 'unauthorized'
  | 'forbidden'
  | 'route_not_found'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'uri_too_long'
  | 'headers_too_large'
  | 'malformed_request'
  | 'request_timeout'
  | 'expectation_failed'
  // Missing things
  | 'not_found'
  | 'job_not_found'
  | 'run_not_found'
  | 'data_dir_not_found'
  // State conflicts
  | 'conflict'
  | 'constraint_violation'
  | 'row_locked'
  | 'idempotency_key_reused'
  | 'data_dir_locked'
  | 'port_in_use'
  | 'delete_in_progress'
  | 'delete_undone'
  | 'job_not_cancellable'
  | 'job_not_retryable'
  | 'job_without_envelope'
  | 'legacy_queue_in_use'
  | 'lease_lost'
  | 'run_locked'
  | 'run_row_held'
  | 'run_overlap'
  | 'run_state_conflict'
  | 'run_other_release'
  | 'stop_timeout'
  // `sdops migrate` ended without success: run_<state it ended in>
  | 'run_failed'
  | 'run_partially_failed'
  | 'run_running'
  | 'run_stopped'
  | 'run_stopping'
  | 'run_succeeded'
  // A CLI delete, restore, purge or archive stopped by Ctrl-C/SIGTERM
  | 'operation_stopped'
  // A CLI command ended by Ctrl-C/SIGTERM while it waited for the database at start (exit 130/143)
  | 'interrupted'
  // A CLI command whose stdout failed (a full disk, /dev/full): exit 1, what it did stays
  | 'output_not_written'
  // Not now: retry later
  | 'database_unavailable'
  | 'database_outage'
  | 'job_timeout'
  | 'job_claim_lost'
  | 'not_ready'
  | 'pint_unavailable'
  | 'stopped_during_outage'
  | 'unavailable'
  | 'worker_shutdown'
  // Internal: a bug, a damaged installation or a test fault
  | 'checkpoint_mismatch'
  | 'checkpoint_moved'
  | 'demo_seed_empty'
  | 'failed'
  | 'injected_fault'
  | 'internal_error'
  | 'queue_schema_conflict'
  | 'schema_checksum_mismatch'
  | 'schema_empty'
  | 'schema_mismatch';

/**
 * What each code means, one line each. A Record over ErrorCode, so tsc refuses a code without a
 * meaning; ERROR_CODES, the OpenAPI document and docs/errors.md are built or checked from it.
 */
export const ERROR_CODE_MEANINGS: Readonly<Record<ErrorCode, string>> = {
  invalid_argument: 'an option or argument has a value outside its allowed range or form',
  invalid_batch_size: 'batch size is not an integer from 1 to the maximum',
  invalid_body:
    'the request body is not valid JSON of the documented shape (a key given twice in one object included)',
  invalid_config:
    'an environment setting is malformed (in `DATABASE_URL` also an unknown `sslmode` or `ssl`, or an SSL file it names that cannot be read), or the database refused what `DATABASE_URL` names (no such database or role, a wrong or missing password, a role without the privileges sdops needs, SSL asked of a server without it, a setting passed in `options`, a value the server cannot take at all: SQLSTATE 08P01, e.g. a control character in the database name or `replication=database`), or the session it opens cannot hold the changes sdops makes (read-only: a standby, or `default_transaction_read_only`; a `search_path` naming no schema that exists)',
  invalid_filter: 'a filter names an unknown column or has a value of the wrong type',
  invalid_fraction: 'the seed legacy-deleted fraction is not between 0 and 1',
  invalid_id: 'a row id is not a positive 64-bit integer',
  invalid_idempotency_key:
    'an Idempotency-Key header is empty, longer than 255 characters, or not visible ASCII',
  invalid_job_id: 'a job id is not a UUID',
  invalid_limit: 'a list limit is out of range',
  invalid_max_rows: 'maxRows is not a positive integer',
  invalid_migration_param: 'a migration parameter is missing or malformed',
  invalid_older_than_days: 'olderThanDays is not a non-negative number',
  invalid_op_id:
    "an operation id given to the soft-delete core's API is not a UUID (the CLI, the HTTP API and job payloads refuse one before, as invalid_filter or invalid_payload)",
  invalid_params: 'a path parameter or the URL is malformed',
  invalid_payload: 'a job payload does not match its job type',
  invalid_query:
    'a query-string parameter is unknown, repeated or malformed (a bad value of one with a code of its own, such as `limit` or `scope`, gets that code)',
  invalid_rows: 'the seed row count is out of range',
  invalid_run_id: 'a migration run id is not a UUID',
  invalid_scope: 'scope is not live, deleted or all',
  invalid_target: 'the target is not exactly one of an id, a list of ids or a filter',
  invalid_usage: 'the command line is malformed (unknown option, missing argument)',
  unknown_entity: 'no entity of that name is registered',
  unknown_job_type: 'no cleanup job type of that name exists',
  unknown_migration: 'no migration of that name exists',
  unauthorized: 'the bearer token is missing or unknown',
  forbidden:
    "the token's role may not call this route; without tokens, the request did not come from loopback",
  route_not_found: 'no route has that method and path',
  payload_too_large: 'the request body is larger than the limit',
  unsupported_media_type:
    'the request body is not application/json in UTF-8 (another charset, or compressed: a `Content-Encoding`, or a transfer coding before `chunked` in `Transfer-Encoding`)',
  uri_too_long: 'a path parameter is too long',
  headers_too_large: 'the request line or headers are larger than the server accepts (about 16 KB)',
  malformed_request:
    'the request is not valid HTTP/1.1 (request line, headers or framing: a `Transfer-Encoding` that does not end in `chunked` is answered so and the connection closed), or has two Authorization headers',
  request_timeout: 'the request was not received in full within the server timeout',
  expectation_failed:
    'the request has an Expect header other than 100-continue, which the server cannot meet',
  not_found: 'the row does not exist (or is not in the requested scope)',
  job_not_found:
    'the job does not exist (pg-boss deletes a job 7 days after it ended, and a dead-letter copy once it is retried)',
  run_not_found: 'the migration run does not exist',
  data_dir_not_found:
    '`sdops db status` was pointed at an embedded database directory that does not exist or holds no database yet; a status creates none (every other command creates it)',
  conflict: 'restoring the row would break a unique constraint held by a live row',
  constraint_violation:
    "a data rule of the database refused the change (SQLSTATE class 23: a check, a foreign key, or a trigger raising with such an ERRCODE, e.g. `check_violation`); the message names its constraint, or its SQLSTATE (the CLI also quotes a trigger's message). A trigger's plain `RAISE EXCEPTION` (P0001) is no data rule to sdops: the API answers 500 (runbook: ApiServerErrorRatioHigh)",
  row_locked:
    'another database session held a lock the request needs (on a row it writes, or on its table, also for a read) past the lock timeout (5 s for an API request), and its transaction was rolled back; try again, or find the session holding it (runbook: ApiServerErrorRatioHigh, the head-blocker query)',
  idempotency_key_reused:
    'a bulk request repeats an Idempotency-Key that an earlier request of the same route and entity used with another body: the key names that request and its job',
  data_dir_locked: 'another process holds the embedded database directory',
  port_in_use:
    '`sdops serve`: another process listens on the port (exit 1, not bad input: it may be a process still stopping; a supervisor retries)',
  delete_in_progress:
    'the delete a restore would take back (by its `delete_op_id`, or rows it deleted, by id), or a bulk delete that selects rows the restore brings back (by ids or by filter, as the rows stand now, or their parents when it cascades), has not finished: its `bulk_soft_delete` job still waits or runs; restore once it has ended, or cancel it first (the job would delete again, or go on deleting, what a restore brings back now); also when more than 100 such jobs reach the entity, too many to check',
  delete_undone:
    'a failed `bulk_soft_delete` job is not run again: rows it deleted before it failed carry its op id no more (restored by an undo, in whole or in part, or purged or archived since), and a retry would delete the restored ones again; cancel it, or enqueue a new delete',
  job_not_cancellable: 'the job is running or finished and cannot be cancelled',
  job_not_retryable:
    'only failed or dead jobs can be retried; `sdops queue retry --dead` says it too (exit 1) when some dead jobs cannot run again and stay dead, each skipped with its reason',
  job_without_envelope:
    'a dead job carries no sdops job envelope (it was written to pgboss.job directly), so it cannot run again; cancel it',
  legacy_queue_in_use:
    'the pg-boss 10 queue of an earlier release was used within the last minute: processes of that release still run on this database; stop every one of them (serve, worker, migrate, scheduled commands), then start again (runbook: Upgrading from pg-boss 10)',
  lease_lost: "another runner took over the migration run's lease",
  run_locked: 'another live runner holds the migration run',
  run_row_held:
    "another session's open transaction holds the migration run (or the lock that starts one) past the 5 s lock timeout; try again",
  run_overlap: 'another run of the same migration works on the same entities',
  run_state_conflict: "the run's state does not allow the operation",
  run_other_release:
    'the run was started by a release with another version of its migration (or one this release does not have)',
  stop_timeout: 'the run was still stopping when `stop --wait` gave up',
  run_failed: 'the migration run ended failed',
  run_partially_failed: 'the migration run ended with failed batches (retry them with retry-failed)',
  run_running:
    'the migration run stopped working but could not record its end (the database was unreachable)',
  run_stopped:
    'the migration run stopped before it finished (a signal, a second one aborting it at once, or `sdops migrate stop`; or a `retry-failed` that left failed batches in a run whose scan was not complete): resume it (after retry-failed once the cause is fixed, in the latter case)',
  run_stopping: 'the migration run was stopping and its end could not be recorded',
  run_succeeded: 'the migration run finished but its end could not be recorded',
  operation_stopped:
    'a delete, restore, purge or archive was stopped by a signal after its batch in flight; the batches committed stay: run it again to finish',
  interrupted:
    'a CLI command was ended by Ctrl-C/SIGTERM while it waited for the database at start: it did nothing',
  output_not_written:
    "a CLI command's output could not be written (a full disk behind stdout): whatever the command changed stays done",
  database_unavailable: 'the database cannot be reached right now',
  database_outage: 'the database stayed unreachable longer than the outage budget',
  job_timeout: 'the job did not finish within its lease',
  job_claim_lost:
    "the job's heartbeat was not seen in time (its worker was killed, or cut off from the database), so it was failed and runs again, spending a retry; this attempt stopped",
  not_ready: 'the service is up but not ready (schema pending, or the readiness check failed)',
  pint_unavailable: 'the pint rule checker could not be installed or run (tooling)',
  stopped_during_outage: 'the runner was stopped while waiting out a database outage',
  unavailable: 'the service is temporarily unavailable; retry shortly',
  worker_shutdown:
    'the worker shut down before the job finished; it goes back to the queue without spending a retry',
  checkpoint_mismatch: "a run's checkpoint names an entity that is not part of the run",
  checkpoint_moved:
    "a run's stored checkpoint is not where the session's batch started (the database lost a confirmed commit); resume the run",
  demo_seed_empty: 'the demo seed produced no data to act on',
  failed: 'the command failed with an unexpected error',
  injected_fault: 'a test-only injected failure (SDOPS_MIGRATION_FAIL_BATCH)',
  internal_error: 'an unexpected server error (details are in the server log, not the response)',
  queue_schema_conflict: 'both the current and the legacy pg-boss schema exist',
  schema_checksum_mismatch: 'an applied schema file was changed after it was applied',
  schema_empty: 'no schema versions are recorded',
  schema_mismatch: 'a table the code expects is missing',
};

export const ERROR_CODES = Object.keys(ERROR_CODE_MEANINGS) as readonly ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODE_MEANINGS, value);
}

/** How an error is handled: the CLI exit code and the HTTP status follow from it (below). */
export const ERROR_KINDS = ['invalid_input', 'not_found', 'conflict', 'unavailable', 'internal'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;

/** The documented CLI exit codes: 2 for bad input (nothing was changed), 1 for every other failure. */
export function exitCodeForKind(kind: ErrorKind): number {
  return kind === 'invalid_input' ? EXIT_BAD_INPUT : EXIT_FAILURE;
}

const KIND_STATUS: Readonly<Record<ErrorKind, number>> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
  internal: 500,
};

/**
 * Codes whose HTTP status differs from their kind's: a name in the path that names nothing, and the
 * refusals of the HTTP layer itself (docs/errors.md), all of them bad input for their kind.
 */
const CODE_STATUS: Readonly<Partial<Record<ErrorCode, number>>> = {
  unknown_entity: 404,
  unknown_migration: 404,
  unauthorized: 401,
  forbidden: 403,
  request_timeout: 408,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  expectation_failed: 417,
  headers_too_large: 431,
};

export function httpStatusFor(error: { readonly code: ErrorCode; readonly kind: ErrorKind }): number {
  return CODE_STATUS[error.code] ?? KIND_STATUS[error.kind];
}

/**
 * Base class of every error this product raises on purpose. `code` is stable and machine-readable:
 * the CLI maps `kind` to its exit code, the API maps it to an HTTP status (both above).
 */
export class SdopsError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;

  constructor(code: ErrorCode, message: string, kind: ErrorKind = 'internal', options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.kind = kind;
    this.name = new.target.name;
  }
}

/** Bad input from a caller: nothing was changed. CLI exit code 2, HTTP 400. */
export class InvalidInputError extends SdopsError {
  constructor(code: ErrorCode, message: string) {
    super(code, message, 'invalid_input');
  }
}

export class NotFoundError extends SdopsError {
  constructor(code: ErrorCode, message: string) {
    super(code, message, 'not_found');
  }
}

export class ConflictError extends SdopsError {
  constructor(code: ErrorCode, message: string) {
    super(code, message, 'conflict');
  }
}

export class ConfigError extends SdopsError {
  constructor(message: string) {
    super('invalid_config', message, 'invalid_input');
  }
}

/** What was thrown, as an Error: code may throw anything, and spans and job outputs want an Error. */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/** The message of whatever was thrown, for a line that says why. */
export function errorMessage(thrown: unknown): string {
  return toError(thrown).message;
}
