import { ConflictError, InvalidInputError, NotFoundError, SdopsError } from '../errors.ts';
import { isUuid, quoted } from '../validation/index.ts';

export class UnknownJobTypeError extends InvalidInputError {
  constructor(name: string, known: readonly string[]) {
    super('unknown_job_type', `unknown job type ${quoted(name)} (known: ${known.join(', ')})`);
  }
}

export class InvalidPayloadError extends InvalidInputError {
  constructor(jobType: string, message: string) {
    super('invalid_payload', `invalid ${jobType} payload: ${message}`);
  }
}

class InvalidJobIdError extends InvalidInputError {
  constructor(raw: string) {
    super('invalid_job_id', `malformed job id ${JSON.stringify(raw)}: expected a UUID`);
  }
}

/**
 * A job id must be a UUID (pg-boss's ids): refused before any database is opened. Returned as
 * pg-boss writes it, lowercase, so answers do not echo the caller's spelling.
 */
export function canonicalJobId(raw: string): string {
  if (!isUuid(raw)) throw new InvalidJobIdError(raw);
  return raw.toLowerCase();
}

export class JobNotFoundError extends NotFoundError {
  constructor(id: string) {
    super(
      'job_not_found',
      `job ${id} does not exist (pg-boss deletes a job 7 days after it ended, and a dead-letter copy once it is retried: retry the job by its own id)`,
    );
  }
}

/**
 * A pg-boss job state as `sdops queue status`, `--state` and the docs name it: `created` is waiting,
 * `retry` is retrying (waiting for its next attempt); the others keep pg-boss's names.
 */
export function stateName(state: string): string {
  return state === 'created' ? 'waiting' : state === 'retry' ? 'retrying' : state;
}

export class JobNotRetryableError extends ConflictError {
  constructor(id: string, state: string) {
    super('job_not_retryable', `job ${id} is ${stateName(state)}; only failed or dead jobs can be retried`);
  }
}

/** A dead job that cannot run again: no sdops envelope (written to pgboss.job directly), or no queue for its type. */
export class DeadCopyNotRetryableError extends ConflictError {
  /** `payloadProblem`: why its payload is refused, for a job that would only fail the same way again. */
  constructor(id: string, jobType: string | undefined, payloadProblem?: string) {
    super(
      // One code per cause, so `retry --dead`'s skipped entries can be told apart without their text.
      jobType === undefined
        ? 'job_without_envelope'
        : payloadProblem !== undefined
          ? 'invalid_payload'
          : 'unknown_job_type',
      jobType === undefined
        ? `dead job ${id} carries no sdops job envelope (it was written to pgboss.job directly), so it cannot run again; cancel it (sdops queue cancel ${id})`
        : payloadProblem !== undefined
          ? `dead job ${id} would fail again at once (${payloadProblem}); cancel it (sdops queue cancel ${id})`
          : `dead job ${id} is of job type "${jobType}", which no queue serves any more; cancel it (sdops queue cancel ${id})`,
    );
  }
}

/** The handler ran past the job's lease: the attempt counts as failed and the job is retried. */
export class JobTimeoutError extends SdopsError {
  constructor(seconds: number) {
    super('job_timeout', `job did not finish within its ${seconds}s lease`, 'unavailable');
  }
}

/**
 * The job's heartbeat was not seen for its heartbeat time, so a worker's maintenance failed it and it
 * runs again: this attempt stops (statements cancelled) and records nothing; the retry is the job now.
 */
export class JobClaimLostError extends SdopsError {
  /** Without `heartbeatSeconds`: the attempt finished, and found its job taken when it completed it. */
  constructor(heartbeatSeconds?: number) {
    super(
      'job_claim_lost',
      heartbeatSeconds === undefined
        ? 'the job was failed under this attempt (its heartbeat or lease ran out) and runs again: its completion was not recorded'
        : `the job's heartbeat was not seen for ${heartbeatSeconds}s, so it was failed and runs again; this attempt stopped`,
      'unavailable',
    );
  }
}

/** The worker stopped before the job finished; the job is handed back for another attempt. */
export class WorkerShutdownError extends SdopsError {
  constructor() {
    super('worker_shutdown', 'the worker shut down before the job finished', 'unavailable');
  }
}

export class JobNotCancellableError extends ConflictError {
  constructor(id: string, state: string) {
    super(
      'job_not_cancellable',
      state === 'active'
        ? `job ${id} is running; a running job cannot be cancelled (let it finish, or stop its worker)`
        : state === 'failed'
          ? // Its copies find their original by meta.jobId, which a job not enqueued by sdops lacks.
            `job ${id} is failed and no dead-letter copy of it is waiting: they were cancelled or retried already, or, for a job not enqueued by sdops, they do not name it; cancel such a copy by its own id (the runbook's dead jobs query lists them)`
          : `job ${id} is ${stateName(state)}; only waiting jobs and dead-letter copies can be cancelled`,
    );
  }
}
