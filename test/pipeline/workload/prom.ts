import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/paths.ts';
import { promTotals, promUntilTotals } from '../support/prom-api.ts';
import type { Expected } from './expected.ts';

/** Series of the app (not the collector's own metrics or span metrics). */
export const APP = 'job=~"sdops-.*"';
/** Long enough to cover the whole file's run: finished CLI processes keep their last sample. */
export const WINDOW = '30m';

/**
 * Totals over every process: each sdops process is its own series (instance = service.instance.id),
 * and a finished process's series keeps its last cumulative value, so sum its last sample.
 */
export function totals(baseUrl: string, metric: string, by: readonly string[]): Promise<Expected> {
  return promTotals(baseUrl, metric, by, { selector: APP, window: WINDOW });
}

/** Polls until Prometheus shows exactly `expected`; resolves with what it last showed either way. */
export function untilExact(
  baseUrl: string,
  metric: string,
  by: readonly string[],
  expected: Expected,
  timeoutMs = 45_000,
): Promise<Expected> {
  return promUntilTotals(baseUrl, metric, by, expected, { selector: APP, window: WINDOW, timeoutMs });
}

export interface CatalogMetric {
  readonly otel: string;
  /** Prometheus names (histograms: _bucket, _sum, _count). */
  readonly prom: readonly string[];
  readonly type: string;
  readonly attributes: readonly string[];
}

const ticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);

/** The metrics table of docs/telemetry.md. */
export function catalogMetrics(file = join(REPO_ROOT, 'docs/telemetry.md')): CatalogMetric[] {
  const text = readFileSync(file, 'utf8');
  const section = text.slice(text.indexOf('## Metrics'), text.indexOf('### Metric attribute values'));
  const out: CatalogMetric[] = [];
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 8 || !cells[1]?.startsWith('`')) continue;
    out.push({
      otel: ticked(cells[1])[0] as string,
      prom: ticked(cells[2] ?? ''),
      type: cells[3] ?? '',
      attributes: ticked(cells[5] ?? ''),
    });
  }
  return out;
}

/** Labels the exporter adds to every series: not attributes. */
export function isInfrastructureLabel(label: string): boolean {
  return ['__name__', 'job', 'instance', 'le'].includes(label) || label.startsWith('otel_scope_');
}
