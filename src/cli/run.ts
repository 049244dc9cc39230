import { CommanderError } from 'commander';
import { refusedByDatabase, refusedConnection } from '../db/index.ts';
import {
  EXIT_BAD_INPUT,
  EXIT_FAILURE,
  EXIT_OK,
  errorMessage,
  exitCodeForKind,
  SdopsError,
} from '../errors.ts';
import { consoleCaughtUp, packageVersion } from '../observability/index.ts';
import { errorLine } from './output.ts';
import { buildProgram } from './program.ts';
import { installStopSignals, reportedExitCode } from './stop-signals.ts';

/**
 * `--json` anywhere before a `--`: Commander takes the global option after the command too
 * (`sdops list customers --json`), and its output was JSON there while its errors were not.
 */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** Maps every way a command can end to the documented exit codes: 0 ok, 1 failure, 2 bad input. */
function exitCodeFor(thrown: unknown, json = false): number {
  // Named as the API names it: the same refusal is the same code on every surface.
  const error = refusedByDatabase(thrown, { withMessage: true }) ?? refusedConnection(thrown) ?? thrown;
  if (error instanceof CommanderError) {
    // Commander already printed its one line (unknown option, missing argument ...; program.ts).
    return error.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
  }
  if (error instanceof SdopsError) {
    process.stderr.write(errorLine(error.code, error.kind, error.message, json));
    return exitCodeForKind(error.kind);
  }
  const message = errorMessage(error);
  process.stderr.write(errorLine('failed', 'internal', json ? message : `failed: ${message}`, json));
  return EXIT_FAILURE;
}

export async function run(argv: readonly string[]): Promise<number> {
  const json = wantsJson(argv);
  installStopSignals({
    json,
    report: (outcome) => (outcome === undefined ? EXIT_OK : exitCodeFor(outcome, json)),
  });
  try {
    await buildProgram(packageVersion(), { json }).parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    // The warnings that led here come before the error line, not after it.
    await consoleCaughtUp();
    return reportedExitCode(error) ?? exitCodeFor(error, json);
  }
}
