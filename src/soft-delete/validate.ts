import { InvalidArgumentError, InvalidBatchSizeError, InvalidFilterError, InvalidIdError } from './errors.ts';
import {
  DEFAULT_LIST_LIMIT,
  DEFAULT_SCOPE,
  freeTextRule,
  idRule,
  isFreeText,
  isIdText,
  isScope,
  isUuid,
  MAX_BATCH_SIZE,
  MAX_LIST_LIMIT,
  MAX_OLDER_THAN_DAYS,
  isPlainText,
  MAX_TEXT_LENGTH,
  PLAIN_TEXT_RULE,
  quoted,
  textLength,
} from '../validation/index.ts';
import type { EntityDefinition, Filter, Scope, Target } from './types.ts';

/** A positive int8 as its canonical decimal string; anything else is InvalidIdError. */
export function parseId(raw: string): string {
  const value: unknown = raw;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  if (!isIdText(value)) throw new InvalidIdError(value);
  return value;
}

/** Validated, de-duplicated and ascending, so batches are keyset ranges and lock in a stable order. */
export function parseIdList(raw: readonly string[]): string[] {
  if (!Array.isArray(raw)) throw new InvalidArgumentError('invalid_target', 'ids must be an array');
  const ids = raw.map(parseId);
  const cmp = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  // Lists usually arrive sorted (from a query); checking is cheaper than sorting 100k strings.
  if (ids.every((id, i) => i === 0 || cmp(ids[i - 1]!, id) < 0)) return ids;
  return [...new Set(ids)].sort(cmp);
}

export function parseBatchSize(raw: number | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw <= 0 || raw > MAX_BATCH_SIZE) {
    throw new InvalidBatchSizeError(raw, MAX_BATCH_SIZE);
  }
  return raw;
}

export function parseOlderThanDays(raw: number | undefined, fallback: number | undefined): number {
  const value = raw ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_OLDER_THAN_DAYS) {
    throw new InvalidArgumentError(
      'invalid_older_than_days',
      `olderThanDays must be a number of days from 0 to ${MAX_OLDER_THAN_DAYS}, got ${quoted(value)}`,
    );
  }
  return value;
}

export function parseMaxRows(raw: number | undefined): number {
  if (raw === undefined) return Number.POSITIVE_INFINITY;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw <= 0) {
    throw new InvalidArgumentError(
      'invalid_max_rows',
      `maxRows must be a positive integer, got ${quoted(raw)}`,
    );
  }
  return raw;
}

export function parseScope(raw: Scope | undefined): Scope {
  const value = raw ?? DEFAULT_SCOPE;
  if (!isScope(value)) {
    throw new InvalidArgumentError('invalid_scope', `scope must be live, deleted or all, got ${quoted(raw)}`);
  }
  return value;
}

export function parseLimit(raw: number | undefined): number {
  if (raw === undefined) return DEFAULT_LIST_LIMIT;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw <= 0 || raw > MAX_LIST_LIMIT) {
    throw new InvalidArgumentError(
      'invalid_limit',
      `limit must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${quoted(raw)}`,
    );
  }
  return raw;
}

/** A list cursor is the last id seen; "0" starts from the beginning. */
export function parseCursor(raw: string | undefined): string {
  if (raw === undefined || raw === '0') return '0';
  return parseId(raw);
}

export function parseText(name: string, raw: string | undefined): string | null {
  if (raw === undefined) return null;
  if (!isFreeText(raw))
    throw new InvalidArgumentError('invalid_argument', `${name} must be ${freeTextRule()}`);
  return raw;
}

export function parseBoolean(name: string, raw: boolean | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'boolean')
    throw new InvalidArgumentError('invalid_argument', `${name} must be true or false`);
  return raw;
}

/** Collects positional parameters; add() returns the placeholder to splice into SQL. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Special filter keys: a column compared with a timestamp. */
const FILTER_KEYS: Readonly<Record<string, { column: string; op: '<' | '>=' }>> = {
  createdBefore: { column: 'created_at', op: '<' },
  createdAfter: { column: 'created_at', op: '>=' },
  deletedBefore: { column: 'deleted_at', op: '<' },
  deletedAfter: { column: 'deleted_at', op: '>=' },
};

const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(?:Z|[+-](\d{2}):?(\d{2}))?)?$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * An ISO 8601 date or date-time that exists on the calendar and that PostgreSQL reads as the same
 * instant: 2024-02-30, hour 24, second 60, year 0000 and offsets beyond +-14:59 are refused (the
 * database would reject some of them and silently roll others over to another day).
 */
export function isCalendarTimestamp(raw: string): boolean {
  const m = ISO_TIMESTAMP.exec(raw);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = m
    .slice(1)
    .map((part) => (part === undefined ? 0 : Number(part))) as number[];
  return (
    year! >= 1 &&
    month! >= 1 &&
    month! <= 12 &&
    day! >= 1 &&
    day! <= daysInMonth(year!, month!) &&
    hour! <= 23 &&
    minute! <= 59 &&
    second! <= 59 &&
    offsetHour! <= 14 &&
    offsetMinute! <= 59
  );
}

/**
 * A calendar timestamp as the instant it names in UTC: one without an offset (`2026-09-01`,
 * `2026-09-01T10:00`) gets `Z`. PostgreSQL would read it in the session's time zone, which the
 * database or role may set to anything: the same filter then selected another day's rows on
 * another server, and the API's check and the worker's job could disagree.
 */
export function utcTimestamp(raw: string): string {
  if (/(?:Z|[+-]\d{2}:?\d{2})$/.test(raw) && raw.includes('T')) return raw;
  return raw.includes('T') ? `${raw}Z` : `${raw}T00:00:00Z`;
}

function filterValue(entity: EntityDefinition, column: string, raw: unknown): unknown {
  const type = entity.columnTypes[column];
  const bad = (why: string) => new InvalidFilterError(`filter ${column}: ${why}, got ${quoted(raw)}`);
  if (raw === null) return null;
  switch (type) {
    case 'text':
      if (typeof raw !== 'string') throw bad('expected text');
      if (!isPlainText(raw)) throw bad(`expected text ${PLAIN_TEXT_RULE}`);
      if (textLength(raw) > MAX_TEXT_LENGTH)
        throw bad(`expected text of at most ${MAX_TEXT_LENGTH} characters`);
      return raw;
    case 'bigint':
      try {
        return parseId(raw as string); // numbers are accepted too
      } catch {
        throw bad(idRule(raw));
      }
    case 'boolean':
      if (raw === true || raw === 'true') return true;
      if (raw === false || raw === 'false') return false;
      throw bad('expected true or false');
    case 'uuid':
      if (!isUuid(raw)) throw bad('expected a UUID');
      return raw.toLowerCase();
    default:
      throw bad('unsupported column');
  }
}

/**
 * Turns a Filter into a SQL condition on the entity's table (alias-free), adding values to params.
 * Column names are looked up in the registry and only the registry's spelling reaches the SQL.
 */
export function compileFilter(entity: EntityDefinition, filter: Filter, params: Params): string {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new InvalidFilterError('filter must be an object of column: value');
  }
  const keys = Object.keys(filter);
  if (keys.length === 0)
    throw new InvalidFilterError('filter needs at least one column (an empty filter would match every row)');
  const clauses: string[] = [];
  for (const key of keys) {
    const raw = filter[key];
    const special = Object.hasOwn(FILTER_KEYS, key) ? FILTER_KEYS[key] : undefined;
    if (special) {
      if (typeof raw !== 'string' || !isCalendarTimestamp(raw)) {
        throw new InvalidFilterError(
          `filter ${key}: expected an ISO 8601 date or timestamp that exists, got ${quoted(raw)}`,
        );
      }
      clauses.push(`${special.column} ${special.op} ${params.add(utcTimestamp(raw))}::timestamptz`);
      continue;
    }
    const columns = Object.keys(entity.columnTypes);
    const column = columns.find((c) => c === key);
    if (!column) {
      throw new InvalidFilterError(
        `cannot filter ${entity.name} by ${JSON.stringify(key)}; allowed: ${[...columns, ...Object.keys(FILTER_KEYS)].join(', ')}`,
      );
    }
    const value = filterValue(entity, column, raw);
    clauses.push(value === null ? `${column} IS NULL` : `${column} = ${params.add(value)}`);
  }
  return clauses.join(' AND ');
}

/** Throws InvalidFilterError unless `filter` is a valid filter of `entity`; nothing is queried. */
export function assertFilter(entity: EntityDefinition, filter: Filter): void {
  compileFilter(entity, filter, new Params());
}

export type ParsedTarget =
  | { kind: 'id'; ids: [string] }
  | { kind: 'ids'; ids: string[] }
  | { kind: 'filter'; filter: Filter };

export function parseTarget(entity: EntityDefinition, target: Target): ParsedTarget {
  if (typeof target !== 'object' || target === null) {
    throw new InvalidArgumentError('invalid_target', 'target must be { id }, { ids } or { filter }');
  }
  const keys = Object.keys(target).filter((k) => (target as Record<string, unknown>)[k] !== undefined);
  if (keys.length !== 1) {
    throw new InvalidArgumentError('invalid_target', 'target must have exactly one of id, ids, filter');
  }
  if ('id' in target && target.id !== undefined) return { kind: 'id', ids: [parseId(target.id)] };
  if ('ids' in target && target.ids !== undefined) return { kind: 'ids', ids: parseIdList(target.ids) };
  if ('filter' in target && target.filter !== undefined) {
    assertFilter(entity, target.filter); // validate now, before any write
    return { kind: 'filter', filter: target.filter };
  }
  throw new InvalidArgumentError('invalid_target', 'target must be { id }, { ids } or { filter }');
}
