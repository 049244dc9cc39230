import { UnknownMigrationError } from './errors.ts';
import { archiveSoftDeleted } from './migrations/archive-soft-deleted.ts';
import { backfillDeletedAt } from './migrations/backfill-deleted-at.ts';
import { purgeArchived } from './migrations/purge-archived.ts';
import type { Migration } from './types.ts';

/** Every migration the runner knows. Adding one = one file under migrations/ + one line here. */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  backfillDeletedAt as Migration,
  archiveSoftDeleted as Migration,
  purgeArchived as Migration,
]);

export function migrationNames(): string[] {
  return MIGRATIONS.map((m) => m.name);
}

/** The migration of that name, or undefined (a run another release started may name one we lack). */
export function findMigration(name: string): Migration | undefined {
  return MIGRATIONS.find((m) => m.name === name);
}

export function getMigration(name: string): Migration {
  const found = findMigration(name);
  if (!found) throw new UnknownMigrationError(name, migrationNames());
  return found;
}

/**
 * Refuses an unknown migration or parameters it does not take (the entities among them) without
 * touching a database: the CLI checks a start before it opens one, as MigrationRunner.start does.
 */
export function checkStart(name: string, params: Readonly<Record<string, unknown>>): void {
  const migration = getMigration(name);
  migration.entities(migration.parseParams(params));
}
