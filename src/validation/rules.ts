/**
 * The input rules every surface checks the same way: the API's JSON schemas take the pattern
 * strings, the core, job payloads, the migration runner and the CLI the RegExps and limits. A leaf
 * (it imports nothing), so every layer may use it.
 */

/**
 * A UUID in its canonical 8-4-4-4-12 form, either case (PostgreSQL's uuid input accepts both). As a
 * JSON-schema pattern it must spell out both cases: ajv does not take regex flags.
 */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
export const UUID_LENGTH = 36;
const UUID = new RegExp(UUID_PATTERN);

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * Decimal texts from 1 to `max`, without leading zeros, as a regular expression: JSON Schema has no
 * bound for a number written as a string, so a published pattern of 19 digits let clients send ids
 * past PostgreSQL's bigint that the server then refused.
 */
function decimalUpTo(max: string): string {
  const n = max.length;
  const alternatives = [`[1-9][0-9]{0,${n - 2}}`];
  for (let i = 0; i < n; i++) {
    const digit = Number(max[i]);
    const lowest = i === 0 ? 1 : 0;
    const rest = n - 1 - i;
    if (digit > lowest)
      alternatives.push(`${max.slice(0, i)}[${lowest}-${digit - 1}]${rest > 0 ? `[0-9]{${rest}}` : ''}`);
  }
  alternatives.push(max);
  return `(?:${alternatives.join('|')})`;
}

/** A row id: a positive int8 in decimal, no leading zeros. */
const ID_DIGITS = decimalUpTo('9223372036854775807');
export const ID_PATTERN = `^${ID_DIGITS}$`;
/** A list cursor: the last id seen, or "0" for the beginning. */
export const CURSOR_PATTERN = `^(0|${ID_DIGITS})$`;
export const MAX_ID_LENGTH = 19;
const ID = new RegExp(ID_PATTERN);

const INT8_MAX = 9223372036854775807n;

/**
 * What is wrong with a text that is not an id (isIdText false), as the end of a message: a positive
 * number past PostgreSQL's bigint is too large, not "not a positive integer".
 */
export function idRule(value: unknown): string {
  // JSON numbers past 2^53 reach us rounded: quoting the rounded value named a number never sent.
  if (typeof value === 'number' && value > Number.MAX_SAFE_INTEGER) {
    return `a JSON number past ${Number.MAX_SAFE_INTEGER} loses digits on the way: send the id as a string`;
  }
  const text = typeof value === 'number' && Number.isInteger(value) ? String(value) : value;
  if (typeof text === 'string' && /^[1-9][0-9]*$/.test(text) && BigInt(text) > INT8_MAX)
    return `ids go up to ${INT8_MAX}`;
  // "007" is a positive integer to its reader: say what is wrong with it.
  if (typeof text === 'string' && /^0+[1-9][0-9]*$/.test(text))
    return 'expected a positive integer without leading zeros';
  return 'expected a positive integer';
}

/**
 * True for a positive int8 in canonical decimal (a JSON schema's pattern checks only the form, so
 * the surfaces that take a schema re-check through here). BigInt only for 19-digit values: bulk
 * lists of 100k ids are checked on the hot path.
 */
export function isIdText(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value) && (value.length < 19 || BigInt(value) <= INT8_MAX);
}

/** Which rows a read sees: live (not deleted), deleted only, or both. */
export const SCOPES = ['live', 'deleted', 'all'] as const;
export type Scope = (typeof SCOPES)[number];
export const DEFAULT_SCOPE: Scope = 'live';

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}

/** Most rows one batch (one transaction) may touch: soft delete, restore, retention, migrations. */
export const MAX_BATCH_SIZE = 100_000;

/** Failed batches a migration run may tolerate (sdops_migration_runs.max_failed_batches is an integer). */
export const MAX_FAILED_BATCHES = 1_000_000;

/** Jobs one worker process runs at a time (--concurrency, SDOPS_WORKER_CONCURRENCY). */
export const MAX_WORKER_CONCURRENCY = 256;

/** The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days): beyond it fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * A whole number as written on a command line or in a query string: decimal digits only. Number()
 * (and so ajv's coercion of query strings) also takes "0x10", "1e2", "0b11", " 1", "5.0", and ""
 * as 0, which no one means.
 */
export const WHOLE_NUMBER_PATTERN = '^[0-9]+$';
const WHOLE_NUMBER = new RegExp(WHOLE_NUMBER_PATTERN);

export function isWholeNumberText(value: unknown): value is string {
  return typeof value === 'string' && WHOLE_NUMBER.test(value);
}

/** The highest migration throttle (rows per second) any surface takes: 2^53 - 1, an exact integer. */
export const MAX_ROWS_PER_SECOND = Number.MAX_SAFE_INTEGER;

/** Rows one list call returns. */
export const MAX_LIST_LIMIT = 1000;
export const DEFAULT_LIST_LIMIT = 100;
/** Migration runs one list call returns when it names no limit (API, CLI and the store alike). */
export const DEFAULT_RUN_LIST_LIMIT = 50;

/** Free text (a reason, an actor, a text filter value): at most this many characters. */
export const MAX_TEXT_LENGTH = 1000;

/**
 * Length as people count characters, and as JSON schema's maxLength (ajv) does: code points, so an
 * emoji is one, not two UTF-16 units. Every surface measures MAX_TEXT_LENGTH with this.
 */
export function textLength(value: string): number {
  let length = 0;
  for (const _ of value) length++;
  return length;
}

/**
 * A refused value as an error message quotes it: JSON, cut after 80 characters (a 100 KB value
 * made a 100 KB line). Every "got ..." of a refusal that may echo a caller's text goes through it.
 */
export function quoted(value: unknown): string {
  // JSON has no Infinity or NaN (`1e400` parses to Infinity): "got null" named a value never sent.
  const text = typeof value === 'number' && !Number.isFinite(value) ? String(value) : json(value);
  return text.length > 80 ? `${text.slice(0, 80)}... (${text.length} characters)` : text;
}

/** A value nested thousands deep (JSON.parse takes it) overflowed the stack: an exit 1, an API 500. */
function json(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch (error) {
    if (error instanceof RangeError) return '(a value nested too deeply to show)';
    throw error;
  }
}

/** A lone UTF-16 surrogate: half of a pair without its other half. */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What isPlainText refuses, as the error messages of every surface say it. */
export const PLAIN_TEXT_RULE =
  'without NUL characters, unpaired surrogates or U+FFFD (what bytes that are not valid UTF-8 become)';

/**
 * Free text PostgreSQL stores as given: no NUL character (text cannot hold one, the statement fails),
 * no unpaired surrogate (it has no UTF-8 form; the driver would store U+FFFD instead), and no U+FFFD
 * itself: it is what Node makes of bytes that were not valid UTF-8 (a JSON body, a CLI argument), so
 * the text would be stored with the sender's characters already lost.
 */
export function isPlainText(value: string): boolean {
  return !value.includes('\0') && !value.includes('\uFFFD') && !UNPAIRED_SURROGATE.test(value);
}

/**
 * A character that shows: not white space (Unicode's White_Space, which also has U+0085 that \s
 * lacks), not a format character (Cf: zero-width space and joiners, direction marks and isolates,
 * byte order mark, tags) and not one Unicode says to draw as nothing (Default_Ignorable_Code_Point:
 * Hangul fillers, variation selectors, the combining grapheme joiner), nor the blank braille cell.
 * A reason of only "\u200B" or "\u3164" looked like an empty cell in every list.
 * The source is also the API schema's pattern (ajv compiles it with the u flag).
 */
const VISIBLE_CHARACTER = /[^\s\p{White_Space}\p{Cf}\p{Default_Ignorable_Code_Point}\u2800]/u;
export const NOT_BLANK_PATTERN = VISIBLE_CHARACTER.source;

/** Empty, or nothing but white space and invisible format characters. */
export function isBlank(value: string): boolean {
  return !VISIBLE_CHARACTER.test(value);
}

/**
 * Free text as every surface takes it (a reason, an actor): 1 to maxLength characters (textLength),
 * not blank, plain (isPlainText). FREE_TEXT_RULE says it in the refusal's words.
 */
export function isFreeText(value: unknown, maxLength = MAX_TEXT_LENGTH): value is string {
  return typeof value === 'string' && !isBlank(value) && textLength(value) <= maxLength && isPlainText(value);
}

export function freeTextRule(maxLength = MAX_TEXT_LENGTH): string {
  return `text of 1 to ${maxLength} characters, not blank, ${PLAIN_TEXT_RULE}`;
}

/** Retention and archive ages: up to 100 years, in days, fractions allowed (1.5 is 36 hours). */
export const MAX_OLDER_THAN_DAYS = 36_500;

/** The most rows one purge or archive call may be given to take (`--max-rows`, a job's `maxRows`). */
export const MAX_ROWS_PER_CALL = 100_000_000;

/**
 * The items of a comma-separated list, trimmed, repeats dropped ("a, b,a" is a and b). An empty item
 * ("a,", "a,,b", ",") stays as "": callers refuse it, since a stray comma is a typo, not "nothing".
 */
export function commaList(raw: string): string[] {
  return [...new Set(raw.split(',').map((item) => item.trim()))];
}
