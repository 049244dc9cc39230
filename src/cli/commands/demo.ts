import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.ts';
import {
  type ActRow,
  demoDomainRows,
  enoughToActOn,
  resetDemoDomain,
  runMigrationAct,
  runSoftDeleteAct,
  runWorkerAct,
  type SeedCounts,
  type Step,
  seedDemo,
} from '../../demo/index.ts';
import { MAX_TIMER_MS } from '../../validation/index.ts';
import { positiveInt } from '../args.ts';
import { type CliContext, type GlobalOptions, withContext } from '../context.ts';
import { formatTable, printJson, printJsonLine } from '../output.ts';
import { progressWanted, startProgress } from '../progress.ts';
import { resultRow } from '../report.ts';
import { onStopSignals } from '../stop-signals.ts';

interface DemoOptions {
  rows: number;
  loop?: boolean;
  pauseMs: number;
  reset?: boolean;
}

/** One run's choices: a loop resets only before its first run and reuses its own data after it. */
interface RunOptions {
  readonly rows: number;
  readonly reset: boolean;
  /** Say why demo data is reused: not on a loop's later runs, which reuse the data the loop seeded. */
  readonly explainReuse: boolean;
}

interface DemoReport {
  /** Rows this run seeded; empty when it reused the demo data already there. */
  seeded: Record<string, number>;
  /** Rows of the demo domain (archives included) found before this run; 0 on a fresh database. */
  reusedRows: number;
  steps: Step[];
  acts: ActRow[];
}

/**
 * The data the acts run on. A demo run does not pile another seed on top of the last one (three runs
 * used to leave 270,000 rows and 190 MB): it seeds a fresh database, reuses what an earlier run left
 * (topping it up only when too little is left to act on), and with --reset empties the demo tables
 * first.
 */
async function prepareData(
  ctx: CliContext,
  opts: RunOptions,
): Promise<{ seeded: SeedCounts | undefined; existing: number }> {
  let existing = await demoDomainRows(ctx.db);
  if (opts.reset && existing > 0) {
    await resetDemoDomain(ctx.db);
    if (!ctx.json) process.stderr.write(`demo: --reset emptied the demo tables (${existing} rows)\n`);
    existing = 0;
  }
  if (existing > 0 && (await enoughToActOn(ctx.db))) {
    if (!ctx.json && opts.explainReuse) {
      process.stderr.write(
        `demo: this database already holds demo data (${existing} rows); this run reuses it instead of ` +
          'seeding more. `sdops demo --reset` (npm run demo -- --reset) empties the demo tables and seeds afresh\n',
      );
    }
    return { seeded: undefined, existing };
  }
  const bar = startProgress('seed', undefined, progressWanted(ctx.json));
  const seeded = await seedDemo(ctx.db, {
    rows: opts.rows,
    legacyDeletedFraction: 0.05,
    onProgress: (p) => bar.update(p.done, p.total),
  }).finally(() => bar.stop());
  return { seeded, existing };
}

async function runDemoOnce(ctx: CliContext, opts: RunOptions): Promise<DemoReport> {
  const { seeded, existing } = await prepareData(ctx, opts);
  const bar = (label: string) => startProgress(label, undefined, progressWanted(ctx.json));
  const steps = await runSoftDeleteAct(ctx.db, ctx.softDelete, bar);
  const acts = [
    ...(await runMigrationAct(ctx.db, ctx.config.migration, bar)),
    ...(await runWorkerAct(ctx.db, ctx.config.worker)),
  ];
  return { seeded: { ...seeded }, reusedRows: seeded ? 0 : existing, steps, acts };
}

function printReport(report: DemoReport): void {
  const seeded = Object.entries(report.seeded).map(([t, n]) => `${t}=${n}`);
  process.stdout.write(
    seeded.length > 0
      ? `\nseeded ${seeded.join(' ')}\n`
      : `\nreused ${report.reusedRows} rows of earlier demo runs\n`,
  );
  process.stdout.write(
    `\nSoft-delete demo summary\n${formatTable(report.steps.map((s) => resultRow(s.result, s.name)))}\n`,
  );
  process.stdout.write(`\nMigration and cleanup worker\n${formatTable(report.acts)}\n`);
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'seed a demo database, run soft deletes, a migration (stopped and resumed) and the worker; print a summary (Ctrl-C: finish the run in progress, then stop; twice: at once)',
    )
    .option('--rows <n>', 'seed scale (customers)', positiveInt('--rows', 1_000_000, 'invalid_rows'), 20_000)
    .option('--loop', 'repeat until interrupted (traffic for the full stack)')
    .option(
      '--pause-ms <ms>',
      'pause between loop iterations',
      positiveInt('--pause-ms', MAX_TIMER_MS),
      5_000,
    )
    .option('--reset', 'first empty the demo tables (customers, orders, order_items, documents and archives)')
    .action(async (opts: DemoOptions, cmd: Command) => {
      if (!opts.loop && cmd.getOptionValueSource('pauseMs') === 'cli') {
        throw new InvalidInputError('invalid_argument', '--pause-ms only applies with --loop');
      }
      await withContext(cmd.optsWithGlobals<GlobalOptions>(), async (ctx) => {
        let stopping = false;
        const pauseEnds = new AbortController();
        // One run is a sequence of acts that each leave the data whole: the first signal lets the
        // run in progress finish (a loop stops after it), a second one exits at once.
        onStopSignals((signal) => {
          stopping = true;
          pauseEnds.abort();
          process.stderr.write(
            `\n${signal}: the demo finishes the run in progress, then stops (again to abort at once)\n`,
          );
        });
        let first = true;
        do {
          // --reset applies to the first iteration of a loop, not to every one.
          const report = await runDemoOnce(ctx, {
            rows: opts.rows,
            reset: first && opts.reset === true,
            explainReuse: first,
          });
          first = false;
          if (!ctx.json) printReport(report);
          else if (opts.loop) printJsonLine(report);
          else printJson(report);
          if (opts.loop && !stopping) {
            await sleep(opts.pauseMs, undefined, { signal: pauseEnds.signal }).catch(() => undefined);
          }
        } while (opts.loop && !stopping);
      });
    });
}
