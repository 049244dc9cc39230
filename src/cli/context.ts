import { type Config, loadConfig } from '../config.ts';
import { type Database, migrateSchema, openDatabase } from '../db/index.ts';
import { SoftDeleteService } from '../soft-delete/index.ts';

/** Options every command accepts (declared on the root program). */
export interface GlobalOptions {
  memory?: boolean;
  dataDir?: string;
  json?: boolean;
}

export interface CliContext {
  readonly config: Config;
  readonly db: Database;
  readonly softDelete: SoftDeleteService;
  readonly json: boolean;
}

export async function openDatabaseFor(config: Config, globals: GlobalOptions): Promise<Database> {
  if (config.databaseUrl) return openDatabase({ url: config.databaseUrl, poolSize: config.dbPoolSize });
  if (globals.memory) return openDatabase({ memory: true });
  return openDatabase({ dataDir: globals.dataDir ?? config.dataDir });
}

/**
 * Opens the database, applies pending schema versions (every command does, so a fresh data
 * directory just works) and hands the command what it needs; always closes what it opened.
 */
export async function withContext<T>(
  globals: GlobalOptions,
  fn: (ctx: CliContext) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  const db = await openDatabaseFor(config, globals);
  try {
    await migrateSchema(db);
    return await fn({ config, db, softDelete: new SoftDeleteService(db), json: globals.json === true });
  } finally {
    await db.close();
  }
}
