import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { SdopsError } from '../errors.ts';
import { buildProgram } from './program.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_BAD_INPUT = 2;

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Maps every way a command can end to the documented exit codes: 0 ok, 1 failure, 2 bad input. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander already printed its one-line message (unknown option, missing argument ...).
    return error.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
  }
  if (error instanceof SdopsError) {
    process.stderr.write(`sdops: ${error.message}\n`);
    return error.kind === 'invalid_input' ? EXIT_BAD_INPUT : EXIT_FAILURE;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`sdops: failed: ${message}\n`);
  return EXIT_FAILURE;
}

export async function run(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram(packageVersion()).parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    return exitCodeFor(error);
  }
}
