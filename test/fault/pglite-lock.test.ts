import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { socketPath } from '../../src/db/dir-lock.ts';
import { openDatabase } from '../../src/db/index.ts';
import { runCli, runCommand } from '../support/cli.ts';
import { spawnSdops } from '../support/sdops-process.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * Two processes on one embedded (PGlite) data directory used to run two PostgreSQL instances over
 * the same files: lost writes, or a directory that no longer opened. The process that opens the
 * directory holds its lock; a second one is refused at once with one line naming the holder.
 */
describe('fault suite: two processes on one PGlite data directory', function () {
  this.timeout(120_000);
  let dir: string;
  const data = () => join(dir, 'data');
  const env = { DATABASE_URL: undefined, SDOPS_API_TOKENS: undefined };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sdops-lock-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses the second process at once with one line naming the holder, and the directory still opens afterwards', async () => {
    const serve = spawnSdops(['--data-dir', data(), 'serve', '--port', '0'], env);
    try {
      await serve.waitFor(/listening on http/);
      const started = Date.now();
      const second = await runCli(['--data-dir', data(), 'delete', 'documents', '1'], env);
      const tookMs = Date.now() - started;
      expect(second.code).to.equal(1);
      const lines = second.stderr.trim().split('\n');
      expect(lines, second.stderr).to.have.length(1);
      expect(lines[0]).to.match(
        new RegExp(`^sdops: the embedded database in \\S+ is in use by process ${serve.pid} `),
      );
      expect(lines[0]).to.include('DATABASE_URL');
      expect(tookMs, 'refused at once').to.be.below(10_000);
      expect(serve.alive()).to.equal(true);
    } finally {
      expect(await serve.stop()).to.equal(0);
    }
    const after = await runCli(['--data-dir', data(), 'list', 'documents', '--limit', '1'], env);
    expect(after.code, after.stderr).to.equal(0);
  });

  it('refuses a second process that reaches the directory through a bind mount or a symlink, naming the holder', async () => {
    const bound = join(dir, 'bound');
    const linked = join(dir, 'linked');
    await mkdir(bound);
    await mkdir(data(), { recursive: true });
    await symlink(data(), linked);
    // The lock was named after the directory's real path: a bind mount gave it another one, and a
    // delete through it reported success while the holder's PostgreSQL later overwrote it.
    const mount = await runCommand('mount', ['--bind', data(), bound]);
    if (mount.code !== 0)
      throw new Error(`this test bind-mounts a directory and needs root: ${mount.stderr}`);
    const serve = spawnSdops(['--data-dir', data(), 'serve', '--port', '0'], env);
    try {
      await serve.waitFor(/listening on http/);
      for (const path of [bound, linked]) {
        const second = await runCli(['--data-dir', path, 'delete', 'documents', '2'], env);
        expect(second.code, second.stderr).to.equal(1);
        expect(second.stderr).to.match(
          new RegExp(`^sdops: the embedded database in \\S+ is in use by process ${serve.pid} `),
        );
      }
    } finally {
      expect(await serve.stop()).to.equal(0);
      await runCommand('umount', [bound]);
    }
  });

  it('runs the cleanup jobs in serve itself, since no worker can open the directory beside it', async () => {
    const seeded = await runCli(['--data-dir', data(), 'seed', '--rows', '20'], env);
    expect(seeded.code, seeded.stderr).to.equal(0);
    const listed = await runCli(['--data-dir', data(), '--json', 'list', 'orders', '--limit', '1'], env);
    const order = (JSON.parse(listed.stdout) as { rows: { id: string; customer_id: string }[] }).rows[0]!;
    const serve = spawnSdops(['--data-dir', data(), 'serve', '--port', '0'], {
      ...env,
      SDOPS_QUEUE_POLL_INTERVAL_MS: '100',
    });
    try {
      const [, url] = (await serve.waitFor(/listening on (http\S+)/)) as unknown as [string, string];
      const deleted = await fetch(`${url}/v1/customers/${order.customer_id}`, { method: 'DELETE' });
      expect(deleted.status).to.equal(200);
      expect(((await deleted.json()) as { job?: { type: string } }).job?.type).to.equal(
        'cascade_soft_delete',
      );
      // Before, the job waited for a worker that could never start: the order stayed live.
      await waitUntil('the cascade job to delete the order', async () => {
        return (await fetch(`${url}/v1/orders/${order.id}`)).status === 404;
      });
    } finally {
      expect(await serve.stop()).to.equal(0);
    }
  });

  it('names the holder while it is busy with a long operation', async () => {
    const busy = join(dir, 'busy');
    const seeded = await runCli(['--data-dir', busy, 'seed', '--rows', '10000'], env);
    expect(seeded.code, seeded.stderr).to.equal(0);
    // One customer per transaction: seconds of back-to-back batches.
    const deleting = spawnSdops(
      ['--data-dir', busy, 'delete', 'customers', '--filter', 'plan=enterprise', '--batch-size', '1'],
      env,
    );
    try {
      // The delete holds the lock before anyone else asks (Linux: its abstract socket is listed).
      const { path } = await socketPath(busy);
      await waitUntil('the delete to lock the directory', async () => {
        return (await readFile('/proc/net/unix', 'utf8')).includes(`@${path.slice(1)}`);
      });
      // Asked again and again while the delete works through its batches, each refusal names it.
      const refusals: string[] = [];
      await waitUntil('three second processes to be refused while the delete runs', async () => {
        expect(deleting.alive(), `the delete ended after ${refusals.length} refusals`).to.equal(true);
        const second = await runCli(['--data-dir', busy, 'list', 'customers', '--limit', '1'], env);
        if (second.code === 1) refusals.push(second.stderr);
        return refusals.length >= 3;
      });
      // Before: "in use by process 0 (since unknown (it did not answer))" once the batches ran, since
      // the holder's event loop never reached the lock's socket between them.
      for (const refusal of refusals) expect(refusal).to.include(`in use by process ${deleting.pid} `);
    } finally {
      await deleting.stop();
    }
  });

  it('survives being asked while one long statement blocks it, and the refusal still names it', async () => {
    const seedDir = join(dir, 'seeding');
    // The seed's inserts are single statements of seconds: the holder cannot answer on its socket.
    const seeding = spawnSdops(['--data-dir', seedDir, 'seed', '--rows', '60000'], env);
    await waitUntil('the seed to lock the directory', async () => {
      const lock = await socketPath(seedDir).catch(() => undefined); // the seed creates the directory
      return (
        lock !== undefined && (await readFile('/proc/net/unix', 'utf8')).includes(`@${lock.path.slice(1)}`)
      );
    });
    const second = await runCli(['--data-dir', seedDir, 'db', 'status'], env);
    expect(second.code).to.equal(1);
    // Before: "in use by process 0 (since unknown (it did not answer))", and the holder then died
    // of the late answer's EPIPE, losing its seed.
    expect(second.stderr).to.include(`in use by process ${seeding.pid} `);
    expect(await seeding.exited, seeding.output().slice(-2000)).to.equal(0);
  });

  it('hands back the migration run of a SIGKILLed holder at once: the lock proves its owner is gone', async () => {
    const runDir = join(dir, 'killed-run');
    const slow = { ...env, SDOPS_MIGRATION_LEASE_TIMEOUT_MS: '600000' };
    const seeded = await runCli(
      ['--data-dir', runDir, 'seed', '--rows', '2000', '--legacy-fraction', '0.3'],
      slow,
    );
    expect(seeded.code, seeded.stderr).to.equal(0);
    const migrate = spawnSdops(
      [
        '--data-dir',
        runDir,
        'migrate',
        'start',
        'backfill-deleted-at',
        '--batch-size',
        '20',
        '--max-rows-per-second',
        '40',
      ],
      slow,
    );
    const runId = (await migrate.waitFor(/run ([0-9a-f-]{36}):/))[1] as string;
    await migrate.waitFor(/migration batch committed/);
    expect(await migrate.stop('SIGKILL')).to.equal(null);
    // The next process shows the owner gone, with the heartbeat it really last had (was rewritten
    // to lease + 1 s ago: "heartbeat 601s ago" two seconds after the kill).
    const before = await runCli(['--data-dir', runDir, '--json', 'migrate', 'status', runId], slow);
    const gone = JSON.parse(before.stdout) as {
      ownerAlive: boolean;
      heartbeatAgeSeconds: number;
      owner: string;
    };
    expect(before.stderr).to.include('the embedded database was left by a process that ended mid-work');
    expect(gone.ownerAlive).to.equal(false);
    expect(gone.owner).to.be.a('string');
    expect(gone.heartbeatAgeSeconds).to.be.below(60);
    // Before: refused for the whole lease ("its lease expires in 599s"), and `sdops demo` with it.
    const resumed = await runCli(
      ['--data-dir', runDir, 'migrate', 'resume', runId, '--max-rows-per-second', '0', '--batch-size', '500'],
      slow,
    );
    expect(resumed.code, resumed.stderr).to.equal(0);
    const status = await runCli(['--data-dir', runDir, '--json', 'migrate', 'status', runId], slow);
    expect((JSON.parse(status.stdout) as { state: string }).state).to.equal('succeeded');
  });

  it('retries the job a SIGKILLed holder was running as soon as the next worker starts, not after its lease', async () => {
    const jobDir = join(dir, 'killed-job');
    const enqueued = await runCli(['--data-dir', jobDir, '--json', 'queue', 'enqueue', 'noop'], env);
    expect(enqueued.code, enqueued.stderr).to.equal(0);
    const { jobId } = JSON.parse(enqueued.stdout) as { jobId: string };
    // As a killed process leaves it: claimed (active) a moment ago, with the default 15-minute lease.
    const db = await openDatabase({ dataDir: jobDir });
    try {
      await db.query(`UPDATE pgboss.job SET state = 'active', started_on = now() WHERE id = $1::uuid`, [
        jobId,
      ]);
    } finally {
      await db.close();
    }
    // The first command to open the directory hands the job back and says so; the next one finds
    // nothing to hand back (before, every command did it again, each moving the job's start back).
    const show = () => runCli(['--data-dir', jobDir, '--json', 'queue', 'show', jobId], env);
    const first = await show();
    expect(first.stderr).to.match(/the embedded database was left by a process that ended mid-work/);
    const second = await show();
    expect(second.stderr).not.to.match(/ended mid-work/);
    expect(JSON.parse(second.stdout)).to.deep.include({ startedAt: JSON.parse(first.stdout).startedAt });
    // Before: "lease ends <a time already past> (a killed worker's job stays active until then ...)",
    // beside the warning that the job was handed back.
    const text = await runCli(['--data-dir', jobDir, 'queue', 'show', jobId], env);
    expect(text.stdout).to.match(/lease ended \S+: its worker is gone and the next worker retries it/);
    expect(text.stdout).not.to.match(/stays active until then/);
    const worker = spawnSdops(['--data-dir', jobDir, 'worker'], {
      ...env,
      SDOPS_JOB_RETRY_DELAY_SECONDS: '1',
    });
    try {
      // Before: active until its lease ran out (900 s), then up to a maintenance interval more.
      await worker.waitFor(new RegExp(`"cleanup job finished".*"job_id":"${jobId}"`), 20_000);
    } finally {
      expect(await worker.stop()).to.equal(0);
    }
  });

  it('lets the next process in when the holder was SIGKILLed: the lock dies with its process', async () => {
    const seeded = await runCli(['--data-dir', data(), 'seed', '--rows', '20'], env);
    expect(seeded.code, seeded.stderr).to.equal(0);
    const worker = spawnSdops(['--data-dir', data(), 'worker'], env);
    await worker.waitFor(/worker started/);
    expect(await worker.stop('SIGKILL')).to.equal(null);
    const next = await runCli(['--data-dir', data(), '--json', 'list', 'documents', '--limit', '3'], env);
    expect(next.code, next.stderr).to.equal(0);
    expect((JSON.parse(next.stdout) as { rows: unknown[] }).rows).to.have.length(3);
  });
});
