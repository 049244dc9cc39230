import { expect } from 'chai';
import { METRICS } from '../../grafana/src/index.ts';
import {
  AGENT_CONFIG,
  COLLECTOR_CONFIG,
  GATEWAY_CONFIG,
  promExemplars,
  promQuery,
  promTotals,
  promUntilTotals,
  type Totals,
  validateCollectorConfig,
} from './support/index.ts';
import { reportCost } from './scale/cost.ts';
import { OUTAGE_MS, type Run, runWorkload } from './scale/run.ts';
import { exposedTotal, GATEWAY_TEST_CONFIGS, startTiers, type Tiers } from './scale/tiers.ts';
import type { LedgerTrace } from './scale/traces.ts';
import {
  API_SHARE_PERCENT,
  callsTruth,
  deliveryProblems,
  inApiShare,
  logsByTrace,
  mustKeep,
  tracesByGateway,
} from './scale/truth.ts';
import type { Workload } from './scale/workload.ts';
import { measured } from '../support/measured.ts';

/**
 * The two-tier layout on real collectors: two agents (otel-collector/agent.yaml) and two gateways
 * (config.yaml + gateway.yaml, with the test overlays sending their traces and logs to one sink
 * each) on loopback ports, scraped by Prometheus. Three workload processes play five sdops
 * processes spread over both agents. before() runs the workload once: a steady burst, then a
 * stream during which gateway-2 is stopped for 30 s and started again.
 */

const CALLS_BY = ['instance', 'span_name', 'status_code'];
const phases = (...names: string[]) => `instance=~".*-(${names.join('|')})"`;

describe('the two-tier collector layout (2 agents, 2 gateways, real otelcol-sdops) under a workload', function () {
  this.timeout(900_000);
  let tiers: Tiers;
  let workload: Workload | undefined;
  let run: Run;

  before(async () => {
    tiers = await startTiers();
    ({ run, workload } = await runWorkload(tiers));
  });

  after(async () => {
    workload?.kill();
    await tiers?.close();
  });

  const inPhases = (...names: string[]): LedgerTrace[] => run.traces.filter((t) => names.includes(t.phase));
  const truth = (traces: readonly LedgerTrace[]): Totals => Object.fromEntries(callsTruth(traces));
  const delivered = () => tracesByGateway(tiers.spansByGateway());
  const problemsOf = (traces: readonly LedgerTrace[]) => {
    const byTrace = delivered();
    return traces.flatMap((t) => deliveryProblems(t, byTrace.get(t.traceId)));
  };

  it('otelcol validate accepts agent.yaml alone and gateway.yaml layered on config.yaml, with their env defaults', async () => {
    for (const configs of [[AGENT_CONFIG], [COLLECTOR_CONFIG, GATEWAY_CONFIG]]) {
      const { code, output } = await validateCollectorConfig(configs);
      expect(code, `${configs.join(' + ')}: ${output}`).to.equal(0);
    }
    const { code, output } = await validateCollectorConfig(GATEWAY_TEST_CONFIGS, {
      SDOPS_TEST_SINK_ENDPOINT: 'http://127.0.0.1:4318',
    });
    expect(code, output).to.equal(0);
  });

  it('every workload process delivered all its spans and log records to its agent', () => {
    const failed = run.instances.filter((i) => i.exports.spans.failed + i.exports.logs.failed > 0);
    expect(failed, 'instances with failed exports').to.deep.equal([]);
    for (const i of run.instances) {
      expect(i.exports.spans.exported, `${i.instance} spans`).to.equal(i.spans);
      expect(i.exports.logs.exported, `${i.instance} logs`).to.equal(i.logs);
    }
  });

  it('every trace that arrives, arrives whole at exactly one gateway, and both gateways get traces', () => {
    const byTrace = delivered();
    const arrived = run.traces.filter((t) => byTrace.has(t.traceId));
    expect(arrived.length).to.be.greaterThan(1000);
    expect(problemsOf(arrived).slice(0, 20)).to.deep.equal([]);
    const gateways = new Set(arrived.map((t) => [...(byTrace.get(t.traceId)?.keys() ?? [])][0]));
    expect([...gateways].sort()).to.deep.equal([0, 1]);
    const marked = tiers
      .spansByGateway()
      .flat()
      .filter((span) => 'sdops.exemplar' in span.attributes);
    expect(marked.length, 'exported spans carrying the span-metrics copy attribute').to.equal(0);
    const known = new Set(run.traces.map((t) => t.traceId));
    expect(
      [...byTrace.keys()].filter((id) => !known.has(id)),
      'traces nobody sent',
    ).to.deep.equal([]);
  });

  it('span-metrics calls over the steady workload equal the spans sent, exactly, with tail sampling dropping most ok-and-fast API traces', async () => {
    const expected = truth(run.steady);
    const seen = await promUntilTotals(tiers.prometheus.url, METRICS.spanCalls, CALLS_BY, expected, {
      selector: phases('steady'),
    });
    expect(seen).to.deep.equal(expected);
    const byTrace = delivered();
    const ok = run.steady.filter((t) => t.cls === 'ok');
    const keptOk = ok.filter((t) => byTrace.has(t.traceId)).length;
    expect(keptOk / ok.length, 'share of ok-and-fast API traces kept').to.be.lessThan(0.2);
  });

  it('every error, slow, job-enqueuing, run-starting, run-resuming, migration-run, cleanup-job and CLI trace of the steady workload is kept, whole', () => {
    const must = run.steady.filter(mustKeep);
    expect(new Set(must.map((t) => t.cls))).to.deep.equal(
      new Set(['error', 'slow', 'enqueue', 'start-run', 'resume-run', 'job', 'migration', 'cli']),
    );
    expect(problemsOf(must).slice(0, 20)).to.deep.equal([]);
  });

  it('the gateways decided every trace: none dropped before its decision, no rule failed to evaluate', async () => {
    for (const gateway of tiers.gateways) {
      const total = (metric: string) => exposedTotal(gateway.ports.telemetry, metric);
      expect(
        await total('otelcol_processor_tail_sampling_global_count_traces_sampled'),
        gateway.name,
      ).to.be.greaterThan(0);
      expect(
        await total('otelcol_processor_tail_sampling_sampling_trace_dropped_too_early'),
        gateway.name,
      ).to.equal(0);
      expect(
        await total('otelcol_processor_tail_sampling_sampling_policy_evaluation_error'),
        gateway.name,
      ).to.equal(0);
    }
  });

  it(`the kept share of ok-and-fast API traces is within 5 standard deviations of the configured ${API_SHARE_PERCENT} %, and exactly the traces the trace-id rule selects`, () => {
    const byTrace = delivered();
    const ok = run.traces.filter((t) => t.cls === 'ok');
    const kept = ok.filter((t) => byTrace.has(t.traceId));
    const p = API_SHARE_PERCENT / 100;
    const tolerance = 5 * Math.sqrt(ok.length * p * (1 - p));
    measured(
      `kept ${kept.length} of ${ok.length} ok-and-fast API traces (${((100 * kept.length) / ok.length).toFixed(2)} %; ` +
        `configured ${API_SHARE_PERCENT} %, tolerance +-${tolerance.toFixed(0)} traces = +-${((100 * tolerance) / ok.length).toFixed(2)} points)`,
    );
    expect(Math.abs(kept.length - ok.length * p)).to.be.at.most(tolerance);
    const wrong = ok.filter((t) => byTrace.has(t.traceId) !== inApiShare(t.traceId));
    expect(wrong.map((t) => `${t.traceId} kept=${byTrace.has(t.traceId)}`).slice(0, 10)).to.deep.equal([]);
  });

  it('every exemplar Prometheus holds points at a trace a gateway kept, and ok API series have some', async () => {
    const byTrace = delivered();
    const selector = `{${phases('steady', 'pre', 'down', 'after')}}`;
    const series = [
      ...(await promExemplars(tiers.prometheus.url, `${METRICS.spanCalls}${selector}`, 900)),
      ...(await promExemplars(tiers.prometheus.url, `${METRICS.spanDuration}_bucket${selector}`, 900)),
    ];
    const ids = series.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id ?? ''));
    expect(ids.length).to.be.greaterThan(50);
    expect(
      ids.filter((id) => !byTrace.has(id)),
      'exemplars of dropped traces',
    ).to.deep.equal([]);
    const okApi = series.filter(
      (s) =>
        s.seriesLabels.span_name === 'DELETE /v1/:entity/:id' &&
        s.seriesLabels.status_code === 'STATUS_CODE_UNSET',
    );
    expect(okApi.flatMap((s) => s.exemplars).length, 'exemplars on ok API series').to.be.greaterThan(0);
  });

  it('application metrics and logs pass the agents: each process on one gateway, counters exact, each record once', async () => {
    const steadyInstances = new Set(run.steady.map((t) => t.instance));
    for (const instance of steadyInstances) {
      const on = run.exposedInstances.filter((set) => set.has(instance)).length;
      expect(on, `gateways exposing ${instance}'s counter`).to.equal(1);
      // Span metrics (every gateway that got one of its traces) are served apart, so its target_info
      // comes from one target only: two targets writing one series collide in Prometheus.
      const withInfo = run.targetInfoInstances.filter((set) => set.has(instance)).length;
      expect(withInfo, `gateways exposing ${instance}'s target_info with the processes' metrics`).to.equal(1);
    }
    const stored = await promQuery(
      tiers.prometheus.url,
      'count by (instance) (last_over_time(target_info[30m]))',
    );
    const withTargetInfo = new Set(stored.map((s) => s.metric.instance));
    expect(
      [...steadyInstances].filter((i) => !withTargetInfo.has(i)),
      'instances without target_info',
    ).to.deep.equal([]);
    const expected: Totals = {};
    for (const t of run.traces)
      expected[`${t.instance}|${t.cls}`] = (expected[`${t.instance}|${t.cls}`] ?? 0) + 1;
    const seen = await promUntilTotals(
      tiers.prometheus.url,
      'sdops_test_traces_total',
      ['instance', 'class'],
      expected,
      {
        selector: phases('steady', 'pre', 'down', 'after'),
      },
    );
    expect(seen).to.deep.equal(expected);
    const logs = logsByTrace(tiers.logsByGateway());
    const wrong = run.traces.filter((t) => (logs.get(t.traceId) ?? []).length !== 1);
    expect(
      wrong
        .map((t) => `${t.instance} ${t.traceId}: ${logs.get(t.traceId)?.length ?? 0} records`)
        .slice(0, 10),
    ).to.deep.equal([]);
    const gatewaysOf = new Map<string, Set<number>>();
    for (const t of run.traces) {
      const set = gatewaysOf.get(t.instance) ?? new Set<number>();
      for (const g of logs.get(t.traceId) ?? []) set.add(g);
      gatewaysOf.set(t.instance, set);
    }
    for (const [instance, set] of gatewaysOf)
      expect(set.size, `gateways with ${instance}'s logs`).to.equal(1);
  });

  it('Prometheus ingests every gateway without a sample conflict (no two gateways write one series at once)', async () => {
    const conflicts = await promQuery(
      tiers.prometheus.url,
      'sum(prometheus_target_scrapes_sample_out_of_order_total) + sum(prometheus_target_scrapes_sample_duplicate_timestamp_total)',
    );
    expect(conflicts.map((c) => c.value)).to.deep.equal([0]);
    const writers = await promQuery(
      tiers.prometheus.url,
      `count(count by (collector_instance_id) (last_over_time(${METRICS.spanCalls}[30m])))`,
    );
    expect(
      writers[0]?.value,
      'span-metric writers: gateway-1, gateway-2 before and after its restart',
    ).to.equal(3);
  });

  it(`stopping gateway-2 for ${OUTAGE_MS / 1000} s mid-workload loses nothing sent while it was down: the agents queue it and deliver it after the restart`, async () => {
    const traces = inPhases('down', 'after');
    expect(traces.length).to.be.greaterThan(1000);
    const expected = truth(traces);
    const seen = await promUntilTotals(tiers.prometheus.url, METRICS.spanCalls, CALLS_BY, expected, {
      selector: phases('down', 'after'),
    });
    expect(seen).to.deep.equal(expected);
    const byTrace = delivered();
    const kept = traces.filter((t) => mustKeep(t) || inApiShare(t.traceId));
    expect(problemsOf(kept).slice(0, 20)).to.deep.equal([]);
    const onStopped = kept.filter((t) => byTrace.get(t.traceId)?.has(1)).length;
    expect(onStopped, 'traces the restarted gateway-2 exported').to.be.greaterThan(100);
    for (const agent of tiers.agents) {
      const outcome = (success: boolean) =>
        exposedTotal(agent.ports.telemetry, 'otelcol_loadbalancer_backend_outcome', `success="${success}"`);
      expect(await outcome(true), `${agent.name}: batches handed to its gateway queues`).to.be.greaterThan(0);
      expect(await outcome(false), `${agent.name}: batches its gateway queues refused`).to.equal(0);
    }
  });

  it('what gateway-2 held when it stopped: its kept traces were exported whole, and span-metric increments since its last scrape are the only loss', async () => {
    const pre = inPhases('pre');
    expect(problemsOf(pre.filter((t) => mustKeep(t) || inApiShare(t.traceId))).slice(0, 20)).to.deep.equal(
      [],
    );
    const expected = truth(pre);
    const seen = await promTotals(tiers.prometheus.url, METRICS.spanCalls, CALLS_BY, {
      selector: phases('pre'),
    });
    const over = Object.entries(seen).filter(([key, value]) => value > (expected[key] ?? 0));
    expect(over, 'span-metric series above the spans sent').to.deep.equal([]);
    const sent = Object.values(expected).reduce((a, b) => a + b, 0);
    const counted = Object.values(seen).reduce((a, b) => a + b, 0);
    // What can reach gateway-2 and be counted after its last scrape: spans emitted at most this long
    // before its stop (test span-metrics flush 1 s + scrape 1 s + SDK and agent batching ~1.2 s + slack).
    const recent = pre.filter((t) => t.at >= run.stoppedAt - 5_000).reduce((n, t) => n + t.spans.length, 0);
    measured(
      `pre-stop phase: ${sent} spans sent, ${counted} counted: ${sent - counted} counted by gateway-2 after its ` +
        `last scrape (bound: ${recent} spans emitted in the 5 s before its stop); it had accepted ${run.stoppedGatewayAccepted} spans`,
    );
    expect(sent - counted).to.be.at.most(recent);
  });

  it("reports the collectors' CPU and memory per 1,000 spans/s", () => {
    const lines = reportCost(run, tiers);
    for (const line of lines) measured(line);
    expect(lines.length).to.be.greaterThan(0);
  });
});
