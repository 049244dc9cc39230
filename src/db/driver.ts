import type { Database } from './database.ts';
import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';

export interface OpenDatabaseOptions {
  /** postgres:// URL: a pg Pool. Otherwise the embedded PGlite. */
  url?: string;
  /** PGlite data directory (created if missing; locked against other processes while open). */
  dataDir?: string;
  /** PGlite in memory; wins over dataDir. */
  memory?: boolean;
  poolSize?: number;
}

/**
 * Picks the driver behind the one Database interface, untraced (traced.ts wraps it). Its own module,
 * not database.ts, which the drivers implement, so the drivers and the interface do not import each other.
 */
export async function openDriver(opts: OpenDatabaseOptions): Promise<Database> {
  if (opts.url) return openPostgres(opts.url, opts.poolSize ?? 10);
  return openPglite(opts.memory ? undefined : opts.dataDir);
}
