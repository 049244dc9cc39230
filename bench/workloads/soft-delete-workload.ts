/**
 * Child process of bench/telemetry.ts for the bulk workload: telemetry is read once per process, so
 * "on" and "off" each get a fresh process. Resets the documents table, warms the code paths up on the
 * last WARMUP ids (untimed: a fresh process would otherwise charge JIT compilation of the telemetry
 * code to the "on" side), then times one bulk soft delete of every other document id and prints
 * {"seconds": n, "cpuSeconds": n, "enabled": bool}.
 */
import { openDatabase } from '../../src/db/index.ts';
import { configureLogging, defineAttributeValues, startTelemetry } from '../../src/observability/index.ts';
import { entityNames, SoftDeleteService } from '../../src/soft-delete/index.ts';
import { resetDocuments, WARMUP_IDS } from './documents.ts';

const url = process.env.DATABASE_URL!;
const warmup = Number(process.env.WARMUP ?? WARMUP_IDS);

configureLogging({ console: 'none' });
const telemetry = startTelemetry({ role: 'cli' });
defineAttributeValues({ entity: entityNames() });

const all = await resetDocuments(url);
const ids = all.slice(0, all.length - warmup);

const db = await openDatabase({ url, poolSize: 4 });
const service = new SoftDeleteService(db);
const warm = all.slice(all.length - warmup);
for (const id of warm.slice(0, warm.length / 2))
  await service.softDelete('documents', { id }, { reason: 'warm-up' });
await service.softDelete('documents', { ids: warm.slice(warm.length / 2) }, { reason: 'warm-up' });
const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
await service.softDelete('documents', { ids }, { reason: 'bench' });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
await db.close();
await telemetry.shutdown();
process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds, enabled: telemetry.enabled })}\n`);
