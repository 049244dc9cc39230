export { ADVISORY_LOCK_KEYS } from './advisory-locks.ts';
export { CancelScope, outsideCancelScope, withCancelScope } from './cancel-scope.ts';
export type { Database, Queryable, TransactionClient } from './database.ts';
export { checkDatabaseUrl, databaseAddress } from './database-url.ts';
export { ident, sqlState, utcTextSql, violatedConstraint } from './database.ts';
export {
  allConnectionsBusy,
  DatabaseOutageError,
  databaseError,
  isDatabaseUnavailable,
  refusedByDatabase,
  refusedConnection,
} from './errors.ts';
export { nextKeysetBatch } from './keyset.ts';
export { readBackOnRetry } from './lost-answer.ts';
export { withLockWaitLimit, withoutLockWaitLimit } from './lock-wait.ts';
export { noDatabaseYet } from './pglite-creation.ts';
export { databaseIdentity } from './identity.ts';
export { commandOutageGuard, guardedDatabase, OutageGuard } from './outage-guard.ts';
export { openDatabase } from './traced.ts';
export { migrateSchema, SchemaChecksumError, schemaStatus } from './schema.ts';
export { holdThroughStall } from './stall-watch.ts';
