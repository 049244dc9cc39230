/**
 * One workload process of test/pipeline/scale.test.ts (started with fork): it plays one or more
 * sdops processes (one OTel SDK each, pointed at one agent) and emits synthetic traces, a counter
 * and a log record per trace. Each phase gets fresh SDKs whose service.instance.id names the phase,
 * so Prometheus (the span metrics' `instance` label) and the sinks can tell phases apart.
 *
 * Messages in:  { cmd: 'phase', phase, tracesPerSecond } starts (or switches to) streaming;
 *               { cmd: 'burst', phase, traces } emits that many traces per role as fast as it can;
 *               { cmd: 'stop' } flushes everything and answers with the ledger.
 * Messages out: { type: 'ready' }, { type: 'burst-done', ledger } (that burst's part),
 *               { type: 'ledger', ledger } (everything).
 */
import { type Counter, context, SeverityNumber, trace } from '@opentelemetry/api';
import { createTestTelemetry, type ExportCounts, type TestTelemetry } from '../support/otel-sdk.ts';
import { emitTrace, type LedgerTrace, ROLE_WEIGHT, type Role, SERVICE_NAMES, traceClass } from './traces.ts';

export interface RoleSpec {
  readonly role: Role;
  /** Unique per role in the whole workload, e.g. `api-1`. */
  readonly label: string;
  /** OTLP/HTTP endpoint of the agent this role sends to. */
  readonly endpoint: string;
}

export interface InstanceReport {
  readonly instance: string;
  readonly service: string;
  readonly phase: string;
  readonly traces: number;
  readonly spans: number;
  readonly logs: number;
  readonly exports: ExportCounts;
}

export interface Ledger {
  readonly traces: LedgerTrace[];
  readonly instances: InstanceReport[];
}

export type WorkloadCommand =
  | { cmd: 'phase'; phase: string; tracesPerSecond: number }
  | { cmd: 'burst'; phase: string; traces: number }
  | { cmd: 'stop' };

interface Live {
  readonly spec: RoleSpec;
  readonly telemetry: TestTelemetry;
  readonly counter: Counter;
  readonly report: InstanceReport & { traces: number; spans: number; logs: number };
  emitted: number;
  /** Traces streamed so far in this phase (stream() paces each role by its weight). */
  streamed: number;
}

const roles = JSON.parse(process.argv[2] ?? '[]') as RoleSpec[];
const ledger: Ledger = { traces: [], instances: [] };
const retiring: Promise<void>[] = [];
let live: Live[] = [];
let timer: NodeJS.Timeout | undefined;

function open(spec: RoleSpec, phase: string): Live {
  const service = SERVICE_NAMES[spec.role];
  const instance = `${spec.label}-${phase}`;
  const telemetry = createTestTelemetry(
    spec.endpoint,
    { 'service.name': service, 'service.instance.id': instance },
    { batch: true },
  );
  const report = { instance, service, phase, traces: 0, spans: 0, logs: 0, exports: telemetry.exportCounts };
  ledger.instances.push(report);
  const counter = telemetry.meterProvider.getMeter('soft-delete-ops').createCounter('sdops_test.traces');
  return { spec, telemetry, counter, report, emitted: 0, streamed: 0 };
}

/** Flushes and shuts down the previous phase's SDKs in the background (they keep exporting). */
function retire(previous: Live[]): void {
  for (const l of previous) retiring.push(l.telemetry.flush().then(() => l.telemetry.shutdown()));
}

function emitOne(l: Live): void {
  const cls = traceClass(l.spec.role, l.emitted);
  l.emitted += 1;
  const tracer = l.telemetry.tracerProvider.getTracer('soft-delete-ops');
  const at = Date.now();
  const { root, spans } = emitTrace(tracer, cls, at);
  const { traceId } = root.spanContext();
  ledger.traces.push({
    traceId,
    cls,
    service: l.report.service,
    instance: l.report.instance,
    phase: l.report.phase,
    at,
    spans,
  });
  l.counter.add(1, { class: cls });
  l.telemetry.loggerProvider.getLogger('soft-delete-ops').emit({
    body: 'trace done',
    severityNumber: SeverityNumber.INFO,
    severityText: 'info',
    attributes: { class: cls },
    context: trace.setSpan(context.active(), root),
  });
  l.report.traces += 1;
  l.report.spans += spans.length;
  l.report.logs += 1;
}

function stream(tracesPerSecond: number): void {
  const tickMs = 50;
  let owed = 0;
  timer = setInterval(() => {
    owed += (tracesPerSecond * tickMs) / 1000;
    for (const l of live) {
      const share = owed * ROLE_WEIGHT[l.spec.role];
      for (let i = l.streamed; i < Math.floor(share); i += 1) emitOne(l);
      l.streamed = Math.max(l.streamed, Math.floor(share));
    }
  }, tickMs);
}

async function burst(traces: number): Promise<void> {
  for (let i = 0; i < traces; i += 1) {
    for (const l of live) if (i < traces * ROLE_WEIGHT[l.spec.role]) emitOne(l);
    // Let the exporters run between chunks, as a busy app's event loop would.
    if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(live.map((l) => l.telemetry.flush()));
}

function switchTo(phase: string | undefined): void {
  if (timer !== undefined) clearInterval(timer);
  timer = undefined;
  retire(live);
  live = phase === undefined ? [] : roles.map((spec) => open(spec, phase));
}

process.on('message', (message: WorkloadCommand) => {
  void (async () => {
    if (message.cmd === 'phase') {
      switchTo(message.phase);
      stream(message.tracesPerSecond);
    } else if (message.cmd === 'burst') {
      switchTo(message.phase);
      await burst(message.traces);
      const part: Ledger = {
        traces: ledger.traces.filter((t) => t.phase === message.phase),
        instances: ledger.instances.filter((i) => i.phase === message.phase),
      };
      process.send?.({ type: 'burst-done', ledger: part });
    } else {
      switchTo(undefined);
      await Promise.all(retiring);
      process.send?.({ type: 'ledger', ledger }, () => process.exit(0));
    }
  })().catch((error: unknown) => {
    process.send?.({ type: 'error', message: (error as Error).stack ?? String(error) });
  });
});

process.send?.({ type: 'ready' });
