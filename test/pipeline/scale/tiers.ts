import { readFileSync } from 'node:fs';
import type { ExportedLogRecord, ExportedSpan } from '../support/otlp-sink.ts';
import { startCollector, type TestCollector } from '../support/collector.ts';
import {
  AGENT_CONFIG,
  COLLECTOR_CONFIG,
  COLLECTOR_OVERLAY,
  GATEWAY_CONFIG,
  GATEWAY_OVERLAY,
} from '../support/paths.ts';
import { startPrometheus, type TestPrometheus } from '../support/prometheus.ts';

/** The gateway as the tests run it: production files first, then the test overlays. */
export const GATEWAY_TEST_CONFIGS = [COLLECTOR_CONFIG, GATEWAY_CONFIG, COLLECTOR_OVERLAY, GATEWAY_OVERLAY];

/**
 * Two agents and two gateways on loopback ports, the gateways' outputs in one sink each, Prometheus.
 * `agentEnv` goes to both agents (e.g. a small OTELCOL_GATEWAY_QUEUE_SIZE).
 */
export interface Tiers {
  readonly agents: readonly TestCollector[];
  readonly gateways: readonly TestCollector[];
  readonly prometheus: TestPrometheus;
  /** Spans each gateway exported (index = gateway). */
  spansByGateway(): ExportedSpan[][];
  logsByGateway(): ExportedLogRecord[][];
  close(): Promise<void>;
}

export async function startTiers(agentEnv: Record<string, string> = {}): Promise<Tiers> {
  const started: TestCollector[] = [];
  let prometheus: TestPrometheus | undefined;
  try {
    const gateways: TestCollector[] = [];
    for (const n of [1, 2]) {
      const gateway = await startCollector({ name: `gateway-${n}`, configs: GATEWAY_TEST_CONFIGS });
      started.push(gateway);
      gateways.push(gateway);
    }
    // The agents' static resolver: the gateways' OTLP/gRPC ports, as a YAML list.
    const list = `[${gateways.map((g) => `127.0.0.1:${g.ports.otlpGrpc}`).join(', ')}]`;
    const agents: TestCollector[] = [];
    for (const n of [1, 2]) {
      const agent = await startCollector({
        name: `agent-${n}`,
        configs: [AGENT_CONFIG],
        env: { OTELCOL_GATEWAYS: list, ...agentEnv },
      });
      started.push(agent);
      agents.push(agent);
    }
    prometheus = await startPrometheus((port) => ({
      'otel-collector-exporter': gateways.map((g) => `127.0.0.1:${g.ports.metrics}`),
      'otel-collector-span-metrics': gateways.map((g) => `127.0.0.1:${g.ports.spanMetrics}`),
      'otel-collector': started.map((c) => `127.0.0.1:${c.ports.telemetry}`),
      prometheus: [`127.0.0.1:${port}`],
    }));
    const tiers: Tiers = {
      agents,
      gateways,
      prometheus,
      spansByGateway: () => gateways.map((g) => g.readSpans()),
      logsByGateway: () => gateways.map((g) => g.readLogs()),
      async close() {
        await prometheus?.stop();
        await Promise.all(started.map((c) => c.close()));
      },
    };
    return tiers;
  } catch (error) {
    await prometheus?.stop();
    await Promise.all(started.map((c) => c.close()));
    throw error;
  }
}

/** CPU seconds (user + system) and memory of one process, from /proc. */
export interface ProcessUsage {
  readonly cpuSeconds: number;
  readonly rssMiB: number;
  /** Peak resident set since the process started (VmHWM). */
  readonly peakRssMiB: number;
}

/** Clock ticks per second of /proc/<pid>/stat; 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

export function processUsage(pid: number): ProcessUsage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return {
    cpuSeconds: (utime + stime) / CLOCK_TICKS,
    rssMiB: kib('VmRSS') / 1024,
    peakRssMiB: kib('VmHWM') / 1024,
  };
}

/**
 * Sum of every sample of `metric` in a Prometheus text exposition (a collector's own telemetry or
 * its prometheus exporter), optionally only lines containing `filter`.
 */
export async function exposedTotal(port: number, metric: string, filter = ''): Promise<number> {
  const text = await exposition(port);
  let total = 0;
  for (const line of text.split('\n')) {
    if ((line.startsWith(`${metric}{`) || line.startsWith(`${metric} `)) && line.includes(filter)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

export async function exposition(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return response.text();
}
