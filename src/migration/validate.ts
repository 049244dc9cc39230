import { errorMessage, InvalidInputError } from '../errors.ts';
import { parseBatchSize } from '../soft-delete/index.ts';
import { isUuid, quoted } from '../validation/index.ts';
import { RunOtherReleaseError } from './errors.ts';
import { findMigration } from './registry.ts';
import type { RunRecord } from './types.ts';

/** The checks of what a caller asks of the runner, before anything is read or written. */

/** A run this release can go on with: its migration, at the version and with params it started with. */
export function assertThisRelease(run: RunRecord): void {
  const migration = findMigration(run.migration);
  if (!migration) {
    throw new RunOtherReleaseError(
      run.runId,
      `is of migration ${run.migration}, which this release does not have`,
    );
  }
  if (migration.version !== run.migrationVersion) {
    throw new RunOtherReleaseError(
      run.runId,
      `was started with version ${run.migrationVersion} of ${run.migration}; this release has version ${migration.version}`,
    );
  }
  try {
    migration.parseParams(run.params);
  } catch (error) {
    throw new RunOtherReleaseError(
      run.runId,
      `has params this release's ${run.migration} does not take (${errorMessage(error)})`,
    );
  }
}

export function validRate(rate: number | null): number | null {
  if (rate !== null && !(Number.isFinite(rate) && rate > 0)) {
    throw new InvalidInputError('invalid_argument', `max rows per second must be > 0, got ${rate}`);
  }
  return rate;
}

export function validBatchSize(batchSize: number): number {
  return parseBatchSize(batchSize, batchSize);
}

/** A run id is a UUID: checked before it reaches SQL, where a malformed one is a database error. */
export function assertRunId(runId: string): void {
  if (!isUuid(runId))
    throw new InvalidInputError('invalid_run_id', `run_id must be a UUID, got ${quoted(runId)}`);
}
