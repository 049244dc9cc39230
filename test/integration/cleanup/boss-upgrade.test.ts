import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LEGACY_QUIET_SECONDS } from '../../../src/cleanup/boss-upgrade.ts';
import { CleanupQueue, startCleanupRuntime } from '../../../src/cleanup/index.ts';
import { loadConfig } from '../../../src/config.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import type { SdopsError } from '../../../src/errors.ts';
import { runCli } from '../../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { waitUntil } from '../../support/wait.ts';

const V10_SCHEMA = new URL('./fixtures/pgboss-10.4.2-schema.sql', import.meta.url);

/** A job row as pg-boss 10 stored it: our envelope in `data`. */
function envelope(jobType: string, jobId: string) {
  return { jobType, payload: {}, meta: { jobId, enqueuedAt: new Date().toISOString() } };
}

describe('carrying a database over from pg-boss 10 (schema 24) to pg-boss 12 (PostgreSQL)', function () {
  this.timeout(90_000);
  let tdb: TestDatabase;
  let db: Database;
  const waiting = randomUUID();
  const wasActive = randomUUID();
  const completed = randomUUID();
  const deadOriginal = randomUUID();
  const deadCopy = randomUUID();

  before(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, poolSize: 4 });
    await migrateSchema(db);
    await db.exec(await readFile(V10_SCHEMA, 'utf8'));
    for (const name of ['cleanup.dead_letter', 'cleanup.noop', 'cleanup.purge_expired']) {
      await db.query(`SELECT pgboss.create_queue($1, '{"policy":"standard"}'::json)`, [name]);
    }
    const insert = (id: string, name: string, state: string, data: object) =>
      db.query(`INSERT INTO pgboss.job (id, name, state, data) VALUES ($1, $2, $3::pgboss.job_state, $4)`, [
        id,
        name,
        state,
        data,
      ]);
    await insert(waiting, 'cleanup.noop', 'created', envelope('noop', waiting));
    await insert(wasActive, 'cleanup.noop', 'active', envelope('noop', wasActive));
    await insert(completed, 'cleanup.noop', 'completed', envelope('noop', completed));
    await insert(deadOriginal, 'cleanup.purge_expired', 'failed', envelope('purge_expired', deadOriginal));
    await insert(deadCopy, 'cleanup.dead_letter', 'created', envelope('purge_expired', deadOriginal));
  });
  after(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('refuses while the old release used its queue in the last minute (an enqueue, a worker stamp), and changes nothing', async () => {
    const refusal = async () => {
      try {
        await CleanupQueue.open(db, { role: 'client', policy: loadConfig().worker.policy });
      } catch (error) {
        return error as SdopsError;
      }
      throw new Error('the carry-over went ahead');
    };
    // The jobs above were enqueued just now.
    const fresh = await refusal();
    expect(fresh).to.include({ code: 'legacy_queue_in_use', kind: 'conflict' });
    expect(fresh.message).to.match(/used \d+ s ago: processes of the earlier release still run/);
    // An old worker stamps the version row even with no job moving.
    await db.query(`UPDATE pgboss.job SET created_on = now() - interval '2 minutes'`);
    await db.query(`UPDATE pgboss.version SET cron_on = now() - interval '5 seconds'`);
    expect(await refusal()).to.include({ code: 'legacy_queue_in_use' });
    const { rows } = await db.query<{ v10: number; version: number }>(
      `SELECT (SELECT count(*)::int FROM pg_namespace WHERE nspname = 'pgboss_v10') AS v10,
              (SELECT max(version)::int FROM pgboss.version) AS version`,
    );
    expect(rows[0]).to.deep.equal({ v10: 0, version: 24 });
    // The old processes are gone: quiet for longer than a minute.
    await db.query(
      `UPDATE pgboss.version SET cron_on = now() - interval '${LEGACY_QUIET_SECONDS + 1} seconds'`,
    );
  });

  it('sets the old schema aside, installs pg-boss 12 and copies the waiting, active and dead-letter jobs with their ids', async () => {
    const queue = await CleanupQueue.open(db, { role: 'client', policy: loadConfig().worker.policy });
    await queue.close();
    const version = await db.query<{ v: number }>('SELECT max(version) AS v FROM pgboss.version');
    expect(Number(version.rows[0]?.v)).to.be.at.least(46);
    const { rows } = await db.query<{ id: string; name: string; state: string }>(
      `SELECT id::text AS id, name, state::text AS state FROM pgboss.job ORDER BY name, id`,
    );
    expect(rows.map((r) => [r.id, r.name, r.state]).sort()).to.deep.equal(
      [
        [deadCopy, 'cleanup.dead_letter', 'created'],
        [waiting, 'cleanup.noop', 'created'],
        [wasActive, 'cleanup.noop', 'created'],
      ].sort(),
    );
    // The history stays readable where it was, marked as carried over.
    const old = await db.query<{ n: number; mark: string }>(
      `SELECT (SELECT count(*)::int FROM pgboss_v10.job) AS n,
              obj_description('pgboss_v10'::regnamespace, 'pg_namespace') AS mark`,
    );
    expect(old.rows[0]).to.deep.equal({ n: 5, mark: 'sdops: pending jobs carried over to pgboss' });
  });

  it('copies nothing twice when the next process starts', async () => {
    const queue = await CleanupQueue.open(db, { role: 'client', policy: loadConfig().worker.policy });
    await queue.close();
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job`);
    expect(rows[0]?.n).to.equal(3);
  });

  it('runs the carried-over jobs and retries the carried-over dead job by its original id (the original stayed in pgboss_v10)', async () => {
    const settings = { ...loadConfig({}).worker, pollIntervalMs: 50, queueSampleIntervalMs: 0 };
    const runtime = await startCleanupRuntime(db, { settings, schedule: false });
    try {
      const state = async (id: string) =>
        (await db.query<{ s: string }>(`SELECT state::text AS s FROM pgboss.job WHERE id = $1`, [id])).rows[0]
          ?.s;
      await waitUntil('both noop jobs to complete', async () =>
        (await Promise.all([state(waiting), state(wasActive)])).every((s) => s === 'completed'),
      );
      // The original of the dead copy stayed behind in pgboss_v10, so the retry enqueues its data again,
      // found by the id the old worker's "retries exhausted: dead" line named.
      expect(await runtime.queue.retry(deadOriginal)).to.deep.equal({
        jobId: deadOriginal,
        jobType: 'purge_expired',
        action: 'requeued',
      });
      await waitUntil(
        'the requeued purge to complete',
        async () => (await state(deadOriginal)) === 'completed',
      );
      expect(await state(deadCopy)).to.equal(undefined);
    } finally {
      await runtime.stop();
    }
  });
});

describe('carrying an embedded database directory over from pg-boss 10 (the first command of the new release)', function () {
  this.timeout(120_000);
  let dir: string;
  const active = randomUUID();
  const waiting = randomUUID();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sdops-v10-'));
    // The directory as the pg-boss 10 release left it: a job still active (its process was killed)
    // and one enqueued a moment ago, so the old queue looks just used.
    const db = await openDatabase({ dataDir: dir });
    try {
      await migrateSchema(db);
      await db.exec(await readFile(V10_SCHEMA, 'utf8'));
      await db.query(`SELECT pgboss.create_queue('cleanup.noop', '{"policy":"standard"}'::json)`);
      for (const [id, state] of [
        [active, 'active'],
        [waiting, 'created'],
      ] as const) {
        await db.query(
          `INSERT INTO pgboss.job (id, name, state, data, started_on) VALUES ($1, 'cleanup.noop', $2::pgboss.job_state, $3, now())`,
          [id, state, envelope('noop', id)],
        );
      }
    } finally {
      await db.close();
    }
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('opens it and carries its jobs over at once: its lock proves the old release is gone', async () => {
    // Before: every command failed with `column "expire_seconds" does not exist` (the gone workers'
    // hand-back read the old job table), and the carry-over waited for a minute of quiet.
    const status = await runCli(['--json', 'queue', 'status'], { SDOPS_DATA_DIR: dir });
    expect(status.code, status.stderr).to.equal(0);
    const rows = JSON.parse(status.stdout) as { jobType: string; waiting: number }[];
    const noop = rows.find((t) => t.jobType === 'noop');
    // The active job runs again from the start, as any job of the old release's worker does.
    expect(noop?.waiting).to.equal(2);
  });
});
