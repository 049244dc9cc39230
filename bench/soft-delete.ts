import pg from 'pg';
import { migrateSchema, openDatabase } from '../src/db/index.ts';
import { configureLogging } from '../src/observability/index.ts';
import { SoftDeleteService } from '../src/soft-delete/index.ts';
import { bestOf, createBenchDatabase, printRows } from './support.ts';
import { resetDocuments } from './workloads/documents.ts';

/**
 * Bulk soft delete of N ids through the core versus one raw `UPDATE ... WHERE id = ANY($1)` on the
 * same rows, reset and vacuumed between runs so both start from identical data. Telemetry is off
 * (the telemetry bench measures its cost separately).
 */
export default async function run(args: string[]): Promise<void> {
  const rows = Number(args[0] ?? 100_000);
  const repeats = Number(args[1] ?? 3);
  process.env.OTEL_SDK_DISABLED = 'true';
  configureLogging({ console: 'none' });
  const bench = await createBenchDatabase();
  const db = await openDatabase({ url: bench.url, poolSize: 4 });
  const raw = new pg.Client({ connectionString: bench.url });
  try {
    await migrateSchema(db);
    await raw.connect();
    await raw.query(
      `INSERT INTO documents (title, body)
       SELECT 'doc ' || g, repeat('x', 200) FROM generate_series(1, $1) g`,
      [rows],
    );
    const { rows: idRows } = await raw.query<{ id: string }>('SELECT id::text FROM documents ORDER BY id');
    const ids = idRows.map((r) => r.id);
    const reset = () => resetDocuments(bench.url);
    const service = new SoftDeleteService(db);
    let coreSeconds = Number.POSITIVE_INFINITY;
    let rawSeconds = Number.POSITIVE_INFINITY;
    // Interleave so drift in the machine's load hits both sides alike.
    for (let i = 0; i < repeats; i++) {
      await reset();
      coreSeconds = Math.min(
        coreSeconds,
        await bestOf(1, async () => {
          const result = await service.softDelete(
            'documents',
            { ids },
            { reason: 'bench', deletedBy: 'bench' },
          );
          if (result.counts.success !== rows)
            throw new Error(`core deleted ${result.counts.success} of ${rows}`);
        }),
      );
      await reset();
      rawSeconds = Math.min(
        rawSeconds,
        await bestOf(1, async () => {
          const r = await raw.query(
            `UPDATE documents SET deleted_at = now(), deleted_by = $2, delete_reason = $3,
                delete_op_id = gen_random_uuid(), is_deleted = true, updated_at = now()
              WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL`,
            [ids, 'bench', 'bench'],
          );
          if (r.rowCount !== rows) throw new Error(`raw deleted ${r.rowCount} of ${rows}`);
        }),
      );
    }
    const ratio = rawSeconds / coreSeconds;
    printRows(`bulk soft delete of ${rows} rows (best of ${repeats}, PostgreSQL)`, [
      {
        path: 'raw UPDATE ... WHERE id = ANY($1)',
        seconds: +rawSeconds.toFixed(3),
        'rows/s': Math.round(rows / rawSeconds),
      },
      {
        path: 'SoftDeleteService.softDelete',
        seconds: +coreSeconds.toFixed(3),
        'rows/s': Math.round(rows / coreSeconds),
      },
    ]);
    process.stdout.write(`core/raw throughput ratio: ${ratio.toFixed(2)}x (target >= 0.80)\n`);
  } finally {
    await raw.end().catch(() => undefined);
    await db.close();
    await bench.drop();
  }
}
