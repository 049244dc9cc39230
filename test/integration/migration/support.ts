import { spawn } from 'node:child_process';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';

export interface MigrationTestDb {
  readonly test: TestDatabase;
  readonly db: Database;
  close(): Promise<void>;
}

export async function openMigrationTestDb(): Promise<MigrationTestDb> {
  const test = await createTestDatabase();
  const db = await openDatabase({ url: test.url, poolSize: 5 });
  await migrateSchema(db);
  return {
    test,
    db,
    async close() {
      await db.close();
      await test.drop();
    },
  };
}

/**
 * documents: `legacy` rows flagged only by is_deleted (the backfill's input), `deleted` rows already
 * soft-deleted the new way, `live` rows. Every row gets a distinct updated_at so a wrong copy shows.
 */
export async function seedDocuments(
  db: Database,
  n: { legacy: number; deleted: number; live: number },
): Promise<void> {
  const total = n.legacy + n.deleted + n.live;
  await db.query(
    `INSERT INTO documents (id, title, body, is_deleted, updated_at, deleted_at, delete_reason)
     SELECT g, 'doc ' || g, 'body ' || g,
            (g % $4::int) < $2::int + $3::int,
            timestamptz '2020-01-01' + g * interval '1 second',
            CASE WHEN (g % $4::int) >= $2::int AND (g % $4::int) < $2::int + $3::int THEN timestamptz '2024-01-01' END,
            CASE WHEN (g % $4::int) >= $2::int AND (g % $4::int) < $2::int + $3::int THEN 'user' END
       FROM generate_series(1, $1::bigint) g`,
    [total, Math.round((n.legacy / total) * 100), Math.round((n.deleted / total) * 100), 100],
  );
}

/** Snapshot of the backfill's input and a trigger logging every row whose deleted_at changes. */
export async function recordBackfillSource(db: Database): Promise<void> {
  await db.exec(`
    CREATE TABLE legacy_source AS SELECT id, updated_at FROM documents WHERE is_deleted AND deleted_at IS NULL;
    CREATE TABLE other_source AS SELECT * FROM documents WHERE NOT (is_deleted AND deleted_at IS NULL);
    CREATE TABLE touches (id bigint NOT NULL);
    CREATE FUNCTION log_touch() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN INSERT INTO touches VALUES (NEW.id); RETURN NEW; END $$;
    CREATE TRIGGER documents_touch AFTER UPDATE OF deleted_at ON documents FOR EACH ROW
      WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at) EXECUTE FUNCTION log_touch();`);
}

export async function scalar(db: Database, sql: string, params: unknown[] = []): Promise<string> {
  const { rows } = await db.query<{ v: unknown }>(sql, params);
  return String(rows[0]?.v);
}

export const tableChecksum = (db: Database, table: string) =>
  scalar(db, `SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY id), '')) AS v FROM ${table} t`);

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliProcess {
  readonly pid: number;
  readonly result: Promise<CliResult>;
  /** What it has written to stderr so far. */
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
}

/** `sdops ...` as a child process against `url`, telemetry off, fast lease settings. */
export function spawnCli(url: string, args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, ['src/cli/main.ts', ...args], {
    cwd: new URL('../../../', import.meta.url),
    env: {
      ...process.env,
      DATABASE_URL: url,
      OTEL_SDK_DISABLED: 'true',
      SDOPS_MIGRATION_HEARTBEAT_MS: '200',
      SDOPS_MIGRATION_LEASE_TIMEOUT_MS: '1500',
      SDOPS_MIGRATION_RETRY_BASE_MS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const result = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { pid: child.pid ?? -1, result, stderr: () => stderr, kill: (s) => child.kill(s) };
}

export function runCli(
  url: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  return spawnCli(url, args, env).result;
}
