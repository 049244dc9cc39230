import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogFields } from './logger.ts';

/**
 * The one log line of a unit of work that has its own line (an API request: the access line).
 * Operations inside it add their fields here instead of writing a line of their own, so a request
 * costs one log record, not one per layer. It closes when its owner writes the line: an operation
 * that outlives the request (a migration session started by it) writes its own lines again.
 */
export class CanonicalLine {
  private readonly fields: Record<string, LogFields[string]> = {};
  private error: unknown;
  private open = true;

  /** Adds an operation's fields (and its error); false once the line was written. */
  add(fields: LogFields, error?: unknown): boolean {
    if (!this.open) return false;
    for (const key of Object.keys(fields)) {
      if (fields[key] !== undefined) this.fields[key] = fields[key];
    }
    if (error !== undefined) this.error = error;
    return true;
  }

  /** Closes the line and hands back what the operations inside it added. */
  close(): { readonly fields: LogFields; readonly error: unknown } {
    this.open = false;
    return { fields: this.fields, error: this.error };
  }
}

// A store of its own rather than the OpenTelemetry context: with telemetry disabled there is no
// context manager, and a request's operations wrote lines of their own beside its access line, which
// lost their fields (the run a migration request named, the job a delete enqueued).
const lines = new AsyncLocalStorage<CanonicalLine>();

/** Runs `fn` (a request's handler) with `line` as the line its operations add their fields to. */
export function withCanonicalLine<T>(line: CanonicalLine, fn: () => T): T {
  return lines.run(line, fn);
}

/**
 * Adds fields to the active unit of work's line. Returns false when there is none (CLI, worker,
 * migration session, or a request that already ended): the caller then writes its own line.
 */
export function addToCanonicalLine(fields: LogFields, error?: unknown): boolean {
  return lines.getStore()?.add(fields, error) ?? false;
}
