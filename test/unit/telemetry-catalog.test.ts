import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../../src/config.ts';
import {
  DURATION_BUCKETS_SECONDS,
  INSTRUMENT_DEFINITIONS,
  type InstrumentDefinition,
} from '../../src/observability/instruments.ts';
import { LOG_FIELDS } from '../../src/observability/logger.ts';
import { SPAN_DEFINITIONS } from '../../src/observability/span-names.ts';
import { codeSpans, readDoc, tableRows } from './docs/support/markdown.ts';

const catalog = readDoc('docs/telemetry.md');
const table = (firstHeader: string): string[][] => tableRows(catalog, firstHeader);
const codes = (cell: string | undefined): string[] => codeSpans(cell ?? '');

/** The collector prometheus exporter's naming rules as this project understands them. */
function prometheusNames(def: InstrumentDefinition): string[] {
  let name = def.name.replace(/\./g, '_');
  if (def.unit === 's' && !name.endsWith('_seconds')) name += '_seconds';
  if (def.kind === 'counter' && !name.endsWith('_total')) name += '_total';
  return def.kind === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
}

describe('the telemetry catalog (docs/telemetry.md)', () => {
  it('lists exactly the metric instruments the code creates', () => {
    const documented = table('OTel name').map((row) => codes(row[0])[0]);
    expect(documented.sort()).to.deep.equal(INSTRUMENT_DEFINITIONS.map((d) => d.name).sort());
  });

  it('documents each instrument with its type, unit, attributes and Prometheus name', () => {
    const rows = new Map(table('OTel name').map((row) => [codes(row[0])[0], row]));
    for (const def of INSTRUMENT_DEFINITIONS) {
      const row = rows.get(def.name);
      expect(row, def.name).to.not.equal(undefined);
      expect(codes(row![1]), `${def.name} Prometheus name`).to.deep.equal(prometheusNames(def));
      expect(row![2], `${def.name} type`).to.equal(def.kind);
      expect(codes(row![3]), `${def.name} unit`).to.deep.equal([def.unit]);
      expect(codes(row![4]), `${def.name} attributes`).to.deep.equal([...def.attributes]);
    }
  });

  it('lists exactly the span names of the code with the same kinds and attributes', () => {
    const rows = table('Span name');
    expect(rows.map((r) => codes(r[0])[0]).sort()).to.deep.equal(SPAN_DEFINITIONS.map((s) => s.name).sort());
    for (const def of SPAN_DEFINITIONS) {
      const row = rows.find((r) => codes(r[0])[0] === def.name)!;
      expect(row[1], `${def.name} kind`).to.equal(def.kind);
      expect(codes(row[2]), `${def.name} attributes`).to.deep.equal([...def.attributes]);
    }
  });

  it('states the histogram bucket boundaries the code gives each histogram', () => {
    const paragraph = catalog.slice(
      catalog.indexOf('Histograms use'),
      catalog.indexOf('Prometheus names are'),
    );
    const lists = codeSpans(paragraph).map((span) => span.split(/\s+/).map(Number));
    expect(lists[0], 'the default boundaries').to.deep.equal([...DURATION_BUCKETS_SECONDS]);
    for (const def of INSTRUMENT_DEFINITIONS.filter((d) => d.buckets !== undefined)) {
      const at = codeSpans(paragraph).indexOf(def.name);
      expect(at, `${def.name} is named as the exception`).to.be.greaterThan(0);
      expect(lists[at + 1], `${def.name} boundaries`).to.deep.equal([...(def.buckets ?? [])]);
    }
  });

  it('has a top duration bucket past the longest a job may run, so a p95 does not stop short of it', () => {
    // With 300 s the job-duration and queue-wait p95 read "5 min" for a 15-minute stall.
    const expire = loadConfig({}).worker.policy.expireSeconds;
    expect(DURATION_BUCKETS_SECONDS.at(-1)).to.be.greaterThan(expire);
  });

  it('names exactly the log components the code uses', () => {
    const src = new URL('../../src/', import.meta.url).pathname;
    const used = new Set(['telemetry']);
    for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    )) {
      for (const m of readFileSync(join(src, file), 'utf8').matchAll(/getLogger\('([^']+)'\)/g))
        used.add(m[1]!);
    }
    const row = table('Field').find((r) => codes(r[0])[0] === 'component');
    expect(
      codes(row?.[2])
        .filter((c) => !c.includes('('))
        .sort(),
    ).to.deep.equal([...used].sort());
  });

  it('lists exactly the log fields the logger writes by design', () => {
    expect(table('Field').map((r) => codes(r[0])[0])).to.deep.equal([...LOG_FIELDS]);
  });
});
