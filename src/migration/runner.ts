import { v7 as uuidv7 } from 'uuid';
import { type Database, type TransactionClient, withoutLockWaitLimit } from '../db/index.ts';
import { InvalidInputError } from '../errors.ts';
import {
  RunLockedError,
  RunNotFoundError,
  RunRowHeldError,
  RunStateError,
  StopTimeoutError,
} from './errors.ts';
import { MAX_FAILED_BATCHES } from '../validation/index.ts';
import { DEFAULT_RUNNER_OPTIONS, type RunnerOptions, validateRunnerOptions } from './options.ts';
import { ownerId, ownerProcessGone } from './owner-process.ts';
import { assertNoOverlap, limitLockWait, serializeRunStarts, lockWaitError } from './overlap.ts';
import { migrationOutageGuard, stopWaitGuard } from './outage.ts';
import { getMigration, migrationNames } from './registry.ts';
import { Session, type SessionMode } from './session.ts';
import * as leases from './lease-store.ts';
import * as store from './store.ts';
import { registerMigrationAttributes } from './telemetry.ts';
import { assertRunId, assertThisRelease, validBatchSize, validRate } from './validate.ts';
import type { BatchRecord, RunProgress, RunRecord, RunSettings, RunState, RunSummary } from './types.ts';

export interface StartRequest {
  /** Migration parameters (validated by the migration; unknown ones are refused). */
  readonly params?: Readonly<Record<string, unknown>>;
  readonly batchSize?: number;
  readonly maxRowsPerSecond?: number | null;
  readonly dryRun?: boolean;
  readonly maxFailedBatches?: number;
}

export interface SessionOptions {
  readonly onProgress?: (e: RunProgress) => void;
  /**
   * start: creating the run rides out an outage too, up to the outage budget (a CLI command, which
   * nobody else retries); without it an unreachable database fails the start at once (the API: 503).
   */
  readonly waitOutOutage?: boolean;
}

export interface ResumeOptions extends SessionOptions {
  /** Replaces the run's throttle from this session on (persisted); null lifts it, undefined keeps it. */
  readonly maxRowsPerSecond?: number | null;
  /** Replaces the run's rows per batch from this session on (persisted); undefined keeps it. */
  readonly batchSize?: number;
}

/** A session running in the background: the run is persisted and leased when you get this. */
export interface RunHandle {
  readonly runId: string;
  readonly run: RunRecord;
  /** Resolves when the session ends: finished, stopped, failed, or lease lost. Never rejects for batch errors. */
  readonly done: Promise<RunSummary>;
  /** Same as `sdops migrate stop`, but local: finish the batch in flight, park the run `stopped`. */
  stop(): void;
}

export interface StopWaitOptions {
  /** Give up (StopTimeoutError) when the run is still `stopping` after this long. */
  readonly timeoutMs: number;
  readonly pollMs?: number;
  /** Called once when the run's runner still holds its lease: who, and how long the lease has left. */
  readonly onWaiting?: (run: RunRecord, leaseLeftMs: number) => void;
}

const RESUMABLE: readonly RunState[] = ['running', 'stopping', 'stopped', 'failed'];
const RETRYABLE: readonly RunState[] = ['running', 'stopping', 'stopped', 'failed', 'partially_failed'];

/**
 * The programmatic API behind `sdops migrate` (and the HTTP API): start, resume, retry-failed run a
 * session in the background and hand back a RunHandle; stop/status/list are plain queries.
 */
export class MigrationRunner {
  readonly options: RunnerOptions;

  private readonly db: Database;

  constructor(db: Database, options: Partial<RunnerOptions> = {}) {
    this.db = db;
    this.options = validateRunnerOptions({ ...DEFAULT_RUNNER_OPTIONS, ...options });
    registerMigrationAttributes(migrationNames());
  }

  async start(name: string, request: StartRequest = {}, session: SessionOptions = {}): Promise<RunHandle> {
    const migration = getMigration(name);
    const params = migration.parseParams(request.params ?? {});
    const settings = this.settings(request);
    const entities = migration.entities(params);
    let total = 0;
    for (const entity of entities) total += await migration.count(this.db, entity, params);
    // Chosen before the insert, and the insert rides out an outage: when its COMMIT landed but the
    // answer was lost, the next attempt finds the run instead of leaving it orphaned, `running`,
    // blocking new starts until its lease ran out, while the command said the start failed.
    const runId = uuidv7();
    const owner = ownerId();
    const insert = () =>
      this.inLockWait(undefined, async (tx) => {
        // Under the lock (dry runs too): an earlier attempt whose transaction is still open on the
        // server is waited for, so its run is found here instead of refused as an overlap.
        await serializeRunStarts(tx);
        const landed = await store.getRun(tx, runId);
        if (landed) return landed;
        if (!settings.dryRun) await assertNoOverlap(tx, { migration: migration.name, entities });
        return store.insertRun(tx, {
          runId,
          migration: migration.name,
          migrationVersion: migration.version,
          params: params as Record<string, unknown>,
          settings,
          firstEntity: entities[0] ?? null,
          totalEstimate: total,
          owner,
          leaseTimeoutMs: this.options.leaseTimeoutMs,
        });
      });
    const run = session.waitOutOutage
      ? await migrationOutageGuard(this.options.outageBudgetMs, runId).run(insert)
      : await insert();
    return this.launch(run, owner, 'start', session);
  }

  /** Continues from the checkpoint; also takes over a run whose owner's heartbeat went stale. */
  async resume(runId: string, session: ResumeOptions = {}): Promise<RunHandle> {
    if (session.maxRowsPerSecond !== undefined) validRate(session.maxRowsPerSecond);
    if (session.batchSize !== undefined) validBatchSize(session.batchSize);
    assertThisRelease(await this.get(runId));
    const { run, owner } = await this.lease(runId, RESUMABLE, 'resume', {
      maxRowsPerSecond: session.maxRowsPerSecond,
      batchSize: session.batchSize,
    });
    return this.launch(run, owner, 'resume', session);
  }

  /** Reprocesses only the batches recorded as failed. */
  async retryFailed(runId: string, session: SessionOptions = {}): Promise<RunHandle> {
    const before = await this.get(runId);
    assertThisRelease(before);
    if (before.batchesFailed === 0) {
      throw new RunStateError(runId, before.state, 'retry-failed', 'it has no failed batches');
    }
    const { run, owner } = await this.lease(runId, RETRYABLE, 'retry-failed');
    return this.launch(run, owner, 'retry-failed', session);
  }

  /** Sets `stopping` (the live runner parks the run `stopped` after its batch in flight). */
  async stop(runId: string): Promise<RunRecord> {
    assertRunId(runId);
    const updated = await this.inLockWait(runId, (tx) => leases.requestStop(tx, runId));
    if (updated) return updated;
    const run = await this.get(runId);
    // Already parked: what the caller asked for is so (a second operator, a script run twice).
    if (run.state === 'stopped') return run;
    throw new RunStateError(runId, run.state, 'stop', 'only running runs can be stopped');
  }

  /**
   * stop, then waits until the run is parked. A live runner parks it after its batch in flight; when
   * the runner is gone (killed: its heartbeat stops), the run is parked here as soon as its lease
   * has expired. `onWaiting` hears once how long the lease has left. StopTimeoutError after timeoutMs.
   */
  async stopAndWait(runId: string, opts: StopWaitOptions): Promise<RunRecord> {
    const deadline = Date.now() + opts.timeoutMs;
    // A database restart while it waits is waited out, up to the timeout: the stop is recorded, and a
    // command that gave up on a sub-second restart left the run `stopping` for a script to trip on.
    const reading = <T>(fn: () => Promise<T>) =>
      stopWaitGuard(runId, Math.max(1, deadline - Date.now())).run(fn);
    // A run row another session's transaction holds (RunRowHeldError) is tried again until the
    // timeout, which the command's --timeout promises.
    const untilHeld = async (fn: () => Promise<RunRecord>): Promise<RunRecord> => {
      for (;;) {
        try {
          return await reading(fn);
        } catch (error) {
          const left = deadline - Date.now();
          if (!(error instanceof RunRowHeldError) || left <= 0) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.min(opts.pollMs ?? 200, left)));
        }
      }
    };
    let run = await untilHeld(() => this.stop(runId));
    let told = false;
    while (run.state === 'stopping') {
      if (!run.ownerAlive) {
        // The lease expired with the run still `stopping`: nobody else will park it.
        run = await untilHeld(
          async () =>
            (await this.inLockWait(runId, (tx) => leases.requestStop(tx, runId))) ?? (await this.get(runId)),
        );
        continue;
      }
      if (!told) {
        told = true;
        const leaseLeftMs = (run.heartbeatAt?.getTime() ?? Date.now()) + run.leaseTimeoutMs - Date.now();
        opts.onWaiting?.(run, Math.max(0, leaseLeftMs));
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new StopTimeoutError(runId, run.owner, Math.round(opts.timeoutMs / 1000));
      await new Promise((resolve) => setTimeout(resolve, Math.min(opts.pollMs ?? 200, left)));
      run = await reading(() => this.get(runId));
    }
    return run;
  }

  /** fn in a transaction whose lock waits end after 5 s, as RunRowHeldError. */
  private inLockWait<T>(runId: string | undefined, fn: (tx: TransactionClient) => Promise<T>): Promise<T> {
    return this.db
      .transaction(async (tx) => {
        await limitLockWait(tx);
        return fn(tx);
      })
      .catch((error: unknown) => Promise.reject(lockWaitError(error, runId)));
  }

  async get(runId: string): Promise<RunRecord> {
    assertRunId(runId);
    const run = await store.getRun(this.db, runId);
    if (!run) throw new RunNotFoundError(runId);
    return run;
  }

  list(opts: { limit?: number; states?: readonly RunState[] } = {}): Promise<RunRecord[]> {
    return store.listRuns(this.db, opts);
  }

  async batches(
    runId: string,
    opts: { status?: 'succeeded' | 'failed'; limit?: number } = {},
  ): Promise<BatchRecord[]> {
    await this.get(runId);
    return store.listBatches(this.db, runId, opts);
  }

  private settings(request: StartRequest): RunSettings {
    const batchSize = validBatchSize(request.batchSize ?? this.options.defaultBatchSize);
    const maxFailedBatches = request.maxFailedBatches ?? this.options.defaultMaxFailedBatches;
    if (
      !Number.isInteger(maxFailedBatches) ||
      maxFailedBatches < 0 ||
      maxFailedBatches > MAX_FAILED_BATCHES
    ) {
      throw new InvalidInputError(
        'invalid_argument',
        `max failed batches must be from 0 to ${MAX_FAILED_BATCHES}, got ${maxFailedBatches}`,
      );
    }
    const rate = validRate(request.maxRowsPerSecond ?? null);
    return { batchSize, maxFailedBatches, maxRowsPerSecond: rate, dryRun: request.dryRun === true };
  }

  private async lease(
    runId: string,
    from: readonly RunState[],
    operation: string,
    changes: leases.SessionChanges = {},
  ): Promise<{ run: RunRecord; owner: string }> {
    const before = await this.get(runId);
    // A session's own: two sessions of one process (an API server resuming a run whose session
    // still waits out an outage) must not pass each other's owner fences.
    const owner = ownerId();
    const migration = getMigration(before.migration);
    const leased = await this.inLockWait(runId, async (tx) => {
      if (!before.dryRun) {
        await serializeRunStarts(tx);
        const entities = migration.entities(migration.parseParams(before.params));
        await assertNoOverlap(tx, { runId, migration: before.migration, entities });
      }
      return leases.acquireLease(tx, runId, owner, this.options.leaseTimeoutMs, from, changes);
    });
    if (leased) return { run: leased, owner };
    const now = await this.get(runId);
    if (now.ownerAlive && now.owner) {
      const expires = (now.heartbeatAt?.getTime() ?? Date.now()) + now.leaseTimeoutMs - Date.now();
      throw new RunLockedError(
        runId,
        now.owner,
        expires,
        now.state === 'stopping',
        ownerProcessGone(now.owner),
      );
    }
    const hint =
      now.state === 'succeeded'
        ? 'nothing left to do'
        : now.state === 'partially_failed'
          ? 'use retry-failed to reprocess its failed batches'
          : '';
    throw new RunStateError(runId, now.state, operation, hint);
  }

  private launch(run: RunRecord, owner: string, mode: SessionMode, opts: SessionOptions): RunHandle {
    const session = new Session(
      this.db,
      getMigration(run.migration),
      run,
      { ...this.options, owner },
      mode,
      opts.onProgress,
    );
    // In the background, so with no lock-wait limit of the caller's (an API request's): a batch
    // waits for a row another session holds as long as it is held, and nobody waits on the batch.
    const done = withoutLockWaitLimit(() => session.execute());
    // The session's span starts before its first await: the run as the session records it at once,
    // so a caller (the API's 202) gets this session's trace, not the previous one's or none.
    const current = session.traceIds ? { ...run, ...session.traceIds } : run;
    return { runId: run.runId, run: current, done, stop: () => session.requestStop() };
  }
}
