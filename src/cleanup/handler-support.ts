import type { OperationResult } from '../soft-delete/index.ts';
import type { JobContext, JobHandler, JobResult } from './handlers-types.ts';
import type { JobPayloads } from './job-payloads.ts';
import type { BuiltinJobType } from './job-types.ts';
import { parsePayload } from './payload-parsers.ts';

/** Rows a call changed: its own entity's and its cascade's. */
export function changed(result: OperationResult): number {
  return result.counts.success + Object.values(result.cascaded).reduce((a, b) => a + b, 0);
}

/**
 * A call the job's signal stopped between batches (its lease ran out, or the worker hands it back at
 * shutdown) ends the attempt with the signal's reason, as a batch it cut short does: the core records
 * such a call as stopped, not failed (the attempt's own outcome says why).
 */
export function unlessStopped(result: OperationResult, signal: AbortSignal): OperationResult {
  if (result.stopped === 'interrupted') throw signal.reason;
  return result;
}

/** A built-in type's handler, given its payload parsed and checked. */
export function typed<K extends BuiltinJobType>(
  jobType: K,
  run: (payload: JobPayloads[K], ctx: JobContext) => Promise<JobResult>,
): JobHandler {
  return (raw, ctx) => run(parsePayload(jobType, raw), ctx);
}
