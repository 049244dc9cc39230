import { AsyncLocalStorage } from 'node:async_hooks';

/** Fields every record made inside a unit of work carries (a cleanup job attempt's job_type, job_id, attempt). */
export type ScopedLogFields = Readonly<Record<string, string | number>>;

// A store of its own rather than the OpenTelemetry context: that one has no context manager when
// telemetry is disabled, and the console lines must name the job all the same.
const scope = new AsyncLocalStorage<ScopedLogFields>();

/**
 * Runs `fn` with `fields` on every log record made inside it, by any component's logger: a job's
 * handler logs through the soft-delete core's logger, which knows nothing of the job, and its lines
 * must still be found by `job_id` (docs/telemetry.md "Log fields"). A record's own fields win.
 */
export function withLogFields<T>(fields: ScopedLogFields, fn: () => T): T {
  const outer = scope.getStore();
  return scope.run(outer ? { ...outer, ...fields } : fields, fn);
}

export function scopedLogFields(): ScopedLogFields | undefined {
  return scope.getStore();
}
