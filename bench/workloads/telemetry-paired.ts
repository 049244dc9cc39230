/**
 * Paired, in-process measurement of what telemetry adds to a single-row soft delete, for a machine
 * shared with other load: chunks of K calls with telemetry off (never started) and on (started,
 * then shut down so the chunk also pays the final export), alternating order, R rounds, all in one
 * process on one database, so both sides see the same load drift. Not part of `npm run bench`.
 *   DATABASE_URL=<db with seeded documents> OTEL_EXPORTER_OTLP_ENDPOINT=<sink> \
 *     node --import tsx bench/workloads/telemetry-paired.ts     (K=1000 R=10 by default)
 * Prints per-call wall and CPU microseconds (min and median per side) and the on/off ratios.
 */
import { openDatabase } from '../../src/db/index.ts';
import { configureLogging, defineAttributeValues, startTelemetry } from '../../src/observability/index.ts';
import { entityNames, SoftDeleteService } from '../../src/soft-delete/index.ts';
import { resetDocuments } from './documents.ts';

interface Chunk {
  readonly wall: number;
  readonly cpu: number;
}

const url = process.env.DATABASE_URL as string;
const K = Number(process.env.K ?? 1000);
const R = Number(process.env.R ?? 10);

configureLogging({ console: 'none' });
defineAttributeValues({ entity: entityNames() });

const ids = await resetDocuments(url);
if (ids.length < (2 * R + 2) * K) throw new Error(`need ${(2 * R + 2) * K} documents, found ${ids.length}`);
let next = 0;

const db = await openDatabase({ url, poolSize: 4 });
const service = new SoftDeleteService(db);

async function chunk(on: boolean): Promise<Chunk> {
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  const telemetry = on ? startTelemetry({ role: 'cli' }) : undefined;
  for (let i = 0; i < K; i++) {
    await service.softDelete('documents', { id: ids[next++] as string }, { reason: 'bench' });
  }
  await telemetry?.shutdown();
  const cpu = process.cpuUsage(cpu0);
  return { wall: Number(process.hrtime.bigint() - wall0) / 1e3 / K, cpu: (cpu.user + cpu.system) / K };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

await chunk(false);
await chunk(true);
const samples: Record<'on' | 'off', Chunk[]> = { on: [], off: [] };
for (let r = 0; r < R; r++) {
  for (const on of r % 2 === 0 ? [false, true] : [true, false])
    samples[on ? 'on' : 'off'].push(await chunk(on));
}
await db.close();

const stat = (side: 'on' | 'off', key: keyof Chunk) => {
  const values = samples[side].map((c) => c[key]);
  return { min: +Math.min(...values).toFixed(1), median: +median(values).toFixed(1) };
};
const wall = { off: stat('off', 'wall'), on: stat('on', 'wall') };
const cpu = { off: stat('off', 'cpu'), on: stat('on', 'cpu') };
const pairRatios = samples.on.map((c, i) => c.wall / (samples.off[i] as Chunk).wall);
process.stdout.write(
  `${JSON.stringify({
    calls_per_chunk: K,
    rounds: R,
    wall_us: wall,
    cpu_us: cpu,
    wall_ratio_of_medians: +(wall.on.median / wall.off.median).toFixed(3),
    median_pair_ratio: +median(pairRatios).toFixed(3),
    cpu_us_added_median: +(cpu.on.median - cpu.off.median).toFixed(1),
  })}\n`,
);
