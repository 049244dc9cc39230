import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { expect } from 'chai';
import { ownerId, ownerProcessGone, ownerProcessState } from '../../../src/migration/owner-process.ts';
import { type RunRecord, runStatus } from '../../../src/migration/index.ts';
import { backoffMs } from '../../../src/migration/options.ts';
import { getMigration } from '../../../src/migration/registry.ts';
import { InvalidMigrationParamError, UnknownMigrationError } from '../../../src/migration/errors.ts';
import { giveUp, waitUntil } from '../../support/wait.ts';

describe('migration runner backoff and parameters', () => {
  it('backs off exponentially within +-20% and never beyond the cap', () => {
    const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 300 };
    expect(backoffMs(policy, 1, () => 0.5)).to.equal(100);
    expect(backoffMs(policy, 2, () => 0.5)).to.equal(200);
    expect(backoffMs(policy, 5, () => 0.5)).to.equal(300);
    expect(backoffMs(policy, 1, () => 0)).to.equal(80);
    expect(backoffMs(policy, 1, () => 1)).to.equal(120);
  });

  it('validates each migration its own parameters as invalid input', () => {
    expect(() => getMigration('nope')).to.throw(UnknownMigrationError);
    expect(() => getMigration('archive-soft-deleted').parseParams({})).to.throw(InvalidMigrationParamError);
    expect(() => getMigration('archive-soft-deleted').parseParams({ olderThanDays: -1 })).to.throw(
      InvalidMigrationParamError,
    );
    expect(() => getMigration('backfill-deleted-at').parseParams({ entities: 'customers,nope' })).to.throw(
      InvalidMigrationParamError,
      /unknown entity "nope"/,
    );
    // Children first, so a parent is archived after the rows that reference it.
    expect(
      getMigration('archive-soft-deleted').parseParams({
        olderThanDays: '30',
        entities: 'customers,order_items,orders',
      }),
    ).to.deep.equal({
      entities: ['order_items', 'orders', 'customers'],
      olderThanDays: 30,
    });
    // Only the named ones: `--entity orders` archived order_items too, out of reach of a restore.
    expect(
      getMigration('archive-soft-deleted').parseParams({
        olderThanDays: '0',
        entities: 'customers,order_items',
      }),
    ).to.deep.equal({ entities: ['order_items', 'customers'], olderThanDays: 0 });
    expect(
      getMigration('archive-soft-deleted').parseParams({ olderThanDays: '0', entities: 'orders' }),
    ).to.deep.equal({ entities: ['orders'], olderThanDays: 0 });
  });

  it('derives progress, rate and ETA of a running run from its record', () => {
    const now = new Date('2026-01-01T00:01:40Z');
    const run = {
      runId: '01900000-0000-7000-8000-000000000000',
      migration: 'backfill-deleted-at',
      state: 'running',
      dryRun: false,
      rowsProcessed: 1_500,
      rowsFailed: 500,
      totalEstimate: 10_000,
      sessionStartedAt: new Date('2026-01-01T00:00:00Z'),
      sessionStartRows: 500,
      ownerAlive: true,
      heartbeatAt: new Date('2026-01-01T00:01:39Z'),
      updatedAt: now,
      finishedAt: null,
      createdAt: new Date('2026-01-01T00:00:00Z'),
      scanComplete: false,
      cursorEntity: 'documents',
      cursorKey: '42',
    } as unknown as RunRecord;
    const s = runStatus(run, now, () => 'unknown');
    expect(s).to.include({
      percent: 20,
      rowsPerSecond: 10,
      etaSeconds: 800,
      cursor: 'documents:42',
      heartbeatAgeSeconds: 1,
      ownerProcessGone: false,
    });
    // Its process killed on this host: the lease still runs, but a rate and an ETA would say it moves.
    const gone = runStatus(run, now, () => 'gone');
    expect(gone).to.include({
      ownerAlive: true,
      ownerProcessGone: true,
      rowsPerSecond: null,
      etaSeconds: null,
    });
    // ...and still gone once its lease has run out too.
    const stale = runStatus({ ...run, ownerAlive: false } as RunRecord, now, () => 'gone');
    expect(stale).to.include({ ownerAlive: false, ownerProcessGone: true, ownerProcessAlive: false });
    // A lease run out while its process lives: a runner waiting out a database outage, or frozen.
    const waiting = runStatus({ ...run, ownerAlive: false } as RunRecord, now, () => 'alive');
    expect(waiting).to.include({ ownerAlive: false, ownerProcessGone: false, ownerProcessAlive: true });
    // Rows that became eligible during the run (deleted while an archive ran) are done too: past its
    // estimate, a run's total is what it did. Before: "22550/19961 (100%)" (two probes).
    const past = { ...run, rowsProcessed: 22_550, rowsFailed: 0 } as RunRecord;
    expect(runStatus(past, now, () => 'unknown')).to.include({
      totalEstimate: 22_550,
      percent: null,
      etaSeconds: null,
    });
    const ended = { ...past, state: 'succeeded', finishedAt: now } as unknown as RunRecord;
    expect(runStatus(ended, now, () => 'unknown')).to.include({ totalEstimate: 22_550, percent: 100 });
  });

  it("takes a moving run's rate over the last minute of its session, so an outage earlier in it does not stretch the ETA", () => {
    const now = new Date('2026-01-01T00:01:40Z');
    // 100 s into the session, the first 40 s of it a database outage: 6,000 rows, all in the last minute.
    const run = {
      state: 'running',
      rowsProcessed: 6_000,
      rowsFailed: 0,
      totalEstimate: 12_000,
      sessionStartedAt: new Date('2026-01-01T00:00:00Z'),
      sessionStartRows: 0,
      ownerAlive: true,
      heartbeatAt: now,
      updatedAt: now,
      finishedAt: null,
      createdAt: new Date('2026-01-01T00:00:00Z'),
      recent: { rows: 6_000, seconds: 60 },
    } as unknown as RunRecord;
    // Before: 60 rows/s over the whole session, and 100 s left for a run 60 s from its end (a probe).
    expect(runStatus(run, now, () => 'unknown')).to.include({ rowsPerSecond: 100, etaSeconds: 60 });
    // Nothing done in the last minute (an outage now): no rate, no ETA, whatever came before.
    const stalled = { ...run, recent: { rows: 0, seconds: 60 } } as RunRecord;
    expect(runStatus(stalled, now, () => 'unknown')).to.include({ rowsPerSecond: 0, etaSeconds: null });
    // Once it ended: its last session's average, rows over time.
    const ended = { ...run, state: 'succeeded', finishedAt: now } as unknown as RunRecord;
    expect(runStatus(ended, now, () => 'unknown')).to.include({ rowsPerSecond: 60, etaSeconds: null });
  });

  it("tells a run owner's process that ended on this host from one that lives, or runs elsewhere", async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => child.on('exit', resolve));
    const host = hostname();
    expect(ownerProcessGone(`${host}:${child.pid}:a1b2c3`)).to.equal(true);
    expect(ownerProcessGone(`${host}:${process.pid}:a1b2c3`)).to.equal(false);
    expect(ownerProcessGone(`${host}:${process.ppid}:a1b2c3`)).to.equal(false);
    expect(ownerProcessGone(`elsewhere-${host}:${child.pid}:a1b2c3`)).to.equal(false);
    expect(ownerProcessGone(null)).to.equal(false);
    expect(ownerProcessGone(ownerId())).to.equal(false);
    expect(ownerProcessState(`${host}:${process.ppid}:a1b2c3`)).to.equal('alive');
    expect(ownerProcessState(`${host}:${child.pid}:a1b2c3`)).to.equal('gone');
    expect(ownerProcessState(`elsewhere-${host}:${child.pid}:a1b2c3`)).to.equal('unknown');
  });

  it('reads an owner that exited but was not reaped yet (a zombie) as gone', async () => {
    // The shell's background child exits at once; the shell becomes `sleep`, which never reaps it.
    // Long enough to outlast a loaded machine (5 s once ran out before the first look, and the
    // zombie, reparented and reaped, was gone); the parent is killed at the end anyway.
    const parent = spawn('sh', ['-c', 'true & echo $!; exec sleep 120'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const pid = Number(
        await new Promise<string>((resolve) => parent.stdout.once('data', (d) => resolve(String(d)))),
      );
      const owner = `${hostname()}:${pid}:a1b2c3`;
      await waitUntil('the child to be a zombie', async () => {
        if (!existsSync(`/proc/${pid}`)) giveUp(`process ${pid} is gone: something reaped it`);
        return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') || undefined;
      });
      // Was 'alive': kill(pid, 0) succeeds on a zombie.
      expect(ownerProcessState(owner)).to.equal('gone');
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
