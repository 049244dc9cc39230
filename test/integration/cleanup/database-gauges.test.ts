import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { BUILTIN_JOB_TYPES, type CleanupQueue, readQueueTruth } from '../../../src/cleanup/index.ts';
import { DEAD_LETTER_QUEUE } from '../../../src/cleanup/queue-names.ts';
import { type Database, databaseIdentity } from '../../../src/db/index.ts';
import { lastFailedRunEnds, staleRunAges } from '../../../src/migration/index.ts';
import { REPO_ROOT, SDOPS_BIN } from '../../support/cli.ts';
import type { TestDatabase } from '../../support/postgres.ts';
import { OtlpListener } from '../../support/otlp-listener.ts';
import { within } from './processes.ts';
import { openQueueTestDb, type QueueTestDb } from './support.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * The database's own gauges: the two statements that read the queue and migration tables, and
 * `sdops serve` processes reporting them under the database's identity (not their own), so several
 * processes, or one that restarts, write one series.
 */

/** A job type with nothing in the queue. */
const NOTHING = { waiting: 0, oldestWaitSeconds: 0, active: 0, oldestActiveSeconds: 0, dead: 0 };

describe('the database gauges (queue length, oldest wait and dead jobs, stale migration runs)', function () {
  this.timeout(90_000);
  let t: QueueTestDb;
  let tdb: TestDatabase;
  let db: Database;
  let queue: CleanupQueue;

  before(async () => {
    t = await openQueueTestDb();
    ({ tdb, db, queue } = t);
  });

  after(async () => t?.close());

  beforeEach(async () => {
    await db.query("DELETE FROM pgboss.job WHERE name LIKE 'cleanup.%'");
    await db.query('DELETE FROM sdops_migration_runs');
  });

  it('counts created and retrying jobs per type, and the oldest wait only of jobs whose start time has come; held jobs apart', async () => {
    const [a, b, c, d] = await queue.enqueueMany('noop', [{}, {}, {}, {}]);
    await queue.enqueue('purge_expired', { entity: 'orders' });
    // a waited 120 s; b is a retry whose backoff ended 30 s ago; c may start only in an hour;
    // d is running (not waiting).
    await db.query("UPDATE pgboss.job SET start_after = now() - interval '120 seconds' WHERE id = $1", [a]);
    await db.query(
      "UPDATE pgboss.job SET state = 'retry', start_after = now() - interval '30 seconds' WHERE id = $1",
      [b],
    );
    await db.query("UPDATE pgboss.job SET start_after = now() + interval '1 hour' WHERE id = $1", [c]);
    await db.query(
      "UPDATE pgboss.job SET state = 'active', started_on = now() - interval '40 seconds' WHERE id = $1",
      [d],
    );
    const truth = await readQueueTruth(db, BUILTIN_JOB_TYPES);
    expect(Object.keys(truth).sort()).to.deep.equal([...BUILTIN_JOB_TYPES].sort());
    expect(truth.noop?.waiting).to.equal(3);
    expect(truth.noop?.oldestWaitSeconds).to.be.within(120, 125);
    expect(truth.purge_expired?.waiting).to.equal(1);
    expect(truth.purge_expired?.oldestWaitSeconds).to.be.within(0, 5);
    // Held by a worker (or by one that was killed, until its lease runs out): not waiting, but seen.
    expect(truth.noop?.active).to.equal(1);
    expect(truth.noop?.oldestActiveSeconds).to.be.within(40, 45);
    expect(truth.purge_expired).to.include({ active: 0, oldestActiveSeconds: 0 });
    expect(truth.cascade_soft_delete).to.deep.equal(NOTHING);
  });

  it('counts dead-letter copies waiting for a retry by the job type their data names, not cancelled ones', async () => {
    const dead = (jobType: string, state = 'created') =>
      db.query(`INSERT INTO pgboss.job (name, data, state) VALUES ($1, $2, $3::pgboss.job_state)`, [
        DEAD_LETTER_QUEUE,
        { jobType, payload: {} },
        state,
      ]);
    await dead('purge_expired');
    await dead('purge_expired');
    await dead('purge_expired', 'cancelled');
    await dead('archive_entity', 'retry');
    await queue.enqueue('purge_expired', { entity: 'orders' });
    const truth = await readQueueTruth(db, BUILTIN_JOB_TYPES);
    expect(truth.purge_expired).to.include({ waiting: 1, dead: 2 });
    expect(truth.archive_entity).to.deep.equal({ ...NOTHING, dead: 1 });
    expect(truth.cascade_soft_delete).to.deep.equal(NOTHING);
  });

  it('finds running and stopping runs whose lease expired, by migration, with the age of the oldest expiry', async () => {
    const run = (migration: string, state: string, heartbeatAgoSeconds: number, leaseMs = 30_000) =>
      db.query(
        `INSERT INTO sdops_migration_runs (run_id, migration, migration_version, state, batch_size,
                                           max_failed_batches, owner, heartbeat_at, lease_timeout_ms)
         VALUES ($1, $2, 1, $3, 100, 10, 'host:1', now() - $4::int * interval '1 second', $5)`,
        [randomUUID(), migration, state, heartbeatAgoSeconds, leaseMs],
      );
    await run('backfill-deleted-at', 'running', 100); // lease expired 70 s ago
    await run('backfill-deleted-at', 'stopping', 40); // 10 s ago
    await run('backfill-deleted-at', 'running', 1); // alive
    await run('archive-soft-deleted', 'stopped', 1000); // parked: nobody should own it
    await run('purge-archived', 'running', 5, 2_000); // its own shorter lease expired 3 s ago
    const ages = await staleRunAges(db);
    expect(Object.keys(ages).sort()).to.deep.equal(['backfill-deleted-at', 'purge-archived']);
    expect(ages['backfill-deleted-at']).to.be.within(70, 75);
    expect(ages['purge-archived']).to.be.within(3, 8);
  });

  it('finds when the latest run now failed or partially_failed ended, by migration, leaving out dry runs and runs that ended otherwise', async () => {
    const run = (migration: string, state: string, endedAgoSeconds: number | null, dryRun = false) =>
      db.query(
        `INSERT INTO sdops_migration_runs (run_id, migration, migration_version, state, dry_run, batch_size,
                                           max_failed_batches, finished_at)
         VALUES ($1, $2, 1, $3, $4, 100, 10, now() - $5::int * interval '1 second')`,
        [randomUUID(), migration, state, dryRun, endedAgoSeconds],
      );
    await run('backfill-deleted-at', 'failed', 600);
    await run('backfill-deleted-at', 'partially_failed', 30); // the latest failure
    await run('backfill-deleted-at', 'succeeded', 5);
    await run('archive-soft-deleted', 'failed', 10, true); // a dry run migrated nothing
    await run('archive-soft-deleted', 'stopped', 20);
    await run('purge-archived', 'running', null); // resumed: its finished_at went back to NULL
    const [{ now }] = (await db.query<{ now: number }>('SELECT extract(epoch FROM now())::float8 AS now'))
      .rows as [{ now: number }];
    const ends = await lastFailedRunEnds(db);
    expect(Object.keys(ends)).to.deep.equal(['backfill-deleted-at']);
    expect(now - (ends['backfill-deleted-at'] ?? 0)).to.be.within(29.9, 35);
  });

  it('sdops serve processes report them under the database identity, equal to the tables, and their own counters at 0', async () => {
    const otlp = new OtlpListener();
    await otlp.start();
    const serves: ChildProcess[] = [];
    const serve = async (url = tdb.url): Promise<ChildProcess> => {
      const child = spawn(process.execPath, [SDOPS_BIN, 'serve', '--port', '0'], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          DATABASE_URL: url,
          OTEL_SDK_DISABLED: 'false',
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
          OTEL_METRIC_EXPORT_INTERVAL: '200',
          SDOPS_QUEUE_SAMPLE_INTERVAL_MS: '200',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      serves.push(child);
      let err = '';
      await within(
        30_000,
        'sdops serve to listen',
        new Promise<void>((resolve, reject) => {
          child.stderr?.on('data', (d: Buffer) => {
            err += d.toString('utf8');
            if (err.includes('sdops api listening on')) resolve();
          });
          child.on('close', (code) => reject(new Error(`sdops serve exited ${code}:\n${err}`)));
        }),
      );
      return child;
    };
    try {
      const [a] = await queue.enqueueMany('noop', [{}, {}]);
      await db.query("UPDATE pgboss.job SET start_after = now() - interval '60 seconds' WHERE id = $1", [a]);
      const first = await serve();
      // The same database by another host name: once a second series, whose stale reading kept a
      // drained queue full after that process stopped.
      const other = new URL(tdb.url);
      other.hostname = other.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
      await serve(other.href);
      const identity = await databaseIdentity(db);
      expect(identity).to.match(/^sdops_t_\w+@[0-9a-f-]{36}$/);
      const latest = (metric: string, jobType: string) =>
        otlp.points
          .filter((p) => p.metric === metric && p.attributes.job_type === jobType)
          .sort((x, y) => x.time - y.time)
          .at(-1);
      await waitUntil('both serve processes to report the noop queue', () => {
        const instances = new Set(
          otlp.points.filter((p) => p.metric === 'cleanup.queue.length').map((p) => p.instance),
        );
        return latest('cleanup.queue.length', 'noop')?.value === 2 && instances.size === 1;
      });
      // One identity for both processes: the database's, not a process's.
      const reporting = new Set(
        otlp.points.filter((p) => p.metric.startsWith('cleanup.queue.')).map((p) => p.instance),
      );
      expect([...reporting]).to.deep.equal([identity]);
      expect(latest('cleanup.queue.oldest_wait', 'noop')?.value).to.be.within(60, 70);
      expect(latest('cleanup.queue.length', 'purge_expired')?.value).to.equal(0);
      // A restarted process writes the same series: stop one, the other keeps it current.
      first.kill('SIGTERM');
      await within(20_000, 'the first serve to exit', new Promise((r) => first.on('close', r)));
      await db.query("DELETE FROM pgboss.job WHERE name = 'cleanup.noop'");
      await waitUntil('the noop queue to read 0', () => latest('cleanup.queue.length', 'noop')?.value === 0);
      // Each process's own counters exist from the start, at 0, under its own instance.
      const zeroed = otlp.points.filter(
        (p) => p.metric === 'soft_delete.operations.total' && p.instance !== identity && p.value === 0,
      );
      expect(new Set(zeroed.map((p) => JSON.stringify(p.attributes))).size).to.equal(4 * 4 * 3);
    } finally {
      for (const s of serves) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
      await otlp.stop();
    }
  });
});
