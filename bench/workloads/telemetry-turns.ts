/**
 * Child process of bench/telemetry.ts. Telemetry is decided once per process (OTEL_SDK_DISABLED), so
 * the parent keeps one "on" and one "off" child alive side by side and has them take turns: it sends
 * a turn, the child runs it and answers {seconds, cpuSeconds, enabled}. Turns of about a second mean
 * both sides see the same machine load, which on a shared VM drifts by tens of percent between runs.
 *   WORKLOAD=single  a turn soft-deletes the child's next `calls` documents, one call each
 *   WORKLOAD=bulk    a turn soft-deletes the child's whole range in one call, then (untimed) puts
 *                    the rows back so the next turn finds the same work
 * Each child owns the id range ID_OFFSET .. +ID_COUNT of documents the parent has reset; its first
 * WARMUP ids warm the code paths up, untimed (JIT compilation of the telemetry code would otherwise
 * be charged to the "on" side). With telemetry on, a turn ends with forceFlush inside the timed span,
 * so everything the turn produced has been serialised and sent before its time is taken.
 */
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/index.ts';
import { configureLogging, startTelemetry } from '../../src/observability/index.ts';
import { SoftDeleteService } from '../../src/soft-delete/index.ts';
import { documentIds, UNDELETE_DOCUMENTS, WARMUP_IDS } from './documents.ts';

interface Turn {
  /** single: calls in this turn. */
  readonly calls?: number;
}

const url = process.env.DATABASE_URL as string;
const workload = process.env.WORKLOAD === 'bulk' ? 'bulk' : 'single';
const offset = Number(process.env.ID_OFFSET ?? 0);
const count = Number(process.env.ID_COUNT ?? 0);
const warmup = Number(process.env.WARMUP ?? WARMUP_IDS);

configureLogging({ console: 'none' });
const telemetry = await startTelemetry({ role: 'cli', settings: loadConfig().telemetry });

const ids = (await documentIds(url)).slice(offset, offset + count);
if (ids.length < count) throw new Error(`need ${offset + count} documents, found fewer`);
const db = await openDatabase({ url, poolSize: 4 });
const service = new SoftDeleteService(db);
const warm = ids.slice(0, warmup);
const work = ids.slice(warmup);
let next = 0;

for (const id of warm.slice(0, warm.length / 2))
  await service.softDelete('documents', { id }, { reason: 'warm-up' });
await service.softDelete('documents', { ids: warm.slice(warm.length / 2) }, { reason: 'warm-up' });
await telemetry.forceFlush();

async function runTurn(turn: Turn): Promise<void> {
  if (workload === 'bulk') {
    await service.softDelete('documents', { ids: work }, { reason: 'bench' });
    return;
  }
  const calls = turn.calls ?? 0;
  if (next + calls > work.length) throw new Error(`id range of ${work.length} exhausted`);
  for (const id of work.slice(next, next + calls))
    await service.softDelete('documents', { id }, { reason: 'bench' });
  next += calls;
}

async function undoBulk(): Promise<void> {
  await db.query(`${UNDELETE_DOCUMENTS} WHERE id = ANY($1::bigint[])`, [work]);
}

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
    await runTurn(turn);
    await telemetry.forceFlush();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    if (workload === 'bulk') await undoBulk();
    process.send?.({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, enabled: telemetry.enabled });
  })();
});
process.send?.('ready');
