import { type Db, PgBoss } from 'pg-boss';
import { type Database, holdThroughStall, type Queryable, sqlState } from '../db/index.ts';

/**
 * pg-boss wiring. pg-boss owns its own schema (`pgboss`) and migrates it on start under an advisory
 * lock, so no schema file of ours is needed. It always runs over our Database (its `db` option):
 * one code path for PostgreSQL (our pg pool) and the embedded PGlite, and one pool per process.
 */
export const BOSS_SCHEMA = 'pgboss';

/** A read of pg-boss's tables on a database where no queue was ever set up (no schema, no table). */
export function noQueueYet(error: unknown): boolean {
  const state = sqlState(error);
  return state === '42P01' || state === '3F000';
}

/** How long a dead-letter copy waits for a retry before pg-boss deletes it: 365 days, its maximum. */
export const DEAD_LETTER_RETENTION_SECONDS = 365 * 24 * 3600;

export interface BossTuning {
  /**
   * Seconds between pg-boss supervision passes: each one fails the jobs whose lease expired (so
   * they are retried) and deletes finished jobs past their retention.
   */
  readonly maintenanceIntervalSeconds: number;
  /** Run maintenance and cron in this process (workers); clients only enqueue and read. */
  readonly supervise: boolean;
  readonly schedule: boolean;
}

/**
 * pg-boss's executeSql over our Database. Parameterised SQL is one statement (our `query`);
 * parameterless SQL may be a multi-statement script (pg-boss's `BEGIN; ... RETURNING ...; COMMIT`
 * plans), and pg-boss reads the rows of every statement in it, so it goes through `exec`, which
 * returns them on both drivers.
 */
export function bossDbAdapter(db: Database): Db {
  const run = async (text: string, values?: unknown[]) => {
    if (values !== undefined && values.length > 0) return { rows: (await db.query(text, values)).rows };
    return { rows: await db.exec(text) };
  };
  return {
    executeSql: (text: string, values?: unknown[]) =>
      isClaim(text) ? holdThroughStall(() => run(text, values)) : run(text, values),
  };
}

/**
 * pg-boss's claim (fetchNextJob: `UPDATE ... SET state = 'active', started_on = ...`). Held through
 * a frozen database: closed mid-claim, it committed when the server woke up, and the jobs it took
 * sat `active` with no worker for their whole lease.
 */
const CLAIM = /\bSET\s+state\s*=\s*'active',\s*started_on\s*=/;

export function isClaim(text: string): boolean {
  return CLAIM.test(text);
}

/**
 * pg-boss's executeSql over one connection of a transaction in progress (`send`'s db option): a job
 * inserted through it commits or rolls back with the caller's own writes. pg-boss sends a job insert
 * as one parameterised statement.
 */
export function bossTransactionAdapter(tx: Queryable): Db {
  return {
    async executeSql(text: string, values?: unknown[]) {
      return { rows: (await tx.query(text, values ?? [])).rows };
    },
  };
}

export function createBoss(db: Database, tuning: BossTuning): PgBoss {
  const interval = tuning.maintenanceIntervalSeconds;
  return new PgBoss({
    db: bossDbAdapter(db),
    backend: db.kind === 'pglite' ? 'pglite' : 'postgres',
    schema: BOSS_SCHEMA,
    supervise: tuning.supervise,
    schedule: tuning.schedule,
    migrate: true,
    // Lease expiry runs in the monitor step of a supervision pass, deletion of finished jobs in its
    // maintenance step; each is claimed per queue for its interval, so one setting drives all three.
    superviseIntervalSeconds: interval,
    monitorIntervalSeconds: interval,
    maintenanceIntervalSeconds: interval,
    // Cron ticks are checked every 30 s by default; 10 s keeps a "* * * * *" schedule punctual.
    cronMonitorIntervalSeconds: 10,
    cronWorkerIntervalSeconds: 2,
    // Our own spans and metrics describe every job (docs/telemetry.md); pg-boss's would be a second,
    // uncatalogued set in the same pipeline.
    openTelemetry: { enabled: false },
    // The instance registry is a heartbeat write per process every 30 s that nothing of ours reads.
    registerInstance: false,
    // REINDEX CONCURRENTLY of bloated job indexes is a DBA's call on a shared PostgreSQL, and
    // PGlite (one session) cannot build an index concurrently.
    reindex: false,
  });
}
