import type { Database } from '../db/index.ts';
import { SdopsError } from '../errors.ts';
import { liveRowSql, type OperationResult, type SoftDeleteService } from '../soft-delete/index.ts';
import type { StartProgress } from './progress.ts';

export interface Step {
  readonly name: string;
  readonly result: OperationResult;
}

async function idsOf(db: Database, sql: string, params: unknown[] = []): Promise<string[]> {
  const { rows } = await db.query<{ id: unknown }>(sql, params);
  return rows.map((r) => String(r.id));
}

type Run = (onProgress: (e: { processed: number; total?: number }) => void) => Promise<OperationResult>;

/**
 * The soft-delete act of `sdops demo`: single and bulk deletes, a cascade and its exact restore,
 * a noop, then purge and archive after "time passes" (deleted_at moved back, as a real calendar would).
 */
export async function runSoftDeleteAct(
  db: Database,
  sd: SoftDeleteService,
  startProgress: StartProgress,
): Promise<Step[]> {
  const steps: Step[] = [];
  const step = async (name: string, run: Run) => {
    const bar = startProgress(name);
    try {
      steps.push({ name, result: await run((e) => bar.update(e.processed, e.total)) });
    } finally {
      bar.stop();
    }
  };

  // A customer with a live item first, so that a run on data an earlier run left still shows the
  // single-row delete before the cascade.
  const [customer] = await idsOf(
    db,
    `SELECT c.id FROM customers c WHERE ${liveRowSql('c')}
       AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND ${liveRowSql('o')})
     ORDER BY EXISTS (SELECT 1 FROM order_items i JOIN orders o ON o.id = i.order_id
                       WHERE o.customer_id = c.id AND ${liveRowSql('o')} AND ${liveRowSql('i')}) DESC,
              c.id DESC
     LIMIT 1`,
  );
  if (customer === undefined)
    throw new SdopsError('demo_seed_empty', 'demo: the seed produced no customer with orders');
  const [ownItem] = await idsOf(
    db,
    `SELECT i.id FROM order_items i JOIN orders o ON o.id = i.order_id
      WHERE o.customer_id = $1 AND ${liveRowSql('o')} AND ${liveRowSql('i')} ORDER BY i.id LIMIT 1`,
    [customer],
  );
  if (ownItem !== undefined) {
    await step('delete one item on its own', () =>
      sd.softDelete('order_items', { id: ownItem }, { reason: 'returned' }),
    );
  }
  await step('delete a customer (cascade)', () =>
    sd.softDelete('customers', { id: customer }, { reason: 'account closed', deletedBy: 'demo' }),
  );
  await step('delete it again (noop)', () => sd.softDelete('customers', { id: customer }));
  await step('restore the customer (cascade)', () => sd.restore('customers', { id: customer }));

  // Half of the live documents: a later run on the same data still finds documents to work on.
  const bulk = await idsOf(
    db,
    `SELECT d.id FROM documents d WHERE ${liveRowSql('d')} ORDER BY d.id
      LIMIT (SELECT greatest(10, count(*) / 2) FROM documents l WHERE ${liveRowSql('l')})`,
  );
  await step('bulk delete documents', (onProgress) =>
    sd.softDelete('documents', { ids: bulk }, { reason: 'bulk cleanup', batchSize: 1000, onProgress }),
  );
  const tenth = Math.ceil(bulk.length / 10);
  await step('bulk restore documents', (onProgress) =>
    sd.restore('documents', { ids: bulk.slice(0, tenth) }, { batchSize: 1000, onProgress }),
  );
  await step('delete cancelled orders (filter)', (onProgress) =>
    sd.softDelete('orders', { filter: { status: 'cancelled' } }, { reason: 'cancelled', onProgress }),
  );

  // Time passes: some deletions are now past the documents' 90-day retention, others only 45 days old.
  await db.query(
    `UPDATE documents SET deleted_at = now() - CASE WHEN id % 2 = 0 THEN interval '120 days' ELSE interval '45 days' END
      WHERE deleted_at IS NOT NULL AND delete_reason = 'bulk cleanup'`,
  );
  await db.query(
    `UPDATE orders SET deleted_at = now() - interval '45 days' WHERE delete_reason = 'cancelled'`,
  );
  await db.query(
    `UPDATE order_items SET deleted_at = now() - interval '45 days' WHERE delete_reason = 'cancelled'`,
  );
  await step('purge documents past retention', (onProgress) => sd.purge('documents', { onProgress }));
  for (const entity of ['order_items', 'orders', 'documents']) {
    await step(`archive ${entity} deleted > 30 days`, (onProgress) =>
      sd.archive(entity, { olderThanDays: 30, onProgress }),
    );
  }
  return steps;
}
