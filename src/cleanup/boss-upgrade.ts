import type { PgBoss } from 'pg-boss';
import { type Database, utcTextSql } from '../db/index.ts';
import { SdopsError } from '../errors.ts';
import type { Logger } from '../observability/index.ts';
import { BOSS_SCHEMA } from './boss.ts';

/**
 * Carrying a database over from pg-boss 10. pg-boss 11 rewrote the queue schema and ships no
 * migration from pg-boss 10's (schema version 24): pg-boss 12 refuses to start on it. So a `pgboss`
 * schema still at version 24 is renamed to `pgboss_v10` before pg-boss starts (which then installs a
 * fresh `pgboss`), and afterwards the jobs that still matter are copied over with their ids: waiting,
 * retrying and active ones (an active job's worker was the old version, so it runs again; handlers
 * are idempotent) and the dead-letter copies, so `sdops queue retry --dead` still finds them.
 * Completed and failed history stays readable in `pgboss_v10` until the operator drops it (runbook).
 * The copy is idempotent (pg-boss inserts ON CONFLICT DO NOTHING by id): a process that dies half
 * way leaves the schema unmarked, and the next start copies again.
 */
const LEGACY_BOSS_SCHEMA = `${BOSS_SCHEMA}_v10`;

/** pg-boss 11's first schema version; anything older is pg-boss 10's. */
const FIRST_SUPPORTED_VERSION = 25;
const CARRIED_MARK = 'sdops: pending jobs carried over to pgboss';
/**
 * A pg-boss 10 queue used more recently than this still has processes of the old release on it: its
 * workers stamp `cron_on` every 10 s and `maintained_on` every 30 s, and every enqueue, fetch and
 * completion stamps a job. Renaming the schema under them breaks them without a word: an old API
 * answers 500 after committing a delete whose cascade it could no longer enqueue (the cascade is
 * lost), an old worker stops fetching and logs nothing.
 */
export const LEGACY_QUIET_SECONDS = 60;
const CHUNK = 1000;

async function legacyVersion(db: Database): Promise<number | undefined> {
  const { rows } = await db.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [
    `${BOSS_SCHEMA}.version`,
  ]);
  if (!rows[0]?.t) return undefined;
  const version = await db.query<{ version: number }>(
    `SELECT max(version) AS version FROM ${BOSS_SCHEMA}.version`,
  );
  return Number(version.rows[0]?.version ?? 0);
}

/** Seconds since the pg-boss 10 queue was last used (stamped by a process), or null if never. */
async function legacyQueueIdleSeconds(db: Database): Promise<number | null> {
  const { rows } = await db.query<{ idle: number | null }>(
    `SELECT extract(epoch FROM now() - greatest(
              (SELECT max(greatest(maintained_on, cron_on, monitored_on)) FROM ${BOSS_SCHEMA}.version),
              (SELECT max(greatest(created_on, started_on, completed_on)) FROM ${BOSS_SCHEMA}.job)
            ))::float8 AS idle`,
  );
  const idle = rows[0]?.idle;
  return idle === null || idle === undefined ? null : Number(idle);
}

async function refuseWhileLegacyQueueInUse(db: Database): Promise<void> {
  // The embedded database's directory lock proves no process of the old release runs on it.
  if (db.kind === 'pglite') return;
  const idle = await legacyQueueIdleSeconds(db);
  if (idle === null || idle >= LEGACY_QUIET_SECONDS) return;
  throw new SdopsError(
    'legacy_queue_in_use',
    `the pg-boss 10 queue (schema ${BOSS_SCHEMA}) was used ${Math.max(0, Math.round(idle))} s ago: ` +
      'processes of the earlier release still run on this database, and moving their queue aside would ' +
      'break them (an old API would lose the cascades of the deletes it answers). Stop every one of them ' +
      '(serve, worker, migrate, scheduled commands), wait a minute, then start again ' +
      '(see the runbook, "Upgrading from pg-boss 10")',
    'conflict',
  );
}

/** Before pg-boss starts: moves a pg-boss 10 schema out of the way. Returns true when it did. */
export async function setAsideLegacySchema(db: Database, log: Logger): Promise<boolean> {
  const version = await legacyVersion(db);
  if (version === undefined || version >= FIRST_SUPPORTED_VERSION) return false;
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1`,
    [LEGACY_BOSS_SCHEMA],
  );
  if (Number(rows[0]?.n) > 0) {
    throw new SdopsError(
      'queue_schema_conflict',
      `schema ${BOSS_SCHEMA} is pg-boss schema version ${version} and ${LEGACY_BOSS_SCHEMA} exists already; ` +
        `drop one of them (see the runbook, "Upgrading from pg-boss 10")`,
      'internal',
    );
  }
  await refuseWhileLegacyQueueInUse(db);
  await db.exec(`ALTER SCHEMA ${BOSS_SCHEMA} RENAME TO ${LEGACY_BOSS_SCHEMA}`);
  log.warn('pg-boss 10 queue schema set aside; pg-boss installs a new one', {
    schema: LEGACY_BOSS_SCHEMA,
    version,
  });
  return true;
}

interface LegacyJob extends Record<string, unknown> {
  id: string;
  name: string;
  data: object | null;
  start_after: string;
}

/**
 * After pg-boss started and our queues exist: copies the unfinished jobs of `queues` from
 * `pgboss_v10` into pg-boss 12 and marks the old schema as carried over. Returns how many were copied.
 */
export async function carryOverLegacyJobs(
  db: Database,
  boss: PgBoss,
  queues: readonly string[],
  log: Logger,
): Promise<number> {
  const { rows: marks } = await db.query<{ mark: string | null }>(
    `SELECT obj_description(oid, 'pg_namespace') AS mark FROM pg_namespace WHERE nspname = $1`,
    [LEGACY_BOSS_SCHEMA],
  );
  if (marks.length === 0 || marks[0]?.mark === CARRIED_MARK) return 0;
  const { rows } = await db.query<LegacyJob>(
    `SELECT id::text AS id, name, data, ${utcTextSql('start_after')} AS start_after
       FROM ${LEGACY_BOSS_SCHEMA}.job WHERE state < 'completed' ORDER BY created_on`,
  );
  const byQueue = new Map<string, LegacyJob[]>();
  let skipped = 0;
  for (const row of rows) {
    if (!queues.includes(row.name)) skipped += 1;
    else byQueue.set(row.name, [...(byQueue.get(row.name) ?? []), row]);
  }
  let copied = 0;
  for (const [name, jobs] of byQueue) {
    for (let i = 0; i < jobs.length; i += CHUNK) {
      const chunk = jobs.slice(i, i + CHUNK);
      await boss.insert(
        name,
        chunk.map((j) => ({ id: j.id, data: j.data ?? {}, startAfter: j.start_after })),
      );
      copied += chunk.length;
    }
  }
  await db.exec(`COMMENT ON SCHEMA ${LEGACY_BOSS_SCHEMA} IS '${CARRIED_MARK}'`);
  log.warn('pg-boss 10 jobs carried over', { schema: LEGACY_BOSS_SCHEMA, count: copied, skipped });
  return copied;
}
