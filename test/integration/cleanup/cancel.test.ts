import { expect } from 'chai';
import type { CleanupQueue } from '../../../src/cleanup/index.ts';
import { DEAD_LETTER_QUEUE } from '../../../src/cleanup/queue-names.ts';
import { retryDeadJobs } from '../../../src/cleanup/dead-letter.ts';
import { queueName } from '../../../src/cleanup/queue-names.ts';
import { readQueueTruth } from '../../../src/cleanup/queue-truth.ts';
import type { Database } from '../../../src/db/index.ts';
import { configureLogging } from '../../../src/observability/index.ts';
import { runCli } from '../../support/cli.ts';
import type { TestDatabase } from '../../support/postgres.ts';
import { openQueueTestDb, type QueueTestDb } from './support.ts';

/** `sdops queue cancel`: by id, or by type and state, with a dry run that changes nothing. */
describe('sdops queue cancel (PostgreSQL)', function () {
  this.timeout(90_000);
  let t: QueueTestDb;
  let tdb: TestDatabase;
  let db: Database;
  let queue: CleanupQueue;

  const cli = (...args: string[]) => runCli(args, { DATABASE_URL: tdb.url });
  const states = async (ids: string[]) =>
    (
      await db.query<{ state: string }>(
        `SELECT state::text AS state FROM pgboss.job WHERE id = ANY($1::uuid[]) ORDER BY state`,
        [ids],
      )
    ).rows.map((r) => r.state);
  const status = async (type: string) => (await queue.status()).find((r) => r.jobType === type);

  before(async () => {
    configureLogging({ level: 'warn', console: 'stderr' });
    t = await openQueueTestDb();
    ({ tdb, db, queue } = t);
  });

  after(async () => t?.close());

  it('ages the oldest waiting job from when it became due, as the oldest-wait gauge does', async () => {
    const [retried, later] = await queue.enqueueMany('noop', [{}, {}]);
    // A job revived 10 s ago after 20 minutes dead, and one whose retry backoff has not ended.
    await db.query(
      `UPDATE pgboss.job SET state = 'retry', created_on = now() - interval '20 minutes',
              start_after = now() - interval '10 seconds' WHERE id = $1`,
      [retried],
    );
    await db.query(
      `UPDATE pgboss.job SET created_on = now() - interval '1 hour', start_after = now() + interval '1 hour'
        WHERE id = $1`,
      [later],
    );
    const oldest = (await status('noop'))?.oldestWaitingSeconds ?? -1;
    // Was 3600: counted from created_on, so a revived or backing-off job looked an hour behind.
    expect(oldest).to.be.within(10, 30);
    const gauge = (await readQueueTruth(db, ['noop'])).noop?.oldestWaitSeconds ?? -1;
    expect(Math.abs(gauge - oldest)).to.be.below(2);
    await db.query('DELETE FROM pgboss.job WHERE id = ANY($1::uuid[])', [[retried, later]]);
  });

  it('lists the waiting jobs of a type in a dry run, changing nothing, then cancels exactly those', async () => {
    const noops = await queue.enqueueMany('noop', [{}, {}, {}, {}, {}]);
    const purges = await queue.enqueueMany('purge_expired', [{ entity: 'orders' }, { entity: 'documents' }]);
    const dry = await cli('queue', 'cancel', '--type', 'noop', '--state', 'waiting', '--dry-run');
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.match(/^dry run: would cancel 5 job\(s\); nothing was changed\n/);
    for (const id of noops) expect(dry.stdout).to.include(id);
    // As `queue status` and --state name it (it said pg-boss's "created").
    for (const id of noops) expect(dry.stdout).to.match(new RegExp(`${id}\\s+noop\\s+waiting\\b`));
    expect(await status('noop')).to.include({ waiting: 5 });

    const done = await cli('--json', 'queue', 'cancel', '--type', 'noop', '--state', 'waiting');
    expect(done.code, done.stderr).to.equal(0);
    const result = JSON.parse(done.stdout) as { count: number; dryRun: boolean; jobs: { jobId: string }[] };
    expect(result).to.include({ count: 5, dryRun: false });
    expect(result.jobs.map((j) => j.jobId).sort()).to.deep.equal([...noops].sort());
    expect(await states(noops)).to.deep.equal(Array(5).fill('cancelled'));
    expect(await status('noop')).to.include({ waiting: 0 });
    expect(await status('purge_expired'), 'other types untouched').to.include({ waiting: 2 });

    const one = await cli('queue', 'cancel', purges[0]!);
    expect(one.code, one.stderr).to.equal(0);
    expect(one.stdout).to.match(/^cancelled 1 job\(s\)/);
    expect(await states([purges[0]!])).to.deep.equal(['cancelled']);
    expect(await states([purges[1]!])).to.deep.equal(['created']);
    // Before: "error": {"code": "cancelled"} in `queue show` and GET /v1/queue/jobs/{id} (a docs probe).
    const shown = await cli('--json', 'queue', 'show', purges[0]!);
    expect(shown.code, shown.stderr).to.equal(0);
    const view = JSON.parse(shown.stdout) as Record<string, unknown>;
    expect(view).to.include({ state: 'cancelled' });
    expect(view).to.not.have.property('error');
  });

  it('keeps the last error of a job cancelled while it waited for a retry, and `queue show` gives it', async () => {
    const [id] = await queue.enqueueMany('noop', [{}]);
    const failure = { code: '23514', name: 'DatabaseError', message: 'new row violates check constraint' };
    // What a failed attempt leaves on a job backing off before its retry (pg-boss keeps the output).
    await db.query(
      `UPDATE pgboss.job SET state = 'retry', retry_count = 1, output = $2::jsonb WHERE id = $1`,
      [id, JSON.stringify(failure)],
    );
    const done = await cli('queue', 'cancel', id!);
    expect(done.code, done.stderr).to.equal(0);
    const shown = await cli('--json', 'queue', 'show', id!);
    expect(shown.code, shown.stderr).to.equal(0);
    const view = JSON.parse(shown.stdout) as Record<string, unknown>;
    expect(view).to.include({ state: 'cancelled' });
    // Before: no error; the cancellation's own output had replaced the attempt's.
    expect(view.error).to.deep.equal(failure);
    const { rows } = await db.query<{ code: string }>(
      `SELECT output->>'code' AS code FROM pgboss.job WHERE id = $1`,
      [id],
    );
    expect(rows[0]?.code, 'the runbook SQL still reads it as cancelled').to.equal('cancelled');
  });

  it('says of a PostgreSQL job whose lease ended only what holds there (nothing of the embedded database)', async () => {
    const [id] = await queue.enqueueMany('noop', [{}]);
    await db.query(
      `UPDATE pgboss.job SET state = 'active', started_on = now() - interval '1 hour', expire_seconds = 60,
              heartbeat_on = NULL, heartbeat_seconds = NULL WHERE id = $1`,
      [id],
    );
    const shown = await cli('queue', 'show', id!);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout).to.include('its worker is gone and the next worker retries it');
    // Before: "(a job a killed process left on the embedded database reads as started a lease early)".
    expect(shown.stdout).to.not.include('embedded');
    await db.query('DELETE FROM pgboss.job WHERE id = $1', [id]);
  });

  it('gives the creation time of each job in UTC, as queue show does, whatever time zone the database sessions have', async () => {
    const [id] = await queue.enqueueMany('noop', [{}]);
    const db_ = (await db.query<{ name: string }>('SELECT current_database() AS name')).rows[0]!.name;
    await db.query(`ALTER DATABASE "${db_}" SET timezone = 'Asia/Tokyo'`);
    try {
      const dry = await cli('--json', 'queue', 'cancel', id!, '--dry-run');
      expect(dry.code, dry.stderr).to.equal(0);
      const { jobs } = JSON.parse(dry.stdout) as { jobs: { jobId: string; createdAt: string }[] };
      const shown = JSON.parse((await cli('--json', 'queue', 'show', id!)).stdout) as { createdAt: string };
      // Before: "createdOn": "2026-12-07 07:53:24.458722+09", the session's time zone, as text.
      expect(jobs[0]?.createdAt).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(jobs[0]?.createdAt).to.equal(shown.createdAt);
    } finally {
      await db.query(`ALTER DATABASE "${db_}" RESET timezone`);
      await db.query('DELETE FROM pgboss.job WHERE id = $1', [id]);
    }
  });

  it('cancels dead-letter copies of a type, by type or through the failed job id, so nothing retries them', async () => {
    const dead = async (originalId: string) => {
      const data = { jobType: 'noop', payload: {}, meta: { jobId: originalId } };
      await queue.boss.send(DEAD_LETTER_QUEUE, data);
    };
    const ids = ['3f2c0c2e-0000-4000-8000-000000000001', '3f2c0c2e-0000-4000-8000-000000000002'];
    for (const id of ids) await dead(id);
    expect(await status('noop')).to.include({ dead: 2 });
    // In capitals, as a UUID may be pasted: the copy names its failed job in lowercase text.
    const byId = await cli('queue', 'cancel', ids[0]!.toUpperCase());
    expect(byId.code, byId.stderr).to.equal(0);
    // Before: only the copy's own id, which the operator never saw, with nothing linking it to theirs.
    expect(byId.stdout).to.match(new RegExp(`noop\\s+cancelled\\s+${ids[0]}\\s`));
    expect(await status('noop')).to.include({ dead: 1 });
    const dry = await cli('--json', 'queue', 'cancel', '--type', 'noop', '--state', 'dead', '--dry-run');
    const listed = JSON.parse(dry.stdout) as { jobs: { jobId: string; copyOf?: string }[] };
    expect(listed.jobs.map((j) => j.copyOf)).to.deep.equal([ids[1]]);
    expect(listed.jobs[0]?.jobId).to.not.equal(ids[1]);
    const byType = await cli('queue', 'cancel', '--type', 'noop', '--state', 'dead');
    expect(byType.code, byType.stderr).to.equal(0);
    expect(byType.stdout).to.match(/^cancelled 1 job\(s\)/);
    // Before: the table said "dead", as the dry run does, for a copy now cancelled.
    expect(byType.stdout).to.match(/noop\s+cancelled/);
    expect(await status('noop')).to.include({ dead: 0 });
    const retried = await cli('--json', 'queue', 'retry', '--dead');
    expect(JSON.parse(retried.stdout)).to.include({ retried: 0 });
    // A failed job whose copies are gone (or name no original): the line says where its copies went.
    const failed = '3f2c0c2e-0000-4000-8000-000000000003';
    await queue.boss.insert(queueName('noop'), [
      { id: failed, data: { jobType: 'noop', payload: {}, meta: {} } },
    ]);
    await queue.db.query(`UPDATE pgboss.job SET state = 'failed' WHERE id = $1::uuid`, [failed]);
    const refused = await cli('queue', 'cancel', failed);
    expect(refused.code, refused.stderr).to.equal(1);
    expect(refused.stderr).to.match(
      /is failed and no dead-letter copy of it is waiting: .* cancel such a copy by its own id/,
    );
  });

  it('counts a dead job two retries revive at once once (the two counts added up to more jobs than died)', async () => {
    const original = '3f2c0c2e-0000-4000-8000-000000000009';
    await queue.boss.insert(queueName('noop'), [
      { id: original, data: { jobType: 'noop', payload: {}, meta: { jobId: original } } },
    ]);
    await queue.db.query(`UPDATE pgboss.job SET state = 'failed' WHERE id = $1::uuid`, [original]);
    await queue.boss.send(DEAD_LETTER_QUEUE, { jobType: 'noop', payload: {}, meta: { jobId: original } });
    const both = await Promise.all([retryDeadJobs(queue), retryDeadJobs(queue)]);
    expect(both.reduce((n, o) => n + o.retried, 0)).to.equal(1);
    expect(await states([original])).to.deep.equal(['retry']);
    await queue.db.query('DELETE FROM pgboss.job WHERE id = $1::uuid', [original]);
  });

  it('names the type of a dead job written to pgboss.job directly (no envelope) by its queue, and says to cancel it', async () => {
    // The runbook's invalid_payload case: a job inserted by SQL, which died and was copied here.
    await db.query(`INSERT INTO pgboss.job (name, data, source_name) VALUES ($1, $2, $3)`, [
      DEAD_LETTER_QUEUE,
      { entity: 'nope' },
      queueName('purge_expired'),
    ]);
    // Before: a row with an empty job type in queue status, and `--type purge_expired` found nothing.
    expect(await status('purge_expired')).to.include({ dead: 1 });
    const retried = await cli('--json', 'queue', 'retry', '--dead');
    // Before: exit 0, read as done while the entry stayed dead and CleanupJobsDead kept firing.
    expect(retried.code, retried.stderr).to.equal(1);
    expect(retried.stderr).to.include('"code":"job_not_retryable"');
    expect(retried.stderr).to.include('1 dead job(s) were skipped and stay dead');
    const skipped = (JSON.parse(retried.stdout) as { skipped: { reason: string }[] }).skipped;
    // Before: "... is a dead-letter entry of an unknown job type; only failed or dead jobs can be retried".
    expect(skipped.map((x) => x.reason)).to.have.length(1);
    expect(skipped[0]?.reason).to.match(/carries no sdops job envelope .* cancel it \(sdops queue cancel /);
    const byType = await cli('queue', 'cancel', '--type', 'purge_expired', '--state', 'dead');
    expect(byType.stdout).to.match(/^cancelled 1 job\(s\)/);
    expect(await status('purge_expired')).to.include({ dead: 0 });
  });

  it('refuses a running job (exit 1) and bad input (exit 2, one line, nothing changed)', async () => {
    const [id] = await queue.enqueueMany('noop', [{}]);
    const [fetched] = await queue.boss.fetch(queueName('noop'), { batchSize: 1 });
    expect(fetched?.id).to.equal(id);
    const running = await cli('queue', 'cancel', id!);
    expect(running.code).to.equal(1);
    expect(running.stderr).to.match(/is running; a running job cannot be cancelled/);
    expect(await states([id!])).to.deep.equal(['active']);

    for (const args of [
      ['queue', 'cancel'],
      ['queue', 'cancel', id!, '--type', 'noop', '--state', 'waiting'],
      ['queue', 'cancel', '--type', 'noop'],
      ['queue', 'cancel', '--type', 'bogus', '--state', 'waiting'],
      ['queue', 'cancel', '--type', 'noop', '--state', 'sometimes'],
      ['queue', 'cancel', 'not-a-uuid'],
    ]) {
      const r = await cli(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).to.have.length(1);
    }
    const unknown = await cli('queue', 'cancel', '00000000-0000-4000-8000-000000000000');
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.match(/does not exist/);
  });
});
