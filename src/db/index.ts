export type { Database, Queryable, QueryResult, ScriptRow, TransactionClient } from './database.ts';
export { ident, sqlState, violatedConstraint } from './database.ts';
export { DataDirLockedError } from './dir-lock.ts';
export type { OpenDatabaseOptions } from './driver.ts';
export { DatabaseUnavailableError, isDatabaseUnavailable } from './errors.ts';
export { type DbTarget, describeStatement, openDatabase, traceDatabase } from './traced.ts';
export type { SchemaFile } from './schema.ts';
export {
  migrateSchema,
  SCHEMA_LOCK_KEY,
  SCHEMA_TABLE,
  SchemaChecksumError,
  schemaFiles,
  schemaStatus,
} from './schema.ts';
