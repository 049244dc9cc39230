import { type ArchiveRun, archiveByKeyRange, entityNames } from '../../soft-delete/index.ts';
import { InvalidMigrationParamError } from '../errors.ts';
import type { BatchPlan, KeyRange, Migration } from '../types.ts';
import {
  childrenFirst,
  daysParam,
  entitiesParam,
  keyAfter,
  type RawParams,
  rejectUnknown,
} from './params.ts';

/** Its parameters are the archive run itself: the entities children first, and the age threshold. */
export type ArchiveParams = ArchiveRun;

/**
 * Archiving is the soft-delete core's (archiveByKeyRange): this migration only parses its parameters
 * and hands the runner's key ranges over. Rows move when soft-deleted before each batch's now() -
 * olderThanDays and no longer referenced by any child row; the entities named (all by default) are
 * walked children first, so a cascade-deleted family is archived in one run when all of it is named,
 * and a parent whose children are not named stays where it is while they reference it.
 */
export const archiveSoftDeleted: Migration<ArchiveParams> = {
  name: 'archive-soft-deleted',
  version: 1,
  description: 'move rows soft-deleted more than olderThanDays ago into <table>_archive',
  paramNames: ['entities', 'olderThanDays'],
  parseParams(raw: RawParams): ArchiveParams {
    rejectUnknown(this.name, raw, this.paramNames);
    const olderThanDays = daysParam('olderThanDays', raw.olderThanDays);
    if (olderThanDays === undefined) {
      throw new InvalidMigrationParamError(
        'archive-soft-deleted needs olderThanDays (CLI: --older-than-days; API: {"params": {"olderThanDays": <days>}})',
      );
    }
    return { entities: childrenFirst(entitiesParam(raw.entities, entityNames())), olderThanDays };
  },
  entities: (params) => params.entities,
  async count(q, entity, params) {
    return archiveByKeyRange.count(q, entity, params);
  },
  async plan(q, entity, after, limit, params): Promise<BatchPlan | undefined> {
    return archiveByKeyRange.nextBatch(q, entity, keyAfter(after), limit, params);
  },
  async apply(tx, entity, range: KeyRange, params): Promise<number> {
    return archiveByKeyRange.move(tx, entity, keyAfter(range.from), range.to, params);
  },
};
