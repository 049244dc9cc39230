import type { ClaimClassName } from './claim-plan.ts';
import { UnknownJobTypeError } from './errors.ts';

/** The job types the product handles itself; a runtime may register more (extension types). */
export const BUILTIN_JOB_TYPES = [
  'purge_expired',
  'archive_entity',
  'cascade_soft_delete',
  'restore_cascade',
  'bulk_soft_delete',
  'bulk_restore',
  'noop',
] as const;
export type BuiltinJobType = (typeof BUILTIN_JOB_TYPES)[number];

/**
 * Work a person triggered and is waiting for (an API delete's cascade, a restore, a bulk request):
 * the `user` claim class, which gets 3 of every 4 slots while maintenance also waits (claim-plan.ts).
 * Every other type, scheduled purge/archive, noop and extension types, is `maintenance`.
 */
const USER_TRIGGERED_JOB_TYPES = [
  'cascade_soft_delete',
  'restore_cascade',
  'bulk_soft_delete',
  'bulk_restore',
] as const;

export function claimClassOf(jobType: string): ClaimClassName {
  return (USER_TRIGGERED_JOB_TYPES as readonly string[]).includes(jobType) ? 'user' : 'maintenance';
}

export function isBuiltinJobType(name: string): name is BuiltinJobType {
  return (BUILTIN_JOB_TYPES as readonly string[]).includes(name);
}

export function assertJobType(name: string, known: readonly string[]): void {
  if (!known.includes(name)) throw new UnknownJobTypeError(name, known);
}
