import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OTLP/HTTP (JSON) receiver for worker child processes: keeps every metric data point and
 * span it is sent, so a test can read the counters and spans the workers really exported.
 */

type AnyValue = {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
};
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface DataPoint {
  attributes?: KeyValue[];
  asInt?: number | string;
  asDouble?: number;
  timeUnixNano?: string | number;
}
interface Metric {
  name: string;
  sum?: { dataPoints: DataPoint[] };
  gauge?: { dataPoints: DataPoint[] };
  histogram?: { dataPoints: (DataPoint & { count?: number | string })[] };
}
export interface ExportedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly startTimeUnixNano: string | number;
  readonly attributes: Record<string, string | number | boolean>;
  readonly links: { traceId: string; spanId: string }[];
  readonly instance: string;
  /** 0 unset, 1 ok, 2 error. */
  readonly status?: { readonly code?: number };
  readonly events?: readonly { readonly name: string }[];
}

interface Point {
  instance: string;
  metric: string;
  attributes: Record<string, string | number | boolean>;
  value: number;
  time: number;
}

function scalar(v: AnyValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue ?? '';
}

function attrs(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, scalar(kv.value)]));
}

export class OtlpListener {
  readonly points: Point[] = [];
  readonly spans: ExportedSpan[] = [];
  /** The bodies of the log records received, in order. */
  readonly logBodies: string[] = [];
  private server: Server | undefined;
  url = '';

  /** Listens on `port` (0: any free one); start it again on the same port after stop() to come back. */
  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          if (req.url === '/v1/metrics') this.onMetrics(body);
          if (req.url === '/v1/traces') this.onTraces(body);
          if (req.url === '/v1/logs') this.onLogs(body);
        } catch {
          // Not JSON (or not ours): ignored; the assertions will show what is missing.
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    // Kept-alive connections too: a stopped listener is a collector that is gone.
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private onMetrics(body: Record<string, unknown>): void {
    const rms = (body.resourceMetrics ?? []) as {
      resource?: { attributes?: KeyValue[] };
      scopeMetrics?: { metrics: Metric[] }[];
    }[];
    for (const rm of rms) {
      const instance = String(attrs(rm.resource?.attributes)['service.instance.id'] ?? '');
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics) {
          const dps = m.sum?.dataPoints ?? m.gauge?.dataPoints ?? [];
          for (const dp of dps) {
            this.points.push({
              instance,
              metric: m.name,
              attributes: attrs(dp.attributes),
              value: Number(dp.asInt ?? dp.asDouble ?? 0),
              time: Number(dp.timeUnixNano ?? 0),
            });
          }
          for (const dp of m.histogram?.dataPoints ?? []) {
            this.points.push({
              instance,
              metric: `${m.name}#count`,
              attributes: attrs(dp.attributes),
              value: Number(dp.count ?? 0),
              time: Number(dp.timeUnixNano ?? 0),
            });
          }
        }
      }
    }
  }

  private onTraces(body: Record<string, unknown>): void {
    const rss = (body.resourceSpans ?? []) as {
      resource?: { attributes?: KeyValue[] };
      scopeSpans?: {
        spans: (Omit<ExportedSpan, 'attributes' | 'instance' | 'links'> & {
          attributes?: KeyValue[];
          links?: { traceId: string; spanId: string }[];
        })[];
      }[];
    }[];
    for (const rs of rss) {
      const instance = String(attrs(rs.resource?.attributes)['service.instance.id'] ?? '');
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans) {
          this.spans.push({ ...s, attributes: attrs(s.attributes), links: s.links ?? [], instance });
        }
      }
    }
  }

  private onLogs(body: Record<string, unknown>): void {
    const rls = (body.resourceLogs ?? []) as { scopeLogs?: { logRecords?: { body?: AnyValue }[] }[] }[];
    for (const rl of rls)
      for (const sl of rl.scopeLogs ?? [])
        for (const r of sl.logRecords ?? []) this.logBodies.push(String(scalar(r.body ?? {})));
  }

  /** Latest value of a metric series per process, summed over processes (counters are cumulative). */
  latestSum(metric: string, match: Record<string, string>): number {
    const latest = new Map<string, Point>();
    for (const p of this.points) {
      if (p.metric !== metric) continue;
      if (!Object.entries(match).every(([k, v]) => p.attributes[k] === v)) continue;
      const key = `${p.instance}|${JSON.stringify(p.attributes)}`;
      const prev = latest.get(key);
      if (!prev || p.time >= prev.time) latest.set(key, p);
    }
    return [...latest.values()].reduce((n, p) => n + p.value, 0);
  }

  /** Latest value per process (gauges). */
  latestPerInstance(metric: string, match: Record<string, string>): Map<string, number> {
    const latest = new Map<string, Point>();
    for (const p of this.points) {
      if (p.metric !== metric || !Object.entries(match).every(([k, v]) => p.attributes[k] === v)) continue;
      const prev = latest.get(p.instance);
      if (!prev || p.time >= prev.time) latest.set(p.instance, p);
    }
    return new Map([...latest].map(([k, p]) => [k, p.value]));
  }

  jobSpans(jobId: string): ExportedSpan[] {
    return this.spans.filter((s) => s.name === 'cleanup.job' && s.attributes['job.id'] === jobId);
  }
}
