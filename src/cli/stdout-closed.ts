import { errorMessage, EXIT_FAILURE, EXIT_OK } from '../errors.ts';
import { errorLine } from './output.ts';

/** Stdout failed, other than by a reader that stopped early: the command then exits 1. */
let outputLost = false;
/** The reader of stdout went away (EPIPE): output goes nowhere from now on. */
let readerGone = false;

/** Whether stdout's reader went away (`| head` done): a loop that only produces output then stops. */
export function outputReaderGone(): boolean {
  return readerGone;
}

/**
 * A reader that stops early (`sdops list customers | head`) closes the pipe: further output is
 * dropped instead of ending the command with an EPIPE stack trace. Any other failure to write (a
 * full disk behind `> file`, /dev/full) is one line on stderr, not a stack trace after a delete that
 * committed. Either way the command still finishes and closes its database properly.
 */
export function tolerateClosedStdout(json: boolean): void {
  // Stderr's reader gone too (`2>&1 | less` quit, or the pipe's reader died with the Ctrl-C that
  // reached the whole group): an unheard EPIPE was an uncaught error, "a defect", in place of the
  // command's own ending and exit code. Nothing is left to say it on.
  process.stderr.on('error', () => undefined);
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') {
      readerGone = true;
      return;
    }
    if (outputLost) return;
    outputLost = true;
    process.stderr.write(
      errorLine(
        'output_not_written',
        'internal',
        `the output could not be written (${errorMessage(error)}); whatever the command changed stays done`,
        json,
      ),
    );
  });
}

/** The command's exit code, 1 if its output was lost. */
export function exitCodeAfterOutput(code: number): number {
  return code === EXIT_OK && outputLost ? EXIT_FAILURE : code;
}
