import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parse } from 'yaml';
import { waitUntil } from '../support/wait.ts';
import type { TestCollector } from './support/collector.ts';
import { AGENT_CONFIG } from './support/paths.ts';
import { promQuery } from './support/prom-api.ts';
import { startTiers, type Tiers } from './scale/tiers.ts';

/**
 * What an agent of the two-tier layout loses while a gateway is down must page. Its per-gateway
 * exporters report no metrics (the load_balancing exporter gives them a no-op meter), so a batch
 * they dropped when their retries ran out was a log line only, and the top-level exporter had
 * counted it sent: a probe lost 352 metric points and 182 spans in a 6-minute gateway outage with
 * no alert. Their retries now never give up; what is lost is what a full queue refuses, and that
 * refusal reaches the top-level exporter's counters, which TelemetryDataDropped reads.
 */

/** Spans the stopped gateway's queue holds; the batches below route about 600 to it. */
const QUEUE = 300;
const BATCHES = 12;

function spansBody(count: number): string {
  const spans = Array.from({ length: count }, () => ({
    traceId: randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    name: 'probe',
    kind: 1,
    startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
    endTimeUnixNano: String(BigInt(Date.now() + 1) * 1_000_000n),
  }));
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agent-drops-test' } }] },
        scopeSpans: [{ spans }],
      },
    ],
  });
}

describe('the two-tier agent with a gateway down', function () {
  this.timeout(180_000);
  let tiers: Tiers | undefined;

  after(async () => tiers?.close());

  it('retries what it routed to the gateway without giving up, so a loss is only a full queue', () => {
    const agent = parse(readFileSync(AGENT_CONFIG, 'utf8')) as {
      exporters: Record<string, { protocol: { otlp: { retry_on_failure: { max_elapsed_time: string } } } }>;
    };
    for (const [name, exporter] of Object.entries(agent.exporters)) {
      expect(exporter.protocol.otlp.retry_on_failure.max_elapsed_time, name).to.equal('0s');
    }
  });

  it('counts every span a full queue refuses where TelemetryDataDropped reads it, and the live gateway gets its share', async () => {
    tiers = await startTiers({ OTELCOL_GATEWAY_QUEUE_SIZE: String(QUEUE) });
    const [agent] = tiers.agents as [TestCollector];
    const [live, stopped] = tiers.gateways as [TestCollector, TestCollector];
    await stopped.stop();

    // Random trace ids: about half of each batch is routed to the stopped gateway, whose queue holds
    // QUEUE spans; the rest of its share is refused.
    for (let i = 0; i < BATCHES; i += 1) {
      const response = await fetch(`${agent.otlpHttpEndpoint}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: spansBody(100),
      });
      expect(response.status).to.equal(200);
    }
    const prom = tiers.prometheus.url;
    const dropped = await waitUntil(
      "the agent's load_balancing exporter to count refused spans in Prometheus",
      async () => {
        const [sample] = await promQuery(
          prom,
          `sum(otelcol_exporter_send_failed_spans{exporter="load_balancing/traces",instance="127.0.0.1:${agent.ports.telemetry}"})`,
        );
        return sample && sample.value > 0 ? sample.value : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(dropped, 'spans counted as refused (whole batches: their live share too)').to.be.at.most(
      BATCHES * 100,
    );
    await waitUntil(
      'TelemetryDataDropped (the production rule) to see the agent drop (pending for its 1m, or firing)',
      async () =>
        (
          await promQuery(
            prom,
            'ALERTS{alertname="TelemetryDataDropped",exporter="load_balancing/traces",data_type="traces"}',
          )
        ).length > 0 || undefined,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await waitUntil(
      'the live gateway to receive its share',
      async () => {
        const [sample] = await promQuery(
          prom,
          `sum(otelcol_receiver_accepted_spans{instance="127.0.0.1:${live.ports.telemetry}"})`,
        );
        return sample && sample.value > 0 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  });
});
