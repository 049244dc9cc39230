import { ConflictError, InvalidInputError, NotFoundError, SdopsError } from '../errors.ts';
import { quoted } from '../validation/index.ts';
import type { RunRecord } from './types.ts';

export class UnknownMigrationError extends InvalidInputError {
  constructor(name: string, known: readonly string[]) {
    super('unknown_migration', `unknown migration ${quoted(name)}; known: ${known.join(', ')}`);
  }
}

export class InvalidMigrationParamError extends InvalidInputError {
  constructor(message: string) {
    super('invalid_migration_param', message);
  }
}

export class RunNotFoundError extends NotFoundError {
  constructor(runId: string) {
    super('run_not_found', `no migration run with run_id ${runId}`);
  }
}

/** Another live runner holds the run's lease: two runners never work on one run. */
export class RunLockedError extends ConflictError {
  readonly runId: string;
  readonly owner: string;
  readonly leaseExpiresInMs: number;

  constructor(runId: string, owner: string, leaseExpiresInMs: number, stopping = false, ownerGone = false) {
    const expires = `${Math.max(0, Math.ceil(leaseExpiresInMs / 1000))}s`;
    super(
      'run_locked',
      ownerGone
        ? // "Being processed" sent the operator to stop a runner that a kill -9 had already ended.
          `run ${runId} belonged to ${owner}, a process of this host that is gone; its lease expires in ${expires}: ` +
            `\`sdops migrate stop ${runId} --wait\` waits for that and parks the run, then \`sdops migrate resume ${runId}\``
        : stopping
          ? // Telling the operator to stop a run already stopping sent them round in a circle.
            `run ${runId} is stopping: ${owner} parks it as stopped after its batch in flight (its lease expires in ${expires}); ` +
            `resume it once \`sdops migrate status ${runId}\` shows stopped`
          : `run ${runId} is being processed by ${owner}; its lease expires in ${expires} ` +
            `unless that runner keeps its heartbeat (stop it with \`sdops migrate stop ${runId}\`)`,
    );
    this.runId = runId;
    this.owner = owner;
    this.leaseExpiresInMs = leaseExpiresInMs;
  }
}

/** The run's state does not allow the requested operation (e.g. resuming a succeeded run). */
export class RunStateError extends ConflictError {
  constructor(runId: string, state: string, operation: string, hint = '') {
    super('run_state_conflict', `cannot ${operation} run ${runId}: it is ${state}${hint ? `; ${hint}` : ''}`);
  }
}

/**
 * The run was started by another release: its migration has another version here, or none, or its
 * stored params do not parse. Resuming it with this release's logic would migrate its rest
 * differently from its start (a rolling upgrade has two releases side by side).
 */
export class RunOtherReleaseError extends ConflictError {
  constructor(runId: string, why: string) {
    super('run_other_release', `run ${runId} ${why}: resume it with the release that started it`);
  }
}

/**
 * Starting, resuming or stopping a run waited 5 s (the lock timeout in overlap.ts) for a lock another
 * session's transaction holds: most likely a runner stopped (SIGSTOP, a paused VM) between a batch's
 * last write and its COMMIT. Waiting on it without a limit hung the command, and every healthy
 * runner's heartbeat queued behind the wait, so their runs read as stale and could be taken over.
 */
export class RunRowHeldError extends ConflictError {
  constructor(runId: string | undefined) {
    super(
      'run_row_held',
      `${runId ? `run ${runId}` : 'the migration runs table'} is held by another session's open transaction ` +
        '(a runner stopped before its commit?); the database ends an idle transaction of sdops after 60 s: ' +
        'try again then, or end the session holding it (pg_stat_activity: state "idle in transaction")',
    );
  }
}

/** The runner's lease was taken over (its heartbeat went stale); its batch in flight was rolled back. */
export class LeaseLostError extends SdopsError {
  constructor(runId: string) {
    super(
      'lease_lost',
      `lost the lease on run ${runId} (another runner took it over, or a stop parked it)`,
      'conflict',
    );
  }
}

/**
 * The run's stored checkpoint is not where this session's batch started: the database lost a commit
 * the session was told of (synchronous_commit off, then a crash). Ends the session failed; a resume
 * goes on from the stored checkpoint, so no range is skipped.
 */
export class CheckpointMovedError extends SdopsError {
  constructor(runId: string, entity: string, keyFrom: string | null) {
    super(
      'checkpoint_moved',
      `run ${runId}: its stored checkpoint is not where this session's batch started (${entity} after ${keyFrom ?? 'the start'}); the database lost a commit it had confirmed (a crash with synchronous_commit off?): resume the run to go on from the stored checkpoint`,
    );
  }
}

/** The run's checkpoint names an entity outside the run: its stored state is damaged, not retryable. */
export class CheckpointMismatchError extends SdopsError {
  constructor(runId: string, entity: string) {
    super('checkpoint_mismatch', `run ${runId}: checkpoint entity ${entity} is not part of this run`);
  }
}

/** Raised by the test-only fault injection (see faults.ts). */
export class InjectedBatchFault extends SdopsError {
  constructor(migration: string, batchNo: number) {
    super('injected_fault', `injected failure of ${migration} batch ${batchNo} (SDOPS_MIGRATION_FAIL_BATCH)`);
  }
}

/** `stop --wait` gave up: the run is still `stopping` (its runner is alive and has not parked it). */
export class StopTimeoutError extends ConflictError {
  constructor(runId: string, owner: string | null, seconds: number) {
    super(
      'stop_timeout',
      `run ${runId} is still stopping after ${seconds} s: its runner ${owner ?? '(none)'} keeps its lease ` +
        'and has not finished its batch in flight; wait longer (--timeout) or see `sdops migrate status`',
    );
  }
}

/** Another run of the same migration is working (or was, until its owner died) on the same entities. */
export class RunOverlapError extends ConflictError {
  readonly otherRunId: string;

  constructor(other: RunRecord, entities: readonly string[]) {
    const owner = other.owner
      ? `, owner ${other.owner}${other.ownerAlive ? '' : ' (stale: its process is gone)'}`
      : '';
    super(
      'run_overlap',
      `run ${other.runId} of ${other.migration} is already ${other.state} on ${entities.join(', ')}${owner}; ` +
        `one run of a migration per entity at a time: wait for it, or stop it first ` +
        `(sdops migrate stop ${other.runId} --wait) and resume it later`,
    );
    this.otherRunId = other.runId;
  }
}
