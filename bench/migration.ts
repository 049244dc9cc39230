import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { migrateSchema, openDatabase } from '../src/db/index.ts';
import { childNodeArgs, createBenchDatabase, printRows } from './support.ts';

/**
 * backfill-deleted-at over N legacy rows through the runner (checkpoint + batch record per batch,
 * lease heartbeat, all in a child process so its peak RSS is its own) versus one raw UPDATE making
 * the same change, on identical data, interleaved. Telemetry is off on both sides.
 *   npm run bench -- migration [rows=1000000] [batchSize=10000] [repeats=2]
 */
const CHILD = `
import { openDatabase } from './src/db/index.ts';
import { MigrationRunner } from './src/migration/index.ts';
import { configureLogging } from './src/observability/index.ts';
configureLogging({ console: 'none' });
const db = await openDatabase({ url: process.env.BENCH_URL, poolSize: 4 });
const t0 = performance.now();
const handle = await new MigrationRunner(db).start('backfill-deleted-at', {
  batchSize: Number(process.env.BENCH_BATCH), params: { entities: ['documents'] } });
const summary = await handle.done;
const seconds = (performance.now() - t0) / 1000;
await db.close();
process.stdout.write(JSON.stringify({ seconds, rows: summary.rowsProcessed, state: summary.state,
  batches: summary.batchesDone, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
`;

interface ChildResult {
  seconds: number;
  rows: number;
  state: string;
  batches: number;
  maxRssMb: number;
}

export default async function run(args: string[]): Promise<void> {
  const rows = Number(args[0] ?? 1_000_000);
  const batchSize = Number(args[1] ?? 10_000);
  const repeats = Number(args[2] ?? 2);
  const bench = await createBenchDatabase();
  const raw = new pg.Client({ connectionString: bench.url });
  try {
    const db = await openDatabase({ url: bench.url });
    await migrateSchema(db);
    await db.close();
    await raw.connect();
    await raw.query(
      `INSERT INTO documents (title, body, is_deleted, updated_at)
       SELECT 'doc ' || g, repeat('x', 200), true, timestamptz '2020-01-01' + g * interval '1 second'
         FROM generate_series(1, $1::bigint) g`,
      [rows],
    );
    const reset = async () => {
      await raw.query(
        'UPDATE documents SET deleted_at = NULL, delete_reason = NULL WHERE deleted_at IS NOT NULL',
      );
      await raw.query('VACUUM ANALYZE documents');
    };
    let runner: ChildResult | undefined;
    let rawSeconds = Number.POSITIVE_INFINITY;
    for (let i = 0; i < repeats; i++) {
      await reset();
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [...childNodeArgs(), '--input-type=module', '-e', CHILD],
        {
          cwd: new URL('../', import.meta.url),
          env: {
            ...process.env,
            OTEL_SDK_DISABLED: 'true',
            BENCH_URL: bench.url,
            BENCH_BATCH: String(batchSize),
          },
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      const result = JSON.parse(stdout) as ChildResult;
      if (result.state !== 'succeeded' || result.rows !== rows) {
        throw new Error(`runner ended ${result.state} with ${result.rows} of ${rows} rows`);
      }
      if (!runner || result.seconds < runner.seconds) runner = result;
      await reset();
      const t0 = performance.now();
      const r = await raw.query(
        `UPDATE documents SET deleted_at = COALESCE(updated_at, now()), delete_reason = 'legacy'
          WHERE is_deleted AND deleted_at IS NULL`,
      );
      rawSeconds = Math.min(rawSeconds, (performance.now() - t0) / 1000);
      if (r.rowCount !== rows) throw new Error(`raw UPDATE changed ${r.rowCount} of ${rows}`);
    }
    const best = runner as ChildResult;
    const runnerRate = rows / best.seconds;
    const rawRate = rows / rawSeconds;
    printRows(`backfill-deleted-at, ${rows} legacy rows, batch size ${batchSize}, best of ${repeats}`, [
      {
        side: 'runner (checkpointed)',
        seconds: best.seconds.toFixed(2),
        'rows/s': Math.round(runnerRate),
        batches: best.batches,
      },
      { side: 'raw UPDATE', seconds: rawSeconds.toFixed(2), 'rows/s': Math.round(rawRate), batches: 1 },
    ]);
    const ratio = runnerRate / rawRate;
    process.stdout.write(
      `ratio runner/raw: ${ratio.toFixed(2)}x (target >= 0.7x)   runner peak RSS: ${best.maxRssMb.toFixed(0)} MB (target < 250 MB)\n`,
    );
  } finally {
    await raw.end();
    await bench.drop();
  }
}
