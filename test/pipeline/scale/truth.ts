import type { ExportedLogRecord, ExportedSpan } from '../support/otlp-sink.ts';
import type { LedgerTrace } from './traces.ts';

/**
 * What the gateways should have done with the workload's traces, from the workload's own ledger,
 * and what they did, from their sinks.
 */

/** otel-collector/gateway.yaml's default OTELCOL_SAMPLING_API_PERCENT. */
export const API_SHARE_PERCENT = 10;

/**
 * The gateway's api-share rule, restated: keep when the trace id's low 32 bits (its last 8 hex
 * digits) are below percent x 2^32 / 100.
 */
export function inApiShare(traceId: string, percent = API_SHARE_PERCENT): boolean {
  return Number.parseInt(traceId.slice(24), 16) < percent * 42949672.96;
}

/** Every class but ok-and-fast API traffic must be kept whatever the share says. */
export function mustKeep(trace: LedgerTrace): boolean {
  return trace.cls !== 'ok';
}

export function shouldKeep(trace: LedgerTrace): boolean {
  return mustKeep(trace) || inApiShare(trace.traceId);
}

/** `instance|span_name|status_code` -> spans, the span-metrics calls counter's truth. */
export function callsTruth(traces: readonly LedgerTrace[]): Map<string, number> {
  const truth = new Map<string, number>();
  for (const t of traces) {
    for (const s of t.spans) {
      const key = [t.instance, s.name, s.error ? 'STATUS_CODE_ERROR' : 'STATUS_CODE_UNSET'].join('|');
      truth.set(key, (truth.get(key) ?? 0) + 1);
    }
  }
  return truth;
}

/** Where each exported trace went: trace id -> gateway index -> span ids (duplicates kept). */
export function tracesByGateway(
  spansByGateway: readonly ExportedSpan[][],
): Map<string, Map<number, string[]>> {
  const out = new Map<string, Map<number, string[]>>();
  spansByGateway.forEach((spans, gateway) => {
    for (const span of spans) {
      const perGateway = out.get(span.traceId) ?? new Map<number, string[]>();
      out.set(span.traceId, perGateway);
      perGateway.set(gateway, [...(perGateway.get(gateway) ?? []), span.spanId]);
    }
  });
  return out;
}

/** Problems with one trace's delivery: not whole, on two gateways, or spans twice; [] when fine. */
export function deliveryProblems(trace: LedgerTrace, delivered: Map<number, string[]> | undefined): string[] {
  if (delivered === undefined) return [`${trace.cls} trace ${trace.traceId} (${trace.instance}) is missing`];
  const problems: string[] = [];
  if (delivered.size !== 1) problems.push(`trace ${trace.traceId} reached ${delivered.size} gateways`);
  const got = [...delivered.values()].flat().sort();
  const want = trace.spans.map((s) => s.spanId).sort();
  if (got.join() !== want.join()) {
    problems.push(`trace ${trace.traceId} (${trace.cls}): ${got.length} spans exported, ${want.length} sent`);
  }
  return problems;
}

/** trace id -> gateway indexes of its log records (one record per trace in the workload). */
export function logsByTrace(logsByGateway: readonly ExportedLogRecord[][]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  logsByGateway.forEach((records, gateway) => {
    for (const r of records) out.set(r.traceId, [...(out.get(r.traceId) ?? []), gateway]);
  });
  return out;
}
