import type { Command } from 'commander';
import { seedDemo } from '../../db/index.ts';
import type { OperationResult } from '../../soft-delete/index.ts';
import { positiveInt } from '../args.ts';
import { type CliContext, type GlobalOptions, withContext } from '../context.ts';
import { formatTable, printJson, startProgress } from '../output.ts';
import { resultRow } from '../report.ts';

interface DemoOptions {
  rows: number;
  loop?: boolean;
  pauseMs: number;
}

interface Step {
  readonly name: string;
  readonly result: OperationResult;
}

async function idsOf(ctx: CliContext, sql: string, params: unknown[] = []): Promise<string[]> {
  const { rows } = await ctx.db.query<{ id: unknown }>(sql, params);
  return rows.map((r) => String(r.id));
}

/** A realistic sequence over the demo domain; every step's result ends up in the summary table. */
async function runSequence(ctx: CliContext, opts: DemoOptions): Promise<Step[]> {
  const sd = ctx.softDelete;
  const steps: Step[] = [];
  const step = async (name: string, run: () => Promise<OperationResult>) => {
    steps.push({ name, result: await run() });
  };
  const withBar = async (
    name: string,
    run: (p: (e: { processed: number; total?: number }) => void) => Promise<OperationResult>,
  ) => {
    const bar = startProgress(name, undefined);
    try {
      await step(name, () => run((e) => bar.update(e.processed, e.total)));
    } finally {
      bar.stop();
    }
  };

  const bar = startProgress('seed', undefined);
  const seeded = await seedDemo(ctx.db, {
    rows: opts.rows,
    onProgress: (p) => bar.update(p.done, p.total),
  }).finally(() => bar.stop());
  if (!ctx.json)
    process.stdout.write(
      `seeded ${Object.entries(seeded)
        .map(([t, n]) => `${t}=${n}`)
        .join(' ')}\n`,
    );

  const [customer] = await idsOf(
    ctx,
    `SELECT c.id FROM customers c WHERE c.deleted_at IS NULL
       AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.deleted_at IS NULL)
     ORDER BY c.id DESC LIMIT 1`,
  );
  if (customer === undefined) throw new Error('demo: the seed produced no customer with orders');
  const [ownItem] = await idsOf(
    ctx,
    `SELECT i.id FROM order_items i JOIN orders o ON o.id = i.order_id
      WHERE o.customer_id = $1 AND i.deleted_at IS NULL ORDER BY i.id LIMIT 1`,
    [customer],
  );
  if (ownItem !== undefined) {
    await step('delete one item on its own', () =>
      sd.softDelete('order_items', { id: ownItem }, { reason: 'demo: returned' }),
    );
  }
  await step('delete a customer (cascade)', () =>
    sd.softDelete('customers', { id: customer }, { reason: 'demo: account closed', deletedBy: 'demo' }),
  );
  await step('delete it again (noop)', () => sd.softDelete('customers', { id: customer }));
  await step('restore the customer (cascade)', () => sd.restore('customers', { id: customer }));

  const bulk = await idsOf(ctx, 'SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id LIMIT $1', [
    Math.max(1, Math.floor(opts.rows / 2)),
  ]);
  await withBar('bulk delete documents', (onProgress) =>
    sd.softDelete('documents', { ids: bulk }, { reason: 'demo: bulk cleanup', batchSize: 1000, onProgress }),
  );
  await withBar('bulk restore documents', (onProgress) =>
    sd.restore(
      'documents',
      { ids: bulk.slice(0, Math.ceil(bulk.length / 10)) },
      { batchSize: 1000, onProgress },
    ),
  );
  for (const entity of ['order_items', 'orders', 'customers', 'documents']) {
    await withBar(`archive ${entity}`, (onProgress) => sd.archive(entity, { olderThanDays: 30, onProgress }));
  }
  for (const entity of ['order_items', 'orders', 'customers', 'documents']) {
    await withBar(`purge ${entity}`, (onProgress) => sd.purge(entity, { onProgress }));
  }
  return steps;
}

function printSummary(ctx: CliContext, steps: Step[]): void {
  if (ctx.json) {
    printJson(steps.map((s) => ({ step: s.name, ...s.result })));
    return;
  }
  process.stdout.write(
    `\nSoft-delete demo summary\n${formatTable(steps.map((s) => resultRow(s.result, s.name)))}\n`,
  );
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('seed a demo database and run a realistic soft-delete sequence, then print a summary')
    .option('--rows <n>', 'seed scale (customers)', positiveInt('--rows', 1_000_000), 20_000)
    .option('--loop', 'repeat the sequence until interrupted (traffic for the full stack)')
    .option('--pause-ms <ms>', 'pause between loop iterations', positiveInt('--pause-ms'), 5_000)
    .action(async (opts: DemoOptions, cmd: Command) => {
      await withContext(cmd.optsWithGlobals<GlobalOptions>(), async (ctx) => {
        let stopping = false;
        const stop = () => {
          stopping = true;
        };
        process.once('SIGINT', stop).once('SIGTERM', stop);
        do {
          printSummary(ctx, await runSequence(ctx, opts));
          if (opts.loop && !stopping) await new Promise((r) => setTimeout(r, opts.pauseMs));
        } while (opts.loop && !stopping);
      });
    });
}
