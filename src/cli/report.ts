import type { OperationResult } from '../soft-delete/index.ts';
import { type Cell, formatTable, printJson } from './output.ts';

/** One row of the "what happened" table shared by delete, restore, purge, archive and the demo. */
export function resultRow(result: OperationResult, step?: string): Record<string, Cell> {
  const cascaded = Object.entries(result.cascaded)
    .filter(([, n]) => n > 0)
    .map(([entity, n]) => `${entity}:${n}`)
    .join(' ');
  return {
    ...(step === undefined ? {} : { step }),
    entity: result.entity,
    operation: result.operation,
    success: result.counts.success,
    noop: result.counts.noop,
    failure: result.counts.failure,
    cascaded: cascaded || '-',
    // purge/archive: rows past the cutoff that had to stay, and why.
    skipped:
      Object.entries(result.skipped ?? {})
        .filter(([, n]) => n > 0)
        .map(([reason, n]) => `${n} (${reason})`)
        .join(' ') || '-',
    batches: result.batches,
    'time (ms)': Math.round(result.durationMs),
  };
}

export function printResult(result: OperationResult, json: boolean): void {
  if (json) printJson(result);
  else process.stdout.write(`${formatTable([resultRow(result)])}\n`);
}
