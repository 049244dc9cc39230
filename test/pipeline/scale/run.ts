import type { TestCollector } from '../support/collector.ts';
import { promQuery } from '../support/prom-api.ts';
import { deliveryProblems, shouldKeep, tracesByGateway } from './truth.ts';
import { exposedTotal, exposition, processUsage, type ProcessUsage, type Tiers } from './tiers.ts';
import type { LedgerTrace } from './traces.ts';
import { startWorkload, type Workload } from './workload.ts';
import type { InstanceReport, RoleSpec } from './workload-process.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * The scale test's workload, run once in before(): a steady burst with both gateways up, then a
 * stream during which gateway-2 is stopped for 30 s. Everything the tests compare is kept here.
 */

/** API traces per API role in the steady burst (other roles: ROLE_WEIGHT of that). */
export const STEADY_TRACES = 1500;
/** API traces per second per API role while gateway-2 is stopped and restarted. */
export const STREAM_RATE = 20;
export const OUTAGE_MS = 30_000;
const AFTER_MS = 5_000;
/** Spans gateway-2 receives from the stream before it is stopped. */
const PRE_STOP_SPANS = 600;

export interface CostWindow {
  readonly seconds: number;
  /** CPU seconds per collector (agents first, then gateways). */
  readonly cpu: readonly number[];
}

export interface Run {
  steady: LedgerTrace[];
  traces: LedgerTrace[];
  instances: InstanceReport[];
  steadySpans: number;
  /** Wall seconds the steady burst took to be emitted and exported to the agents. */
  steadyEmitSeconds: number;
  idle: CostWindow;
  steadyCost: CostWindow;
  usageAfterSteady: ProcessUsage[];
  usageAtStart: ProcessUsage[];
  /** Instances whose application counter each gateway's prometheus exporter showed after the steady burst. */
  exposedInstances: Set<string>[];
  /** Instances whose target_info each gateway's prometheus exporter (not its span-metrics one) showed then. */
  targetInfoInstances: Set<string>[];
  /** Spans gateway-2 had accepted just before it was stopped. */
  stoppedGatewayAccepted: number;
  /** When gateway-2 was sent SIGTERM (epoch ms). */
  stoppedAt: number;
}

export function roleSpecs(agents: readonly TestCollector[]): RoleSpec[][] {
  const [a1, a2] = agents.map((a) => a.otlpHttpEndpoint) as [string, string];
  return [
    [
      { role: 'api', label: 'api-1', endpoint: a1 },
      { role: 'worker', label: 'worker-1', endpoint: a1 },
    ],
    [
      { role: 'api', label: 'api-2', endpoint: a2 },
      { role: 'migrate', label: 'migrate-1', endpoint: a2 },
    ],
    [
      { role: 'api', label: 'api-3', endpoint: a1 },
      { role: 'cli', label: 'cli-1', endpoint: a2 },
    ],
  ];
}

const collectors = (tiers: Tiers): TestCollector[] => [...tiers.agents, ...tiers.gateways];

function usage(tiers: Tiers): ProcessUsage[] {
  return collectors(tiers).map((c) => {
    const pid = c.pid();
    if (pid === undefined) throw new Error(`${c.name} is not running`);
    return processUsage(pid);
  });
}

async function window(tiers: Tiers, work: () => Promise<void>): Promise<CostWindow> {
  const before = usage(tiers);
  const started = Date.now();
  await work();
  const after = usage(tiers);
  return {
    seconds: (Date.now() - started) / 1000,
    cpu: after.map((u, i) => u.cpuSeconds - (before[i]?.cpuSeconds ?? 0)),
  };
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True once every trace the gateways must keep is in their sinks, whole; false at the deadline. */
export async function keptTracesArrived(
  tiers: Tiers,
  traces: readonly LedgerTrace[],
  timeoutMs: number,
): Promise<boolean> {
  return waitUntil(
    'every kept trace in the gateways sinks',
    async () => {
      const delivered = tracesByGateway(tiers.spansByGateway());
      const ok = traces
        .filter(shouldKeep)
        .every((t) => deliveryProblems(t, delivered.get(t.traceId)).length === 0);
      return ok || undefined;
    },
    { timeoutMs, intervalMs: 1_000 },
  ).catch(() => false);
}

/** The instances with a series of `metric` on a gateway's prometheus exporter (not its span-metrics one). */
async function exposedInstances(gateway: TestCollector, metric: string): Promise<Set<string>> {
  const text = await exposition(gateway.ports.metrics);
  const lines = text.split('\n').filter((l) => l.startsWith(`${metric}{`));
  return new Set(lines.map((l) => /instance="([^"]+)"/.exec(l)?.[1] ?? ''));
}

async function gatewayAccepted(gateway: TestCollector): Promise<number> {
  return exposedTotal(gateway.ports.telemetry, 'otelcol_receiver_accepted_spans');
}

export async function runWorkload(tiers: Tiers): Promise<{ run: Run; workload: Workload }> {
  const workload = await startWorkload(roleSpecs(tiers.agents));
  const run = { exposedInstances: [], targetInfoInstances: [] } as unknown as Run;
  try {
    await waitUntil('Prometheus to scrape every collector', async () => {
      // Each agent's own telemetry; each gateway's, its exporter's and its span-metrics exporter's.
      const up = await promQuery(tiers.prometheus.url, 'up{job=~"otel-collector.*"} == 1');
      return up.length === 8 || undefined;
    });
    run.usageAtStart = usage(tiers);
    // Idle cost (scrapes, timers) over a fixed window, subtracted from the steady burst's cost.
    run.idle = await window(tiers, () => pause(5_000));

    let emitStart = 0;
    run.steadyCost = await window(tiers, async () => {
      emitStart = Date.now();
      run.steady = await workload.burst('steady', STEADY_TRACES);
      run.steadyEmitSeconds = (Date.now() - emitStart) / 1000;
      await keptTracesArrived(tiers, run.steady, 120_000);
    });
    run.steadySpans = run.steady.reduce((n, t) => n + t.spans.length, 0);
    run.usageAfterSteady = usage(tiers);
    run.exposedInstances = await Promise.all(
      tiers.gateways.map((g) => exposedInstances(g, 'sdops_test_traces_total')),
    );
    run.targetInfoInstances = await Promise.all(
      tiers.gateways.map((g) => exposedInstances(g, 'target_info')),
    );

    const stopped = tiers.gateways[1] as TestCollector;
    const acceptedBefore = await gatewayAccepted(stopped);
    workload.stream('pre', STREAM_RATE);
    await waitUntil(
      'the streamed traffic to reach gateway-2',
      async () => ((await gatewayAccepted(stopped)) >= acceptedBefore + PRE_STOP_SPANS ? true : undefined),
      { timeoutMs: 60_000 },
    );
    run.stoppedGatewayAccepted = await gatewayAccepted(stopped);
    run.stoppedAt = Date.now();
    await stopped.stop();
    workload.stream('down', STREAM_RATE);
    await pause(OUTAGE_MS); // the outage itself, not a synchronisation
    await stopped.start();
    workload.stream('after', STREAM_RATE);
    await waitUntil(
      'traffic to reach the restarted gateway-2',
      async () => ((await gatewayAccepted(stopped)) >= 200 ? true : undefined),
      { timeoutMs: 60_000 },
    );
    await pause(AFTER_MS); // the workload goes on after the restart
    const all = await workload.stop();
    run.traces = all.traces;
    run.instances = all.instances;
    await keptTracesArrived(tiers, run.traces, 120_000);
    return { run, workload };
  } catch (error) {
    workload.kill();
    throw error;
  }
}
