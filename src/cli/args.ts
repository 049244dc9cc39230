import { assertJobType, canonicalJobId, BUILTIN_JOB_TYPES } from '../cleanup/index.ts';
import type { CleanupSettings } from '../cleanup/index.ts';
import { checkWorkerCrons } from '../config.ts';
import { type ErrorCode, InvalidInputError } from '../errors.ts';
import { getEntity } from '../soft-delete/index.ts';
import { commaList, isBlank, isWholeNumberText, quoted } from '../validation/index.ts';
import { assertRunId } from '../migration/index.ts';

/**
 * Option parsers: bad values become InvalidInputError (exit code 2) before anything runs. `code` is
 * the one the core gives the same mistake (invalid_batch_size, invalid_scope ...), so a script
 * branches on one code whichever surface refused the value; the message names the flag.
 */
export function wholeNumber(
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
  code: ErrorCode = 'invalid_argument',
): (raw: string) => number {
  return (raw) => {
    const value = Number(raw);
    if (!isWholeNumberText(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidInputError(
        code,
        `${name} must be a whole number from ${min} to ${max}, got ${quoted(raw)}`,
      );
    }
    return value;
  };
}

export function positiveInt(
  name: string,
  max = Number.MAX_SAFE_INTEGER,
  code: ErrorCode = 'invalid_argument',
): (raw: string) => number {
  return wholeNumber(name, 1, max, code);
}

/** Text that must not be empty or blank (an unset shell variable must not mean "the default"). */
export function nonBlank(name: string): (raw: string) => string {
  return (raw) => {
    if (isBlank(raw)) throw new InvalidInputError('invalid_argument', `${name} must not be empty`);
    return raw;
  };
}

/** Plain decimal notation only: Number() would also take "0x10", "1e2" and "", which no one means. */
const DECIMAL = /^(\d+(\.\d*)?|\.\d+)$/;

export function nonNegativeNumber(
  name: string,
  max = Number.POSITIVE_INFINITY,
  code: ErrorCode = 'invalid_argument',
): (raw: string) => number {
  return (raw) => {
    const value = Number(raw);
    if (!DECIMAL.test(raw) || value > max) {
      const range = Number.isFinite(max) ? `from 0 to ${max}` : '>= 0';
      throw new InvalidInputError(code, `${name} must be a number ${range}, got ${quoted(raw)}`);
    }
    return value;
  };
}

/**
 * A comma list option, repeatable (`--x a,b --x c`): items trimmed, repeats dropped; an empty item
 * (a stray comma, an unset shell variable) is refused rather than quietly dropped.
 */
const REPEATABLE = Symbol('sdops.repeatable');

/** Marks an option parser that folds repeated uses together (a list, filters): see isRepeatable. */
export function repeatable<F extends (raw: string, previous?: never) => unknown>(parse: F): F {
  return Object.assign(parse, { [REPEATABLE]: true });
}

/** Whether an option may be given more than once; any other option given twice is refused. */
export function isRepeatable(parse: unknown): boolean {
  return typeof parse === 'function' && (parse as { [REPEATABLE]?: boolean })[REPEATABLE] === true;
}

export function listOption(name: string): (raw: string, previous?: string[]) => string[] {
  return repeatable((raw: string, previous: string[] = []) => {
    const items = commaList(raw);
    if (items.includes('')) {
      throw new InvalidInputError(
        'invalid_argument',
        `${name} must be names separated by single commas, got ${quoted(raw)}`,
      );
    }
    return [...new Set([...previous, ...items])];
  });
}

export function oneOf<T extends string>(
  name: string,
  allowed: readonly T[],
  code: ErrorCode = 'invalid_argument',
): (raw: string) => T {
  return (raw) => {
    if (!allowed.includes(raw as T)) {
      throw new InvalidInputError(code, `${name} must be one of ${allowed.join(', ')}, got ${quoted(raw)}`);
    }
    return raw as T;
  };
}

/** `--filter column=value`, repeatable; the core checks the column against the entity registry. */
export const collectFilter = repeatable(function collectFilter(
  raw: string,
  previous: Record<string, string> = {},
): Record<string, string> {
  const eq = raw.indexOf('=');
  if (eq <= 0) {
    throw new InvalidInputError('invalid_filter', `--filter must look like column=value, got ${quoted(raw)}`);
  }
  const column = raw.slice(0, eq).trim();
  // The later value used to replace the earlier one without a word: a destructive command then
  // acted on a set nobody typed (AND of two values matches nothing; OR is not what filters do).
  if (Object.hasOwn(previous, column)) {
    throw new InvalidInputError(
      'invalid_filter',
      `--filter ${column} given twice: filters on different columns all apply (AND), one value per column`,
    );
  }
  return { ...previous, [column]: raw.slice(eq + 1) };
});

/*
 * Argument checks that need no database: run before a command opens one, so a typo neither creates
 * an embedded data directory nor waits for (or is refused by) a database it never needed.
 */

export function entityArgument(raw: string): string {
  return getEntity(raw).name;
}

export function runIdArgument(raw: string): string {
  assertRunId(raw);
  return raw;
}

export function jobIdArgument(raw: string): string {
  return canonicalJobId(raw);
}

export function jobTypeArgument(raw: string): string {
  assertJobType(raw, BUILTIN_JOB_TYPES);
  return raw;
}

/**
 * The settings of a process that runs the cleanup worker, checked before it opens anything: an
 * unknown job type or a cron pg-boss cannot run is refused (exit 2) with no data directory created,
 * no schema applied and no database waited for.
 */
export async function refuseBadWorkerSettings(
  settings: CleanupSettings,
  jobTypes: readonly string[] | undefined = undefined,
): Promise<void> {
  if (jobTypes) for (const type of jobTypes) jobTypeArgument(type);
  else for (const type of settings.jobTypes ?? []) envJobType(type);
  await checkWorkerCrons(settings);
}

/** A job type from SDOPS_WORKER_JOB_TYPES: its error names the variable, as every setting's does. */
function envJobType(type: string): void {
  try {
    jobTypeArgument(type);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    throw new InvalidInputError(error.code, `SDOPS_WORKER_JOB_TYPES has an ${error.message}`);
  }
}
