import { warnOnce } from './diagnostics.ts';

/**
 * Closed sets of metric attribute values. Every distinct value is a new time series in Prometheus,
 * so ids, run ids and free text must never become attribute values: open sets are registered once
 * at start and anything else is reported as OTHER.
 */

export const OPERATIONS = ['delete', 'restore', 'purge', 'archive'] as const;
export type Operation = (typeof OPERATIONS)[number];

export const OPERATION_STATUSES = ['success', 'noop', 'failure'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/** Outcome of a job attempt, a migration batch or a migration run. */
export const OUTCOMES = ['success', 'failure'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const OTHER = 'other';

export type RegisteredAttribute = 'entity' | 'job_type' | 'migration';

export type AttributeValueSets = { readonly [K in RegisteredAttribute]?: readonly string[] };

const registered: Record<RegisteredAttribute, Set<string>> = {
  entity: new Set(),
  job_type: new Set(),
  migration: new Set(),
};

/**
 * Registers the allowed values of the open attributes (entity names from the registry, job types,
 * migration names). Additive: the worker and the migration runner may each register their own.
 */
export function defineAttributeValues(sets: AttributeValueSets): void {
  for (const key of Object.keys(registered) as RegisteredAttribute[]) {
    for (const value of sets[key] ?? []) {
      if (typeof value === 'string' && value !== '') registered[key].add(value);
    }
  }
}

/** Tests only. */
export function resetAttributeValues(): void {
  for (const set of Object.values(registered)) set.clear();
}

export function allowedValues(key: RegisteredAttribute): readonly string[] {
  return [...registered[key]];
}

/** The value itself when registered, else OTHER (warned about once per key and value). */
export function normalizeRegistered(key: RegisteredAttribute, value: string): string {
  if (registered[key].has(value)) return value;
  warnOnce(
    `attr:${key}:${value}`,
    `metric attribute ${key} value is not registered; recorded as "${OTHER}"`,
    {
      attribute: key,
      // Truncated: an unexpected value may be free text.
      value: String(value).slice(0, 64),
    },
  );
  return OTHER;
}

export function isOneOf<T extends string>(allowed: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value);
}
