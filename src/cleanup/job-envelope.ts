import type { TraceCarrier } from '../observability/index.ts';
import { isRecord } from './payload-fields.ts';

/** What travels in pg-boss's `data` column: the payload plus where and when it came from. */
export interface JobEnvelope {
  readonly jobType: string;
  readonly payload: Record<string, unknown>;
  readonly meta: {
    /** The job id we chose at enqueue; dead-letter copies keep it, so a dead job finds its original. */
    readonly jobId?: string;
    readonly enqueuedAt?: string;
    /** W3C context of whoever enqueued the job; the job's span links to it. */
    readonly trace?: TraceCarrier;
  };
}

/** Reads a job row's `data`; undefined when it is not an envelope (a row written by something else). */
export function parseEnvelope(data: unknown): JobEnvelope | undefined {
  if (!isRecord(data) || typeof data.jobType !== 'string' || !isRecord(data.payload)) return undefined;
  const meta = isRecord(data.meta) ? data.meta : {};
  const trace = isRecord(meta.trace) && typeof meta.trace.traceparent === 'string' ? meta.trace : undefined;
  return {
    jobType: data.jobType,
    payload: data.payload,
    meta: {
      ...(typeof meta.jobId === 'string' ? { jobId: meta.jobId } : {}),
      ...(typeof meta.enqueuedAt === 'string' ? { enqueuedAt: meta.enqueuedAt } : {}),
      ...(trace ? { trace: trace as unknown as TraceCarrier } : {}),
    },
  };
}
