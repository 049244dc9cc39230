import { errorMessage } from '../errors.ts';
import { consoleCaughtUp, getLogger, shutdownActiveTelemetry } from '../observability/index.ts';
import { exitWhenDrained } from './exit.ts';
import { errorLine } from './output.ts';

/** How long a crashing process waits for its last exports; a collector that is down costs 250 ms. */
const CRASH_EXPORT_TIMEOUT_MS = 3_000;

/**
 * An error nothing caught (a throw in an event handler, a promise nobody awaited) ends the process
 * as every other failure does: a log record with the stack, then one line naming `internal_error`,
 * exit 1. Node's default printed a bare stack trace (probe L), where the runbook tells the on-call
 * engineer that a process's last line names its code. The record is exported too (bounded): the
 * crash of a process nobody watches is read in Loki.
 */
export function crashesAsOneLine(json: boolean): void {
  let crashed = false;
  const crash = (error: unknown): void => {
    if (crashed) return;
    crashed = true;
    getLogger('process').error('the process ended on an error nothing caught (a defect)', {}, error);
    void shutdownActiveTelemetry(CRASH_EXPORT_TIMEOUT_MS)
      .catch(() => undefined)
      .then(consoleCaughtUp)
      .catch(() => undefined)
      .then(() => {
        process.stderr.write(
          errorLine('internal_error', 'internal', `crashed: ${errorMessage(error)}`, json),
        );
        return exitWhenDrained(() => 1);
      });
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}
