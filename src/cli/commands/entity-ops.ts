import type { Command } from 'commander';
import { assertUndoAllowed } from '../../cleanup/index.ts';
import { InvalidInputError } from '../../errors.ts';
import { getLogger } from '../../observability/index.ts';
import {
  checkTarget,
  DEFAULT_BATCH_SIZE,
  DEFAULT_ID_BATCH_SIZE,
  entityNames,
  getEntity,
  type Target,
} from '../../soft-delete/index.ts';
import { MAX_BATCH_SIZE, MAX_OLDER_THAN_DAYS, MAX_ROWS_PER_CALL } from '../../validation/index.ts';
import { collectFilter, nonBlank, nonNegativeNumber, positiveInt } from '../args.ts';
import { type GlobalOptions, withContext } from '../context.ts';
import { runBatchedCall } from '../batched-call.ts';

const BULK_BATCH_HELP = `rows per transaction for bulk work (default: ${DEFAULT_BATCH_SIZE} for a filter, ${DEFAULT_ID_BATCH_SIZE} for a list of ids)`;

interface TargetOptions {
  filter?: Record<string, string>;
  batchSize?: number;
}

function targetFrom(ids: string[], opts: TargetOptions): Target {
  const hasFilter = opts.filter !== undefined && Object.keys(opts.filter).length > 0;
  if (ids.length > 0 && hasFilter) {
    throw new InvalidInputError('invalid_target', 'give ids or --filter, not both');
  }
  if (ids.length === 1) return { id: ids[0]! };
  if (ids.length > 1) return { ids };
  if (hasFilter) return { filter: opts.filter! };
  throw new InvalidInputError('invalid_target', 'give at least one id or a --filter column=value');
}

/**
 * A list naming a row more than once does it once: said, so that the counts (one per row) add up. A
 * warning like any other (a JSON log line), not a second `sdops:` line beside the one of an error.
 */
function noteRepeatedIds(ids: readonly string[], entity: string, operation: 'delete' | 'restore'): void {
  const repeated = ids.length - new Set(ids).size;
  if (repeated > 0)
    getLogger('soft-delete').warn(`${repeated} repeated id(s) left out: each row counts once`, {
      entity,
      operation,
    });
}

function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export function registerEntityOps(program: Command): void {
  program
    .command('delete')
    .description('soft-delete rows by id(s) or by filter; customers and orders cascade to their children')
    .argument('<entity>', 'entity name (customers, orders, order_items, documents)')
    .argument('[ids...]', 'row ids')
    .option(
      '--filter <column=value>',
      'select rows by a registry column (repeatable: one per column, all must match)',
      collectFilter,
    )
    .option('--reason <text>', 'why the rows are deleted (stored in delete_reason)')
    .option('--by <actor>', 'who deletes (stored in deleted_by)', nonBlank('--by'), 'sdops-cli')
    .option(
      '--batch-size <n>',
      BULK_BATCH_HELP,
      positiveInt('--batch-size', MAX_BATCH_SIZE, 'invalid_batch_size'),
    )
    .option('--no-cascade', 'do not soft-delete children')
    .action(
      async (
        entity: string,
        ids: string[],
        opts: TargetOptions & { reason?: string; by: string; cascade: boolean },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        // Bad input is refused before anything is opened: one line, exit 2, no telemetry.
        const target = targetFrom(ids, opts);
        checkTarget(
          entity,
          target,
          { deletedBy: opts.by, reason: opts.reason },
          { deletedBy: '--by', reason: '--reason' },
        );
        await withContext(g, async (ctx) => {
          noteRepeatedIds(ids, entity, 'delete');
          await runBatchedCall(`delete ${entity}`, ctx, (hooks) =>
            ctx.softDelete.softDelete(entity, target, {
              deletedBy: opts.by,
              reason: opts.reason,
              batchSize: opts.batchSize,
              cascade: opts.cascade,
              ...hooks,
            }),
          );
        });
      },
    );

  program
    .command('restore')
    .description('restore soft-deleted rows by id(s) or filter, with the children their cascade deleted')
    .argument('<entity>', 'entity name')
    .argument('[ids...]', 'row ids')
    .option(
      '--filter <column=value>',
      'select rows by a registry column (repeatable: one per column, all must match)',
      collectFilter,
    )
    .option(
      '--batch-size <n>',
      BULK_BATCH_HELP,
      positiveInt('--batch-size', MAX_BATCH_SIZE, 'invalid_batch_size'),
    )
    .option('--no-cascade', 'do not restore children deleted by the same cascade')
    .action(
      async (entity: string, ids: string[], opts: TargetOptions & { cascade: boolean }, cmd: Command) => {
        const target = targetFrom(ids, opts);
        checkTarget(entity, target);
        await withContext(globals(cmd), async (ctx) => {
          noteRepeatedIds(ids, entity, 'restore');
          await assertUndoAllowed(ctx.db, entity, target);
          await runBatchedCall(`restore ${entity}`, ctx, (hooks) =>
            ctx.softDelete.restore(entity, target, {
              batchSize: opts.batchSize,
              cascade: opts.cascade,
              ...hooks,
            }),
          );
        });
      },
    );

  registerRetention(
    program,
    'purge',
    "hard-delete rows soft-deleted longer than the entity's retention",
    false,
  );
  registerRetention(
    program,
    'archive',
    'move rows soft-deleted more than N days ago into the archive table',
    true,
  );
}

interface RetentionOptions {
  olderThanDays?: number;
  batchSize?: number;
  maxRows?: number;
}

/** purge and archive take the same options; archive needs an explicit age, purge defaults to retention. */
function registerRetention(
  program: Command,
  operation: 'purge' | 'archive',
  description: string,
  ageRequired: boolean,
): void {
  const cmd = program.command(operation).description(description).argument('<entity>', 'entity name');
  const age = nonNegativeNumber('--older-than-days', MAX_OLDER_THAN_DAYS, 'invalid_older_than_days');
  // Checked in the action, not as Commander's required option: Commander names a missing required
  // option before a missing argument, so a bare `sdops archive` asked for the age, not the entity.
  if (ageRequired)
    cmd.option('--older-than-days <days>', 'only rows deleted at least this long ago (required)', age);
  else {
    const retention = entityNames()
      .map((name) => `${name} ${getEntity(name).retentionDays}`)
      .join(', ');
    cmd.option('--older-than-days <days>', `instead of the entity's retention in days (${retention})`, age);
  }
  cmd
    .option(
      '--batch-size <n>',
      `rows per transaction (default: ${DEFAULT_BATCH_SIZE})`,
      positiveInt('--batch-size', MAX_BATCH_SIZE, 'invalid_batch_size'),
    )
    .option(
      '--max-rows <n>',
      'stop after this many rows',
      positiveInt('--max-rows', MAX_ROWS_PER_CALL, 'invalid_max_rows'),
    )
    .action(async (entity: string, opts: RetentionOptions, command: Command) => {
      getEntity(entity);
      if (ageRequired && opts.olderThanDays === undefined) {
        command.error("required option '--older-than-days <days>' not specified", {
          exitCode: 2,
          code: 'commander.missingMandatoryOptionValue',
        });
      }
      await withContext(globals(command), async (ctx) => {
        await runBatchedCall(`${operation} ${entity}`, ctx, (hooks) =>
          operation === 'purge'
            ? ctx.softDelete.purge(entity, { ...opts, ...hooks })
            : ctx.softDelete.archive(entity, { ...opts, olderThanDays: opts.olderThanDays!, ...hooks }),
        );
      });
    });
}
