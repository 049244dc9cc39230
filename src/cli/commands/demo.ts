import type { Command } from 'commander';
import { seedDemo } from '../../db/index.ts';
import { positiveInt } from '../args.ts';
import { type CliContext, type GlobalOptions, withContext } from '../context.ts';
import { type ActRow, runMigrationAct, runWorkerAct } from '../demo/background-acts.ts';
import { runSoftDeleteAct, type Step } from '../demo/soft-delete-act.ts';
import { formatTable, printJson, startProgress } from '../output.ts';
import { resultRow } from '../report.ts';

interface DemoOptions {
  rows: number;
  loop?: boolean;
  pauseMs: number;
}

interface DemoReport {
  seeded: Record<string, number>;
  steps: Step[];
  acts: ActRow[];
}

async function runDemoOnce(ctx: CliContext, opts: DemoOptions): Promise<DemoReport> {
  const bar = startProgress('seed', undefined);
  const seeded = await seedDemo(ctx.db, {
    rows: opts.rows,
    legacyDeletedFraction: 0.05,
    onProgress: (p) => bar.update(p.done, p.total),
  }).finally(() => bar.stop());
  const steps = await runSoftDeleteAct(ctx.db, ctx.softDelete, opts.rows);
  const acts = [...(await runMigrationAct(ctx.db)), ...(await runWorkerAct(ctx.db))];
  return { seeded: { ...seeded }, steps, acts };
}

function printReport(report: DemoReport): void {
  const seeded = Object.entries(report.seeded).map(([t, n]) => `${t}=${n}`);
  process.stdout.write(`\nseeded ${seeded.join(' ')}\n`);
  process.stdout.write(
    `\nSoft-delete demo summary\n${formatTable(report.steps.map((s) => resultRow(s.result, s.name)))}\n`,
  );
  process.stdout.write(`\nMigration and cleanup worker\n${formatTable(report.acts)}\n`);
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'seed a demo database, run soft deletes, a migration (stopped and resumed) and the worker; print a summary',
    )
    .option('--rows <n>', 'seed scale (customers)', positiveInt('--rows', 1_000_000), 20_000)
    .option('--loop', 'repeat until interrupted (traffic for the full stack)')
    .option('--pause-ms <ms>', 'pause between loop iterations', positiveInt('--pause-ms'), 5_000)
    .action(async (opts: DemoOptions, cmd: Command) => {
      await withContext(cmd.optsWithGlobals<GlobalOptions>(), async (ctx) => {
        let stopping = false;
        const stop = () => {
          stopping = true;
        };
        process.once('SIGINT', stop).once('SIGTERM', stop);
        do {
          const report = await runDemoOnce(ctx, opts);
          if (ctx.json) printJson(report);
          else printReport(report);
          if (opts.loop && !stopping) await new Promise((r) => setTimeout(r, opts.pauseMs));
        } while (opts.loop && !stopping);
      });
    });
}
