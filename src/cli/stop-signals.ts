import { errorLine } from './output.ts';

/**
 * Ctrl-C and SIGTERM over a CLI process's whole life. A command that can stop gracefully takes them
 * with onStopSignals; serve and worker wait for them with their own listeners. At every other moment
 * (start-up, commands without a graceful stop, a second signal after a graceful one was taken, the
 * closing after a command's result) the fallback installed by installStopSignals answers: Node's
 * default there was to die silently with 130, leaving the operator without a line, and a command
 * whose result was already decided lost the line that says it.
 */

const exitCodeOf = (signal: NodeJS.Signals): number => (signal === 'SIGINT' ? 130 : 143);

interface Fallback {
  readonly json: boolean;
  /** Prints the error line of a decided outcome (nothing for success) and returns its exit code. */
  readonly report: (outcome: unknown) => number;
}

let fallback: Fallback | undefined;
/** Set once the command's result is decided and it is closing (database, telemetry flush). */
let decided: { outcome: unknown } | undefined;

function onFallback(signal: NodeJS.Signals): void {
  // Prepended, so it runs before the listeners of a graceful stop, which then own the signal.
  if (!fallback || process.listenerCount(signal) > 1) return;
  if (decided) {
    // The work is over and its result printed: leave now with the code that result has, instead of
    // waiting for the telemetry flush, and with the line that says why when it failed.
    process.exit(fallback.report(decided.outcome));
  }
  process.stderr.write(
    errorLine(
      'interrupted',
      'internal',
      `interrupted by ${signal}: the write in flight, if any, rolled back; what was committed before stays`,
      fallback.json,
    ),
  );
  process.exit(exitCodeOf(signal));
}

/** Once per process, before any command runs. */
export function installStopSignals(options: Fallback): void {
  if (fallback === undefined) {
    process.prependListener('SIGINT', onFallback).prependListener('SIGTERM', onFallback);
  }
  fallback = options;
  decided = undefined;
}

/** The command's result is decided (`outcome` is what it threw, or undefined): it only closes now. */
export function closingWith(outcome: unknown): void {
  decided = { outcome };
}

/**
 * How a command that can stop gracefully takes Ctrl-C and SIGTERM: the first one calls `onFirst`
 * (finish the batch or run in flight), a second one calls `onSecond` (one line saying what stays)
 * and exits at once with 128 + the signal number (130, 143). Returns the function that removes
 * the handlers.
 */
export function onStopSignals(
  onFirst: (signal: NodeJS.Signals) => void,
  onSecond: (signal: NodeJS.Signals) => void = () => {},
): () => void {
  let received = false;
  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      onSecond(signal);
      process.exit(exitCodeOf(signal));
    }
    received = true;
    onFirst(signal);
  };
  process.on('SIGINT', handler).on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler).off('SIGTERM', handler);
  };
}
