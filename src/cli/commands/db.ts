import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Config, loadConfig } from '../../config.ts';
import { NotFoundError, SdopsError } from '../../errors.ts';
import { noDatabaseYet, migrateSchema, SchemaChecksumError, schemaStatus } from '../../db/index.ts';
import { seedDemo } from '../../demo/index.ts';
import { nonNegativeNumber, positiveInt } from '../args.ts';
import { type GlobalOptions, openDatabaseFor, withContext } from '../context.ts';
import { errorLine, formatTable, printJson } from '../output.ts';
import { progressWanted, startProgress } from '../progress.ts';
import { onStopSignals } from '../stop-signals.ts';

/**
 * Opening the embedded database creates its directory: a status of a mistyped --data-dir made one,
 * and showed every schema version pending where an operator looked for their database.
 */
async function refuseMissingDataDir(config: Config, globals: GlobalOptions): Promise<void> {
  if (config.databaseUrl || globals.memory) return;
  const dir = resolve(globals.dataDir ?? config.dataDir);
  // Only a path with nothing there: a file in the way is refused by the open, as for any command.
  const missing = await stat(dir).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
  );
  // An empty directory (a mounted volume), or one a killed first start left half-created, holds no
  // database either: the status built one in it (and set the half-created files aside).
  const state = missing ? 'missing' : await noDatabaseYet(dir);
  if (state === undefined) return;
  const why = {
    missing: 'nothing was created there (check --data-dir or SDOPS_DATA_DIR; any other command creates it)',
    empty: 'the directory holds none yet (check --data-dir or SDOPS_DATA_DIR; any other command creates it)',
    unfinished:
      'the first start that created it was stopped before it finished (.sdops-creating is there); any other command sets its files aside and creates it again',
  }[state];
  throw new NotFoundError('data_dir_not_found', `no embedded database at ${dir}: ${why}`);
}

export function registerDb(program: Command): void {
  const db = program.command('db').description('schema management');

  db.command('migrate')
    .description('apply pending schema versions (every command also does this on start)')
    .action(async (_opts: unknown, cmd: Command) => {
      await withContext(
        cmd.optsWithGlobals<GlobalOptions>(),
        async (ctx) => {
          // As every other command's start: compose's one-shot schema service runs this while the
          // database may still be starting or restarting.
          const result = await ctx.starting(() => migrateSchema(ctx.db));
          if (ctx.json) printJson(result);
          else if (result.applied.length === 0)
            process.stdout.write(`schema is current (${result.current})\n`);
          else
            process.stdout.write(`applied ${result.applied.join(', ')}; schema is now ${result.current}\n`);
        },
        { appliesSchema: true },
      );
    });

  // Answers at once, also with the database down: it is how an operator checks whether it is up.
  db.command('status')
    .description('show the current schema version and pending ones, without applying them')
    .action(async (_opts: unknown, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const config = loadConfig();
      await refuseMissingDataDir(config, globals);
      const database = await openDatabaseFor(config, globals);
      try {
        const status = await schemaStatus(database);
        // current is null on a database with no version yet: every field is always there.
        if (globals.json) printJson({ ...status, current: status.current ?? null });
        else
          process.stdout.write(
            `current: ${status.current ?? 'none'}; pending: ${status.pending.join(', ') || 'none'}${
              status.unknown.length > 0
                ? `; unknown to this sdops (applied by a newer one): ${status.unknown.join(', ')}`
                : ''
            }${status.changed.length > 0 ? `; changed after they were applied: ${status.changed.join(', ')}` : ''}\n`,
          );
        // Every other command refuses such a database: the status must not read as healthy.
        const [changed] = status.changed;
        if (changed !== undefined) throw new SchemaChecksumError(changed);
      } finally {
        await database.close();
      }
    });

  program
    .command('seed')
    .description('fill the demo domain (customers, orders, order_items, documents) with set-based inserts')
    .option(
      '--rows <n>',
      'scale: number of customers (orders and items scale with it)',
      positiveInt('--rows', 10_000_000, 'invalid_rows'),
      10_000,
    )
    .option(
      '--legacy-fraction <f>',
      'fraction of rows flagged only by the legacy is_deleted column',
      nonNegativeNumber('--legacy-fraction', 1, 'invalid_fraction'),
    )
    .action(async (opts: { rows: number; legacyFraction?: number }, cmd: Command) => {
      await withContext(cmd.optsWithGlobals<GlobalOptions>(), async (ctx) => {
        const bar = startProgress('seed', undefined, progressWanted(ctx.json));
        // One transaction: a stop rolls it back at the next chunk. Before, Ctrl-C ended it with a
        // silent 130, its bar left at the rows it had inserted, none of which stayed.
        const stop = new AbortController();
        const removeSignals = onStopSignals(
          (signal) =>
            stop.abort(
              new SdopsError(
                'operation_stopped',
                `seed stopped by ${signal} before it committed: nothing was added (the seed is one transaction)`,
              ),
            ),
          (signal) => {
            bar.stop();
            process.stderr.write(
              errorLine(
                'operation_stopped',
                'internal',
                `seed aborted at once by a second ${signal}: nothing was added (the seed is one transaction)`,
                ctx.json,
              ),
            );
          },
        );
        const counts = await seedDemo(ctx.db, {
          rows: opts.rows,
          legacyDeletedFraction: opts.legacyFraction,
          signal: stop.signal,
          outageBudgetMs: ctx.config.cliOutageBudgetMs,
          onProgress: (p) => bar.update(p.done, p.total),
        }).finally(() => {
          removeSignals();
          bar.stop();
        });
        if (ctx.json) printJson(counts);
        else
          process.stdout.write(
            `${formatTable(Object.entries(counts).map(([table, rows]) => ({ table, rows })))}\n`,
          );
      });
    });
}
