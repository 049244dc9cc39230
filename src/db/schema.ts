import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { SdopsError } from '../errors.ts';
import { getLogger } from '../observability/index.ts';
import { ADVISORY_LOCK_KEYS } from './advisory-locks.ts';
import type { Database, TransactionClient } from './database.ts';
import { noSchemaInSearchPath } from './errors.ts';

/**
 * Versioned schema. Each file src/db/schema/NNN_name.sql is immutable once released: its version is
 * the file name without `.sql`, and its sha256 is recorded so an edited file is caught instead of
 * silently diverging from databases that applied the old text.
 */
export const SCHEMA_TABLE = 'sdops_schema_migrations';

const SCHEMA_DIR = new URL('./schema/', import.meta.url);

export interface SchemaFile {
  readonly version: string;
  readonly sql: string;
  readonly checksum: string;
}

export class SchemaChecksumError extends SdopsError {
  constructor(version: string) {
    super(
      'schema_checksum_mismatch',
      `schema version ${version} in the database is not the one this sdops has (its file was changed after it was applied): run the sdops release that applied it; a schema change goes in a new numbered file`,
      'internal',
    );
  }
}

let cachedFiles: Promise<SchemaFile[]> | undefined;

export function schemaFiles(): Promise<SchemaFile[]> {
  cachedFiles ??= (async () => {
    const names = (await readdir(SCHEMA_DIR)).filter((n) => /^\d{3}_[a-z0-9_]+\.sql$/.test(n)).sort();
    return Promise.all(
      names.map(async (name) => {
        const sql = await readFile(new URL(name, SCHEMA_DIR), 'utf8');
        return {
          version: name.slice(0, -'.sql'.length),
          sql,
          checksum: createHash('sha256').update(sql).digest('hex'),
        };
      }),
    );
  })();
  return cachedFiles;
}

const CREATE_TABLE_SQL = `CREATE TABLE IF NOT EXISTS ${SCHEMA_TABLE} (
  version    text PRIMARY KEY,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

async function appliedVersions(q: Pick<TransactionClient, 'query'>): Promise<Map<string, string>> {
  const exists = await q.query<{ t: string | null; s: string | null }>(
    `SELECT to_regclass($1)::text AS t, current_schema() AS s`,
    [SCHEMA_TABLE],
  );
  // Without a schema the table is not missing but out of sight: "current: none" would be a lie.
  if (!exists.rows[0]?.s) throw noSchemaInSearchPath();
  if (!exists.rows[0]?.t) return new Map();
  const res = await q.query<{ version: string; checksum: string }>(
    `SELECT version, checksum FROM ${SCHEMA_TABLE} ORDER BY version`,
  );
  return new Map(res.rows.map((r) => [r.version, r.checksum]));
}

/** Applied versions whose file in this code is not the one that was applied. */
function changedVersions(files: readonly SchemaFile[], applied: ReadonlyMap<string, string>): string[] {
  return files
    .filter((f) => applied.has(f.version) && applied.get(f.version) !== f.checksum)
    .map((f) => f.version);
}

function verify(files: readonly SchemaFile[], applied: Map<string, string>): void {
  const [changed] = changedVersions(files, applied);
  if (changed !== undefined) throw new SchemaChecksumError(changed);
}

function latest(versions: Iterable<string>): string | undefined {
  return [...versions].sort().at(-1);
}

/**
 * Applies pending schema versions, each in one transaction under a fixed advisory lock. The applied
 * set is read again after the lock is taken, so two processes starting together apply each version
 * exactly once: the loser of the race waits, then sees the version as applied and skips it.
 */
export async function migrateSchema(db: Database): Promise<{ applied: string[]; current: string }> {
  const files = await schemaFiles();
  const applied: string[] = [];
  const before = await appliedVersions(db);
  verify(files, before);
  // Up to date: nothing to write, so a read-only session (a standby, default_transaction_read_only)
  // still serves the commands that only read; the CREATE TABLE below refused them all.
  const pending = files.filter((f) => !before.has(f.version));
  for (const file of pending) {
    const didApply = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [ADVISORY_LOCK_KEYS.schema]);
      await tx.exec(CREATE_TABLE_SQL);
      const now = await appliedVersions(tx);
      verify(files, now);
      if (now.has(file.version)) return false;
      await tx.exec(file.sql);
      await tx.query(`INSERT INTO ${SCHEMA_TABLE} (version, checksum) VALUES ($1, $2)`, [
        file.version,
        file.checksum,
      ]);
      return true;
    });
    if (didApply) applied.push(file.version);
  }
  const versions = await appliedVersions(db);
  const current = latest(versions.keys());
  if (current === undefined) throw new SdopsError('schema_empty', 'no schema versions found', 'internal');
  const newer = unknownVersions(files, versions);
  if (newer.length > 0) {
    // Not refused: in a rolling upgrade the old release runs beside the new schema for a while.
    getLogger('db').warn(
      'the database has schema versions this sdops does not know: a newer sdops migrated it',
      {
        versions: newer.join(', '),
      },
    );
  }
  return { applied, current };
}

/** Applied versions no schema file of this code has: a newer release applied them. */
function unknownVersions(
  files: readonly { version: string }[],
  applied: ReadonlyMap<string, unknown>,
): string[] {
  const known = new Set(files.map((f) => f.version));
  return [...applied.keys()].filter((v) => !known.has(v)).sort();
}

/** Applied version (the highest), the versions this code knows that the database lacks, those it does not know, and those applied from another form of their file. */
export async function schemaStatus(
  db: Database,
): Promise<{ current: string | undefined; pending: string[]; unknown: string[]; changed: string[] }> {
  const files = await schemaFiles();
  const applied = await appliedVersions(db);
  return {
    current: latest(applied.keys()),
    pending: files.filter((f) => !applied.has(f.version)).map((f) => f.version),
    unknown: unknownVersions(files, applied),
    changed: changedVersions(files, applied),
  };
}
