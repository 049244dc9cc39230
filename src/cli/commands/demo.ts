import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.ts';
import {
  type ActRow,
  type DemoData,
  prepareDemoData,
  runMigrationAct,
  runSoftDeleteAct,
  runWorkerAct,
  type Step,
} from '../../demo/index.ts';
import { MAX_TIMER_MS } from '../../validation/index.ts';
import { positiveInt } from '../args.ts';
import { type CliContext, type GlobalOptions, withContext } from '../context.ts';
import { formatTable, printJson, printJsonLine } from '../output.ts';
import { type Progress, progressWanted, startProgress } from '../progress.ts';
import { resultRow } from '../report.ts';
import { outputReaderGone } from '../stdout-closed.ts';
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
  /** A loop: its tables stay under a bound (prepareDemoData). */
  readonly loop: boolean;
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

/** The data the acts run on (prepareDemoData), with a line on stderr for what a person should know. */
async function prepareData(ctx: CliContext, opts: RunOptions): Promise<DemoData> {
  // Drawn once a seed starts: a run that reuses the data shows no bar.
  let bar: Progress | undefined;
  const data = await prepareDemoData(ctx.db, {
    rows: opts.rows,
    reset: opts.reset,
    bounded: opts.loop,
    onProgress: (p) => {
      bar ??= startProgress('seed', undefined, progressWanted(ctx.json));
      bar.update(p.done, p.total);
    },
  }).finally(() => bar?.stop());
  if (ctx.json) return data;
  const { emptied } = data;
  if (emptied?.by === 'reset')
    process.stderr.write(`demo: --reset emptied the demo tables (${emptied.rows} rows)\n`);
  else if (emptied?.by === 'bound') {
    process.stderr.write(
      `demo: the demo tables held ${emptied.rows} rows (over ${emptied.bound}, three seeds at --rows ${opts.rows}) with too few ` +
        'live rows left to act on; the loop emptied them and seeds afresh, so that it does not grow without end\n',
    );
  } else if (data.seeded === undefined && opts.explainReuse) {
    process.stderr.write(
      `demo: this database already holds demo data (${data.existing} rows); this run reuses it instead of ` +
        'seeding more. `sdops demo --reset` (npm run demo -- --reset) empties the demo tables and seeds afresh\n',
    );
  }
  return data;
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
      'pause between loop iterations (1 or more)',
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
            loop: opts.loop === true,
            explainReuse: first,
          });
          first = false;
          if (!ctx.json) printReport(report);
          else if (opts.loop) printJsonLine(report);
          else printJson(report);
          if (opts.loop && !stopping) {
            await sleep(opts.pauseMs, undefined, { signal: pauseEnds.signal }).catch(() => undefined);
          }
          // Its reader gone (`| head`), a loop's runs would go on for nobody, holding the database.
        } while (opts.loop && !stopping && !outputReaderGone());
      });
    });
}
