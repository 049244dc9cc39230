import { expect } from 'chai';
import { METRICS } from '../../../grafana/src/index.ts';
import { INSTRUMENTS } from '../../../src/observability/instruments.ts';

/**
 * The collector's prometheus exporter (translation_strategy UnderscoreEscapingWithSuffixes) turns
 * dots into underscores, adds `_total` to counters and the unit suffix (`s` -> `_seconds`) unless
 * the name already ends with it; curly-brace units such as `{row}` add nothing.
 */
function prometheusName(def: { name: string; kind: string; unit: string }): string {
  let name = def.name.replaceAll('.', '_');
  if (def.unit === 's' && !name.endsWith('_seconds')) name += '_seconds';
  if (def.kind === 'counter' && !name.endsWith('_total')) name += '_total';
  return name;
}

describe('metric names used by the dashboard and alerts', () => {
  for (const [id, def] of Object.entries(INSTRUMENTS)) {
    it(`${def.name} is queried as the name the collector's Prometheus exporter gives it`, () => {
      expect(METRICS[id as keyof typeof INSTRUMENTS]).to.equal(prometheusName(def));
    });
  }

  it('knows no instrument the product does not emit, besides the collector span metrics', () => {
    const extra = Object.keys(METRICS).filter((id) => !(id in INSTRUMENTS));
    expect(extra).to.deep.equal(['spanDuration']);
  });
});
