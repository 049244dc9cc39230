import { getEntity } from '../../soft-delete/index.ts';
import { MAX_OLDER_THAN_DAYS, quoted } from '../../validation/index.ts';
import { InvalidMigrationParamError } from '../errors.ts';

/**
 * Parameter parsing shared by the shipped migrations. Raw values come from the CLI (strings or
 * already-parsed numbers) or from JSON bodies, so every helper accepts both and names the parameter.
 */
export type RawParams = Readonly<Record<string, unknown>>;

export function rejectUnknown(migration: string, raw: RawParams, allowed: readonly string[]): void {
  for (const key of Object.keys(raw)) {
    if (raw[key] !== undefined && !allowed.includes(key)) {
      throw new InvalidMigrationParamError(
        `${migration} does not take parameter "${key}"${allowed.length ? ` (it takes: ${allowed.join(', ')})` : ''}`,
      );
    }
  }
}

/** entities: an array or a comma list of registry names; default all of `fallback`. Order is `fallback`'s. */
export function entitiesParam(raw: unknown, fallback: readonly string[]): string[] {
  if (raw === undefined || raw === null) return [...fallback];
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
  if (!list || list.length === 0) {
    throw new InvalidMigrationParamError('entities must be a non-empty list of entity names');
  }
  const names = list.map((v) => String(v).trim()).filter((v) => v !== '');
  for (const name of names) {
    try {
      getEntity(name);
    } catch {
      throw new InvalidMigrationParamError(`unknown entity ${quoted(name)}; known: ${fallback.join(', ')}`);
    }
  }
  if (names.length === 0) throw new InvalidMigrationParamError('entities must name at least one entity');
  return fallback.filter((e) => names.includes(e));
}

/** A number of days >= 0 (fractions allowed: tests use tiny windows). */
export function daysParam(name: string, raw: unknown): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  const value =
    typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value) || value < 0 || value > MAX_OLDER_THAN_DAYS) {
    throw new InvalidMigrationParamError(
      `${name} must be a number of days from 0 to ${MAX_OLDER_THAN_DAYS}, got ${quoted(String(raw))}`,
    );
  }
  return value;
}

/**
 * The named entities, children before parents, so a parent is handled after the rows that reference
 * it. Only the named ones: `--entity orders` archived order_items too, rows the operator never asked
 * to move out of reach of a restore.
 */
export function childrenFirst(names: readonly string[]): string[] {
  const named = new Set(names);
  const seen = new Set<string>();
  const out: string[] = [];
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    // Through unnamed children too: a grandparent still comes after its named grandchildren.
    for (const child of getEntity(name).children) visit(child.entity);
    if (named.has(name)) out.push(name);
  };
  for (const name of names) visit(name);
  return out;
}

/**
 * The exclusive lower key as a bigint literal. "No lower bound" is the smallest bigint rather than
 * `$1 IS NULL OR id > $1`: that OR defeats the primary-key range scan and makes every batch a full scan.
 */
export function keyAfter(after: string | null): string {
  return after ?? '-9223372036854775808';
}
