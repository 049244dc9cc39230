import PgBoss from 'pg-boss';
import { type Database, sqlState } from '../db/index.ts';

/**
 * pg-boss wiring. pg-boss owns its own schema (`pgboss`) and migrates it on start under an advisory
 * lock, so no schema file of ours is needed. It always runs over our Database (its `db` option):
 * one code path for PostgreSQL (our pg pool) and the embedded PGlite, and one pool per process.
 */
export const BOSS_SCHEMA = 'pgboss';

export interface BossTuning {
  /** Seconds between pg-boss maintenance runs; maintenance is what reclaims expired leases. */
  readonly maintenanceIntervalSeconds: number;
  /** Run maintenance and cron in this process (workers); clients only enqueue and read. */
  readonly supervise: boolean;
  readonly schedule: boolean;
}

const MULTIPLE_COMMANDS = /multiple commands/i;

/**
 * pg-boss's executeSql over our Database. Parameterless SQL may be a multi-statement script
 * (pg-boss's `BEGIN; SET LOCAL ...; COMMIT` maintenance and schema scripts): PGlite's `query`
 * path is a prepared statement and rejects those, so scripts go through `exec` on both drivers.
 * Scripts return no rows, which is fine: pg-boss reads rows only from single-statement queries.
 */
export function bossDbAdapter(db: Database): PgBoss.Db {
  const runScript = async (text: string) => {
    await db.exec(text);
    return { rows: [] };
  };
  return {
    async executeSql(text: string, values?: unknown[]) {
      if (values !== undefined && values.length > 0) {
        const res = await db.query(text, values);
        return { rows: res.rows };
      }
      // Every pg-boss script is wrapped in BEGIN ... COMMIT (plans.locked); `query` would hand back
      // one result per statement on pg and refuse the script on PGlite.
      if (/^\s*BEGIN\b/i.test(text)) return runScript(text);
      try {
        const res = await db.query(text);
        return { rows: res.rows };
      } catch (err) {
        // A script that does not start with BEGIN (future pg-boss plans): retry it as a script.
        if (db.kind === 'pglite' && sqlState(err) === '42601' && MULTIPLE_COMMANDS.test(String(err))) {
          return runScript(text);
        }
        throw err;
      }
    },
  };
}

export function createBoss(db: Database, tuning: BossTuning): PgBoss {
  return new PgBoss({
    db: bossDbAdapter(db),
    schema: BOSS_SCHEMA,
    supervise: tuning.supervise,
    schedule: tuning.schedule,
    migrate: true,
    maintenanceIntervalSeconds: tuning.maintenanceIntervalSeconds,
    // Cron ticks are checked every 30 s by default; 10 s keeps a "* * * * *" schedule punctual.
    cronMonitorIntervalSeconds: 10,
    cronWorkerIntervalSeconds: 2,
  });
}
