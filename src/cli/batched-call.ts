import { refusedByDatabase } from '../db/index.ts';
import { ConflictError, errorMessage, NotFoundError, SdopsError } from '../errors.ts';
import type { OperationProgress, OperationResult } from '../soft-delete/index.ts';
import { consoleCaughtUp } from '../observability/index.ts';
import { errorLine } from './output.ts';
import { progressWanted, startProgress } from './progress.ts';
import type { CliContext } from './context.ts';
import { printResult } from './report.ts';
import { onStopSignals } from './stop-signals.ts';

/** What a batched call of the core takes from the command that runs it. */
export interface BatchedCallHooks {
  readonly onProgress: (e: OperationProgress) => void;
  readonly signal: AbortSignal;
}

function committedSoFar(last: OperationProgress, sdops: string | undefined): string {
  const batches = last.batch === 1 ? '1 batch' : `${last.batch} batches`;
  const children = Object.entries(last.cascaded ?? {})
    .filter(([, n]) => n > 0)
    .map(([entity, n]) => `${n} ${entity}`);
  // Rows already in the asked state count as handled: "5450 handled" was read as 5450 deleted.
  const changed =
    last.changed !== undefined && last.changed !== last.processed ? ` (${last.changed} of them changed)` : '';
  const cascade = children.length > 0 ? ` (with ${children.join(', ')} rows by cascade)` : '';
  // The op id was printed only with a result: a delete cut off by an outage left no way to undo it but SQL.
  const undo =
    last.opId !== undefined && sdops !== undefined
      ? ` (undo them: ${sdops} restore ${last.entity} --filter delete_op_id=${last.opId})`
      : '';
  return `${last.processed} ${last.entity} rows${cascade} were handled${changed} in ${batches} committed before it, and they stay${undo}`;
}

/**
 * How to finish: the same command again. After committed batches it runs under a new op id, so an
 * undo of the whole then takes both restores (probe C: an operator undid the second part only).
 */
function rerunHint(last: OperationProgress | undefined): string {
  const again = 'running the same command again does the rest';
  return last === undefined || last.batch === 0 || last.opId === undefined
    ? again
    : `${again}, under an op id of its own (undoing all of it then takes both restores)`;
}

/**
 * A call that fails midway (an outage past its budget, a rule of the database) has committed its
 * batches so far: its one line says how much was done, so the operator knows the failure was partial.
 */
function withCommittedWork(
  thrown: unknown,
  last: OperationProgress | undefined,
  sdops: string | undefined,
): unknown {
  const error = refusedByDatabase(thrown, { withMessage: true }) ?? thrown;
  if (last === undefined || last.batch === 0) return error;
  const done = `${committedSoFar(last, sdops)}; ${rerunHint(last)}`;
  if (error instanceof SdopsError) {
    if (error.kind === 'invalid_input') return error;
    return new SdopsError(error.code, `${error.message}; ${done}`, error.kind, { cause: error });
  }
  return new SdopsError('failed', `failed: ${errorMessage(error)}; ${done}`, 'internal', { cause: error });
}

/** Rows of an id list the call could not change: the command did not do all it was asked. */
function failedRows(result: OperationResult): SdopsError | undefined {
  const { failure, success, noop } = result.counts;
  if (failure === 0) return undefined;
  // The result names up to 100 ids of each kind: say how many more there are, or 100 looks like all.
  const unlisted = failure - (result.notFoundIds?.length ?? 0) - (result.conflictIds?.length ?? 0);
  const why = [
    ...(result.notFoundIds?.length ? [`not found: ${result.notFoundIds.join(' ')}`] : []),
    ...(result.conflictIds?.length
      ? [`a live row holds the same unique value: ${result.conflictIds.join(' ')}`]
      : []),
    ...(unlisted > 0 ? [`${unlisted} more not listed`] : []),
  ].join('; ');
  const rest = success + noop === 0 ? 'none was changed' : 'the others were done';
  const message = `${failure} of ${failure + success + noop} ${result.entity} rows failed (${why}); ${rest}`;
  return result.conflictIds?.length
    ? new ConflictError('conflict', message)
    : new NotFoundError('not_found', message);
}

/**
 * Runs one delete, restore, purge or archive for a command: a progress bar fed by the core's
 * per-batch events; Ctrl-C or SIGTERM stops it after the batch in flight (a second one exits at
 * once), and the result is printed and counted like any other; then the command fails (exit 1) if
 * the call was stopped, failed midway, or could not change some of the rows it was given.
 */
export async function runBatchedCall(
  label: string,
  ctx: Pick<CliContext, 'json' | 'sdopsHere'>,
  call: (hooks: BatchedCallHooks) => Promise<OperationResult>,
): Promise<void> {
  const { json } = ctx;
  const bar = startProgress(label, undefined, progressWanted(json));
  const stop = new AbortController();
  let last: OperationProgress | undefined;
  const removeSignals = onStopSignals(
    (signal) => {
      // With --json, stderr holds only JSON lines: the error line at the end says it stopped.
      if (!json)
        process.stderr.write(`${signal}: stopping ${label} after the batch in flight (again to abort)\n`);
      stop.abort();
    },
    (signal) => {
      bar.stop();
      // Exiting at once left the operator guessing what had happened: the batch in flight rolls
      // back with the connection, the committed ones stay.
      const what =
        last === undefined || last.batch === 0
          ? 'nothing was changed'
          : `the batch in flight rolls back; ${committedSoFar(last, ctx.sdopsHere)}`;
      process.stderr.write(
        errorLine(
          'operation_stopped',
          'internal',
          `${label} aborted at once by a second ${signal}: ${what}; ${rerunHint(last)}`,
          json,
        ),
      );
    },
  );
  let result: OperationResult;
  try {
    result = await call({
      signal: stop.signal,
      onProgress: (e) => {
        last = e;
        bar.update(e.processed, e.total);
      },
    });
  } catch (error) {
    throw withCommittedWork(error, last, ctx.sdopsHere);
  } finally {
    removeSignals();
    bar.stop();
  }
  await consoleCaughtUp();
  printResult(result, json, ctx.sdopsHere);
  if (result.stopped === 'interrupted') {
    const what =
      last === undefined || last.batch === 0
        ? 'stopped before its first batch: nothing was changed'
        : `stopped: ${committedSoFar(last, undefined)}`;
    throw new SdopsError('operation_stopped', `${label} ${what}; ${rerunHint(last)}`);
  }
  const failed = failedRows(result);
  if (failed) throw failed;
}
