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

/**
 * A delete that changed rows says how to undo it: its op id was only in `--json` output and the
 * table, so an operator who deleted the wrong rows had to find the id in SQL.
 */
export function undoHint(result: OperationResult, sdops: string | undefined): string | undefined {
  if (sdops === undefined || result.operation !== 'delete' || !result.opId) return undefined;
  const changed = result.counts.success + Object.values(result.cascaded).reduce((a, n) => a + n, 0);
  if (changed === 0) return undefined;
  return `undo: ${sdops} restore ${result.entity} --filter delete_op_id=${result.opId}`;
}

/** `sdops`: how the undo line runs sdops on this database (CliContext.sdopsHere; none for --memory). */
export function printResult(result: OperationResult, json: boolean, sdops: string | undefined): void {
  if (json) {
    printJson(result);
    return;
  }
  const undo = undoHint(result, sdops);
  process.stdout.write(`${formatTable([resultRow(result)])}\n${undo ? `${undo}\n` : ''}`);
}
