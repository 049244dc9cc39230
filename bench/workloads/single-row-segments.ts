/**
 * Child process of bench/telemetry.ts for the single-row workload. Telemetry is decided once per
 * process (OTEL_SDK_DISABLED), so the parent keeps one "on" and one "off" child alive side by side
 * and has them take turns: it sends {calls: n}, the child soft-deletes its next n documents one call
 * each and answers {seconds, cpuSeconds}. Turns of about a second mean both sides see the same
 * machine load, which on a shared VM drifts by tens of percent between whole runs.
 *
 * Each child owns its own id range (ID_OFFSET, ID_COUNT) of documents the parent has reset; the
 * first WARMUP ids of the range warm the code paths up, untimed. With telemetry on, a turn ends with
 * forceFlush inside the timed span, so every span, log record and metric the turn produced has been
 * serialised and sent before the turn's time is taken.
 */
import { openDatabase } from '../../src/db/index.ts';
import { configureLogging, defineAttributeValues, startTelemetry } from '../../src/observability/index.ts';
import { entityNames, SoftDeleteService } from '../../src/soft-delete/index.ts';
import { documentIds } from './documents.ts';

interface Turn {
  readonly calls: number;
}

const url = process.env.DATABASE_URL as string;
const offset = Number(process.env.ID_OFFSET ?? 0);
const count = Number(process.env.ID_COUNT ?? 0);
const warmup = Number(process.env.WARMUP ?? 1000);

configureLogging({ console: 'none' });
const telemetry = startTelemetry({ role: 'cli' });
defineAttributeValues({ entity: entityNames() });

const ids = (await documentIds(url)).slice(offset, offset + count);
if (ids.length < count) throw new Error(`need ${offset + count} documents, found fewer`);
const db = await openDatabase({ url, poolSize: 4 });
const service = new SoftDeleteService(db);
let next = 0;

async function deleteNext(calls: number, reason: string): Promise<void> {
  if (next + calls > ids.length) throw new Error(`id range of ${ids.length} exhausted`);
  for (const id of ids.slice(next, next + calls)) await service.softDelete('documents', { id }, { reason });
  next += calls;
}

await deleteNext(warmup, 'warm-up');
await telemetry.forceFlush();

process.on('message', (turn: Turn | 'exit') => {
  void (async () => {
    if (turn === 'exit') {
      await db.close();
      await telemetry.shutdown();
      process.disconnect();
      return;
    }
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    await deleteNext(turn.calls, 'bench');
    await telemetry.forceFlush();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    process.send?.({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, enabled: telemetry.enabled });
  })();
});
process.send?.('ready');
