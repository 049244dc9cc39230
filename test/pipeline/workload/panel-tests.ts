import { expect } from 'chai';
import {
  ALERT_RULES,
  type AlertRuleDefinition,
  listQueries,
  PANEL_IDS,
  PRODUCT_SPAN_REGEX,
  prometheusExpr,
  type QueryValues,
} from '../../../grafana/src/index.ts';
import { BUILTIN_JOB_TYPES } from '../../../src/cleanup/index.ts';
import { migrationNames } from '../../../src/migration/index.ts';
import {
  ENTITIES,
  type Expected,
  expectedCalls,
  expectedDead,
  expectedMigration,
  expectedSoftDelete,
  expectedWorker,
} from './expected.ts';
import { findQuery, firing, instantAt, integrate, keyed, nonZero, panelQuery, rangeOf } from './query.ts';
import { SCALED_PARAMS, SCALED_RULES } from './rules.ts';
import { MIGRATION } from './scenario.ts';
import {
  APP_BUCKETS,
  failedCallsByEntity,
  logDurations,
  quantileWithin,
  queueWaits,
  spanDurations,
  spanMetricsBuckets,
} from './truth.ts';
import type { Moment, World } from './world.ts';

/**
 * Every PromQL query of the dashboard, its variables and the alert rules, evaluated over the
 * workload (or at the moment the truth was read) and held against the truth. Tolerances:
 * - counts (rate panels integrated over the workload, $__range stat panels, alert counts): none;
 * - histogram quantiles: the estimate lies in the bucket of the true quantile or a neighbour
 *   (bucket interpolation; the true durations come from the exported spans and the job rows,
 *   which time a call a little differently, and spans made during the collector outage are lost);
 * - gauges read from the database against the tables read right after: TOLERANCE_SECONDS for
 *   ages (one read interval + one export + one scrape), none for counts.
 */

const TOLERANCE_SECONDS = 3;
const BATCH_ATTEMPTS = 2;

type Check = (world: World) => Promise<void>;

function close(seen: Expected, truth: Expected, tolerance: number, what: string): void {
  expect(Object.keys(seen).sort(), `${what}: label sets`).to.deep.equal(Object.keys(truth).sort());
  for (const [k, v] of Object.entries(truth)) {
    expect(Math.abs((seen[k] ?? Number.NaN) - v), `${what} ${k}: ${seen[k]} vs ${v}`).to.be.at.most(
      tolerance,
    );
  }
}

function ratios(num: Expected, den: Expected, keys: readonly string[]): Expected {
  const out: Expected = {};
  for (const k of keys) out[k] = (den[k] ?? 0) > 0 ? (num[k] ?? 0) / (den[k] as number) : 0;
  return out;
}

function byFirst(map: Expected, parts: number): Expected {
  const out: Expected = {};
  for (const [k, v] of Object.entries(map)) {
    const key = k.split('|').slice(0, parts).join('|');
    out[key] = (out[key] ?? 0) + v;
  }
  return out;
}

function dropPart(map: Expected, index: number): Expected {
  const out: Expected = {};
  for (const [k, v] of Object.entries(map)) {
    const parts = k.split('|');
    parts.splice(index, 1);
    const key = parts.join('|');
    out[key] = (out[key] ?? 0) + v;
  }
  return out;
}

export function registerPanelTests(world: World): void {
  const prom = () => world.prometheus.url;
  /** The whole workload as one window, and as Grafana's $__range / $__rate_interval. */
  const whole = (): QueryValues => {
    const seconds = `${Math.ceil((world.endedAt - world.startedAt) / 1000) + 5}s`;
    return { rateInterval: seconds, range: seconds };
  };
  const atEnd = async (expr: string, by: readonly string[]) =>
    keyed(await instantAt(prom(), expr, world.endedAt), by);
  const integrated = (id: number, refId: string, by: readonly string[]) =>
    integrate(
      prom(),
      (rateInterval) => panelQuery(id, refId, { rateInterval }),
      by,
      // 5 s windows from before the first sample to past the last one (nothing counts after endedAt).
      world.startedAt - 10_000,
      world.endedAt + 5_000,
    );
  const moment = (name: string): Moment => {
    const m = world.moments[name];
    if (!m) throw new Error(`the workload captured no ${name} moment`);
    return m;
  };

  /**
   * An age read from the database (gauge panel) against the table at the moment it was captured,
   * then 0 in the panel and the table once the condition ended.
   */
  const ageAgainstTable = async (
    [during, after]: [string, string],
    seenKey: string,
    truthKey: string,
    what: string,
  ) => {
    const m = moment(during);
    close(nonZero(m.seen[seenKey] as Expected), m.truth[truthKey] as Expected, TOLERANCE_SECONDS, what);
    const ended = moment(after);
    expect(nonZero(ended.seen[seenKey] as Expected), `${what}: 0 afterwards`).to.deep.equal({});
    expect(nonZero(ended.truth[truthKey] ?? {}), `${what}: the table agrees`).to.deep.equal({});
  };

  /** A $__range stat panel over the whole workload: an exact count per migration. */
  const statByMigration = async (id: number, refId: string, want: Expected) => {
    const seen = await atEnd(panelQuery(id, refId, whole()), ['migration']);
    expect(nonZero(seen), `panel ${id}${refId}`).to.deep.equal(nonZero(want));
    // Migrations that never ran read 0 (serve starts their counters), not "no data".
    expect(Object.keys(seen).sort(), `panel ${id}${refId}: every migration`).to.deep.equal(
      migrationNames().sort(),
    );
  };

  const truth = {
    softDelete: () => expectedSoftDelete(world.sql, world.ledger),
    calls: () => expectedCalls(world.sql, world.ledger),
    worker: () => expectedWorker(world.sql),
    migration: () => expectedMigration(world.sql, world.ledger, BATCH_ATTEMPTS),
  };

  async function quantiles(
    id: number,
    refId: string,
    q: number,
    by: readonly string[],
    observations: Record<string, number[]>,
    bounds: readonly number[],
    recorded?: Expected,
  ): Promise<void> {
    // The spans or lines standing in for the histogram's observations must be the same population
    // (a span the metric never saw, as a noop migration batch, can be the slowest and move the quantile).
    if (recorded) {
      const counts = Object.fromEntries(Object.entries(observations).map(([k, v]) => [k, v.length]));
      expect(nonZero(counts), `panel ${id}${refId}: one span or line per recorded observation`).to.deep.equal(
        nonZero(recorded),
      );
    }
    const seen = await atEnd(panelQuery(id, refId, whole()), by);
    const wanted = Object.keys(observations).filter((k) => (observations[k]?.length ?? 0) > 0);
    expect(
      Object.keys(seen)
        .filter((k) => Number.isFinite(seen[k]))
        .sort(),
      `panel ${id}${refId} series`,
    ).to.include.members(wanted.sort());
    for (const key of wanted) {
      const obs = observations[key] as number[];
      const r = quantileWithin(seen[key] as number, obs, q, bounds, 1);
      const slowest = [...obs].sort((a, b) => b - a).slice(0, 5);
      expect(
        r.ok,
        `panel ${id}${refId} ${key}: estimate ${seen[key]} (bucket ${r.estimateBucket}) vs true ${r.truth} (bucket ${r.truthBucket}) of ${obs.length} observations, slowest ${slowest.join(', ')}`,
      ).to.equal(true);
    }
  }

  const spans = () => world.collector.readSpans();
  /** Every recorded call under the one key '' the unlabelled quantile panel has. */
  const allCalls = async (): Promise<Expected> => byFirst(await truth.calls(), 0);
  const operationSpans = () =>
    spanDurations(spans(), (s) =>
      /^soft_delete\.(delete|restore|purge|archive|bulk)$/.test(s.name) ? '' : undefined,
    );

  async function alertAt(
    rule: AlertRuleDefinition,
    kind: 'value' | 'probe' | 'prometheus',
    at: number,
    by: string,
  ) {
    const expr =
      kind === 'prometheus'
        ? prometheusExpr(rule)
        : kind === 'probe'
          ? (rule.probeExpr ?? rule.valueExpr)
          : rule.valueExpr;
    // A ratio over no jobs is NaN (0/0): no value, as a threshold comparison also drops it.
    const samples = (await instantAt(prom(), expr, at)).filter((x) => Number.isFinite(x.value));
    return nonZero(keyed(samples, [by]), 9);
  }
  const rule = (name: string) => ALERT_RULES.find((r) => r.name === name) as AlertRuleDefinition;

  /**
   * An alert on the collector's exporters, with a backend that took everything: no value, and never
   * fired, scaled or not; its probe counts the one collector's exporter of each kind (the test overlay
   * sends traces and logs through one, otlp_http/test_sink).
   */
  async function quietForHealthyExporters(name: string, kind: 'value' | 'probe' | 'prometheus') {
    close(
      await alertAt(rule(name), kind, world.endedAt, 'data_type'),
      kind === 'probe' ? { traces: 1, logs: 1 } : {},
      0,
      `${name} ${kind}`,
    );
    const fired = await rangeOf(
      prom(),
      `ALERTS{alertname="${name}",scaled="true"}`,
      world.startedAt,
      world.endedAt,
      1,
    );
    expect(fired, `the scaled ${name} during the workload`).to.deep.equal([]);
    expect(await firing(prom(), name, true, 'data_type', world.endedAt)).to.deep.equal([]);
  }

  /** Per alert: what its value, probe and thresholded expression must be (by its label). */
  const alertTruth: Record<string, (kind: 'value' | 'probe' | 'prometheus') => Promise<void>> = {
    async CleanupJobFailureRatioHigh(kind) {
      const { processed, failures } = await truth.worker();
      const types = Object.keys(processed).filter((t) => (processed[t] ?? 0) > 0);
      const all = ratios(failures, processed, types);
      const guarded = (min: number) =>
        Object.fromEntries(types.filter((t) => (processed[t] ?? 0) >= min).map((t) => [t, all[t] as number]));
      const want =
        kind === 'probe'
          ? all
          : kind === 'value'
            ? guarded(20)
            : Object.fromEntries(Object.entries(guarded(20)).filter(([, v]) => v > 0.05));
      const seen = await alertAt(rule('CleanupJobFailureRatioHigh'), kind, world.endedAt, 'job_type');
      close(seen, nonZero(want, 9), 1e-9, `CleanupJobFailureRatioHigh ${kind}`);
      // The same expression with the workload's minimum volume fires where the truth says so.
      const scaled = Object.keys(guarded(SCALED_PARAMS.minJobsPerWindow)).filter(
        (t) => (all[t] ?? 0) > SCALED_PARAMS.failureRatioThreshold,
      );
      expect(
        await firing(prom(), 'CleanupJobFailureRatioHigh', true, 'job_type', world.endedAt),
      ).to.deep.equal(scaled.sort());
    },
    async CleanupQueueBacklog(kind) {
      const m = moment('noWorker');
      const seen = await alertAt(rule('CleanupQueueBacklog'), kind, m.at, 'job_type');
      const waiting = m.truth.waiting as Expected;
      const want =
        kind === 'prometheus'
          ? nonZero(Object.fromEntries(Object.entries(waiting).filter(([, v]) => v > 100)))
          : waiting;
      close(seen, want, 0, `CleanupQueueBacklog ${kind} with no worker`);
      const scaled = Object.keys(waiting).filter(
        (t) => (waiting[t] ?? 0) > SCALED_PARAMS.queueLengthThreshold,
      );
      expect(
        await firing(prom(), 'CleanupQueueBacklog', true, 'job_type', m.at),
        'scaled backlog alert with no worker',
      ).to.deep.equal(scaled.sort());
    },
    async CleanupQueueStalled(kind) {
      const m = moment('noWorker');
      const stalledTruth = (windowSeconds: number): Expected => {
        const out: Expected = {};
        for (const t of BUILTIN_JOB_TYPES) {
          const since = m.truth.sinceLastStart?.[t];
          if (since !== undefined && since < windowSeconds) continue;
          out[t] = m.truth.oldestWait?.[t] ?? 0;
        }
        return out;
      };
      const prodTruth = stalledTruth(600);
      const want =
        kind === 'prometheus'
          ? Object.fromEntries(Object.entries(prodTruth).filter(([, v]) => v > 600))
          : kind === 'probe'
            ? (m.truth.oldestWait as Expected)
            : prodTruth;
      close(
        await alertAt(rule('CleanupQueueStalled'), kind, m.at, 'job_type'),
        nonZero(want),
        TOLERANCE_SECONDS,
        `CleanupQueueStalled ${kind} with no worker`,
      );
      const scaledTruth = stalledTruth(5);
      close(
        await alertAt(
          SCALED_RULES.find((r) => r.name === 'CleanupQueueStalled') as AlertRuleDefinition,
          'value',
          m.at,
          'job_type',
        ),
        nonZero(scaledTruth),
        TOLERANCE_SECONDS,
        'scaled CleanupQueueStalled value',
      );
      const scaledFiring = Object.keys(scaledTruth).filter(
        (t) => (scaledTruth[t] ?? 0) > SCALED_PARAMS.queueStalledSeconds,
      );
      expect(await firing(prom(), 'CleanupQueueStalled', true, 'job_type', m.at)).to.deep.equal(
        scaledFiring.sort(),
      );
      expect(scaledFiring, 'no worker: the cascade job and the noop jobs wait').to.include.members([
        'noop',
        'cascade_soft_delete',
      ]);
    },
    async CleanupJobsDead(kind) {
      const want = await expectedDead(world.sql);
      expect(want.noop, 'the failing noop job is dead').to.be.greaterThan(0);
      close(
        await alertAt(rule('CleanupJobsDead'), kind, world.endedAt, 'job_type'),
        want,
        0,
        `CleanupJobsDead ${kind}`,
      );
      expect(await firing(prom(), 'CleanupJobsDead', true, 'job_type', world.endedAt)).to.deep.equal(
        Object.keys(want).sort(),
      );
    },
    async ApiServerErrorRatioHigh(kind) {
      // Every request of the workload was answered 200 (ok() refuses anything else): no 5xx, so the
      // ratio is 0 wherever it has a value (too few requests in the window: no value), nothing fires.
      const calls = world.ledger.apiCalls;
      expect(calls.length, 'the workload sent API requests').to.be.greaterThan(5);
      expect(calls.filter((c) => c.status >= 500)).to.deep.equal([]);
      close(
        await alertAt(rule('ApiServerErrorRatioHigh'), kind, world.endedAt, 'job'),
        {},
        0,
        `ApiServerErrorRatioHigh ${kind}`,
      );
      expect(await firing(prom(), 'ApiServerErrorRatioHigh', true, 'job', world.endedAt)).to.deep.equal([]);
      expect(await firing(prom(), 'ApiServerErrorRatioHigh', false, 'job', world.endedAt)).to.deep.equal([]);
    },
    async ApiAuthRefusalRatioHigh(kind) {
      // No request of the workload was refused for its token (ok() takes only the statuses it
      // expects): the refused share is 0 wherever it has a value, and nothing fires.
      const calls = world.ledger.apiCalls;
      expect(calls.length, 'the workload sent API requests').to.be.greaterThan(5);
      expect(calls.filter((c) => c.status === 401 || c.status === 403)).to.deep.equal([]);
      close(
        await alertAt(rule('ApiAuthRefusalRatioHigh'), kind, world.endedAt, 'job'),
        {},
        0,
        `ApiAuthRefusalRatioHigh ${kind}`,
      );
      if (kind === 'probe') {
        // Evaluated on the real series (the token-route selector matches the workload's requests): 0.
        const probe = rule('ApiAuthRefusalRatioHigh').probeExpr as string;
        const samples = await instantAt(prom(), probe, world.endedAt);
        expect(keyed(samples, ['job'])).to.deep.equal({ 'sdops-api': 0 });
      }
      expect(await firing(prom(), 'ApiAuthRefusalRatioHigh', true, 'job', world.endedAt)).to.deep.equal([]);
      expect(await firing(prom(), 'ApiAuthRefusalRatioHigh', false, 'job', world.endedAt)).to.deep.equal([]);
    },
    async ServiceDown(kind) {
      // Two serve and two worker processes ran (each restarted once in the workload), and the last of
      // each stopped moments before the end: seen within the hour, and none down for 2 minutes yet.
      close(
        await alertAt(rule('ServiceDown'), kind, world.endedAt, 'job'),
        kind === 'probe' ? { 'sdops-api': 2, 'sdops-worker': 2 } : {},
        0,
        `ServiceDown ${kind}`,
      );
      expect(await firing(prom(), 'ServiceDown', true, 'job', world.endedAt)).to.deep.equal([]);
      expect(await firing(prom(), 'ServiceDown', false, 'job', world.endedAt)).to.deep.equal([]);
    },
    async ServiceCrashLooping(kind) {
      // Each service was restarted once in the workload: at most one process of each has ended (the
      // last ones stopped moments before the end, not 2 minutes ago), never the threshold's three.
      const seen = await alertAt(rule('ServiceCrashLooping'), kind, world.endedAt, 'job');
      if (kind === 'probe')
        close(seen, { 'sdops-api': 2, 'sdops-worker': 2 }, 0, 'ServiceCrashLooping probe');
      else if (kind === 'prometheus') expect(seen, 'ServiceCrashLooping').to.deep.equal({});
      else
        for (const [job, ended] of Object.entries(seen))
          expect(ended, `${job} processes ended`).to.be.at.most(1);
      expect(await firing(prom(), 'ServiceCrashLooping', true, 'job', world.endedAt)).to.deep.equal([]);
      expect(await firing(prom(), 'ServiceCrashLooping', false, 'job', world.endedAt)).to.deep.equal([]);
    },
    async ServiceProcessLost(kind) {
      // Each service's processes were stopped with SIGTERM (restarts, the end): each said so, none
      // is lost, and the last ones stopped moments before the end, not 2 minutes ago.
      close(
        await alertAt(rule('ServiceProcessLost'), kind, world.endedAt, 'job'),
        kind === 'probe' ? { 'sdops-api': 2, 'sdops-worker': 2 } : {},
        0,
        `ServiceProcessLost ${kind}`,
      );
      const stopped = await instantAt(
        prom(),
        'count by (job) (max_over_time(sdops_process_stopping[1h]))',
        world.endedAt,
      );
      expect(keyed(stopped, ['job']), 'every stopped process said so').to.deep.equal({
        'sdops-api': 2,
        'sdops-worker': 2,
      });
      expect(await firing(prom(), 'ServiceProcessLost', true, 'job', world.endedAt)).to.deep.equal([]);
      expect(await firing(prom(), 'ServiceProcessLost', false, 'job', world.endedAt)).to.deep.equal([]);
    },
    async TelemetryCollectorDown(kind) {
      // At the end the one collector answers: no value; its probe counts the targets.
      close(
        await alertAt(rule('TelemetryCollectorDown'), kind, world.endedAt, 'job'),
        kind === 'probe' ? { 'otel-collector': 1 } : {},
        0,
        `TelemetryCollectorDown ${kind}`,
      );
      // While it was stopped for the outage it counted one down, and the scaled rule (1 s) fired.
      const down = await rangeOf(
        prom(),
        rule('TelemetryCollectorDown').valueExpr,
        world.collectorStoppedAt,
        world.collectorRestartedAt,
        1,
      );
      expect(down.flatMap((x) => x.values.map(([, v]) => Number(v)))).to.include(1);
      const fired = await rangeOf(
        prom(),
        'ALERTS{alertname="TelemetryCollectorDown",alertstate="firing",scaled="true"}',
        world.collectorStoppedAt,
        world.collectorRestartedAt + 5_000,
        1,
      );
      expect(fired, 'the scaled rule fired during the collector outage').to.have.length(1);
      expect(await firing(prom(), 'TelemetryCollectorDown', true, 'job', world.endedAt)).to.deep.equal([]);
      expect(await firing(prom(), 'TelemetryCollectorDown', false, 'job', world.endedAt)).to.deep.equal([]);
    },
    async TelemetryBackendDown(kind) {
      // The sink took every export: nothing stuck, at no moment of the workload either, even with a
      // 5-second window and no `for`.
      await quietForHealthyExporters('TelemetryBackendDown', kind);
    },
    async TelemetryDataDropped(kind) {
      // The sink took every export, and the collector outage stopped the collector, not its exports:
      // nothing dropped (its drop counters were never born).
      expect(
        await instantAt(prom(), '{__name__=~"otelcol_exporter_(send|enqueue)_failed_.+"}', world.endedAt),
        'drop counters of the collector',
      ).to.deep.equal([]);
      await quietForHealthyExporters('TelemetryDataDropped', kind);
    },
    async MigrationRunFailed(kind) {
      const { runs } = await truth.migration();
      const want: Expected = { [MIGRATION]: runs[`${MIGRATION}|failure`] ?? 0 };
      expect(want[MIGRATION], 'two runs failed (partially_failed and failed)').to.equal(2);
      close(
        await alertAt(rule('MigrationRunFailed'), kind, world.endedAt, 'migration'),
        want,
        0,
        `MigrationRunFailed ${kind}`,
      );
    },
    async MigrationRunStale(kind) {
      const m = moment('stale');
      const want = kind === 'prometheus' ? {} : (m.truth.stale as Expected);
      expect(Object.keys(m.truth.stale ?? {}), 'the frozen run is stale').to.deep.equal([MIGRATION]);
      close(
        await alertAt(rule('MigrationRunStale'), kind, m.at, 'migration'),
        nonZero(want),
        TOLERANCE_SECONDS,
        `MigrationRunStale ${kind}`,
      );
      expect(await firing(prom(), 'MigrationRunStale', true, 'migration', m.at)).to.deep.equal([MIGRATION]);
      const after = moment('staleAfter');
      expect(
        await alertAt(rule('MigrationRunStale'), kind, after.at, 'migration'),
        'after the run went on',
      ).to.deep.equal({});
    },
  };

  /** The workload's API requests by `status|route` (its route template, as http_route has it). */
  const apiTruth = (): Expected => {
    const route = (path: string) =>
      path
        .replace(/^\/v1\/[a-z_]+\/bulk-delete$/, '/v1/:entity/bulk-delete')
        .replace(/^\/v1\/[a-z_]+\/\d+\/restore$/, '/v1/:entity/:id/restore')
        .replace(/^\/v1\/[a-z_]+\/\d+$/, '/v1/:entity/:id');
    const out: Expected = {};
    for (const c of world.ledger.apiCalls) {
      const key = `${c.status}|${route(c.path)}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  };
  const CHECKS: Record<string, Check> = {
    [`${PANEL_IDS.apiRequests}/A`]: async () => {
      const byClass: Expected = {};
      for (const [k, v] of Object.entries(apiTruth())) {
        const cls = `${k.charAt(0)}xx`;
        byClass[cls] = (byClass[cls] ?? 0) + v;
      }
      expect(byClass['2xx'], 'the workload sent API requests').to.be.greaterThan(5);
      expect(await integrated(PANEL_IDS.apiRequests, 'A', ['status_class'])).to.deep.equal(nonZero(byClass));
    },
    [`${PANEL_IDS.apiRequests}/B`]: async () => {
      const errors = Object.fromEntries(Object.entries(apiTruth()).filter(([k]) => /^[45]/.test(k)));
      expect(
        await integrated(PANEL_IDS.apiRequests, 'B', ['http_response_status_code', 'http_route']),
      ).to.deep.equal(nonZero(errors));
    },
    [`${PANEL_IDS.throughput}/A`]: async () => {
      const want = nonZero(dropPart(await truth.softDelete(), 1));
      expect(await integrated(PANEL_IDS.throughput, 'A', ['entity', 'status'])).to.deep.equal(want);
    },
    [`${PANEL_IDS.errorRate}/A`]: async () => {
      const calls = byFirst(await truth.calls(), 1);
      const want = ratios(failedCallsByEntity(world.ledger), calls, ENTITIES);
      expect(
        Object.values(want).some((v) => v > 0),
        'the workload had failed calls',
      ).to.equal(true);
      close(
        await atEnd(panelQuery(PANEL_IDS.errorRate, 'A', whole()), ['entity']),
        want,
        1e-9,
        'error rate over the workload',
      );
      // As Grafana draws it: never NaN, also where an entity was idle.
      const series = await rangeOf(
        prom(),
        panelQuery(PANEL_IDS.errorRate, 'A', { rateInterval: '3s' }),
        world.startedAt,
        world.endedAt,
        2,
      );
      const values = series.flatMap((s) => s.values.map(([, v]) => Number(v)));
      expect(values.filter((v) => !Number.isFinite(v) || v < 0 || v > 1)).to.deep.equal([]);
      const idle = moment('noWorker').seen.errorsIdle as Expected;
      expect(Object.keys(idle).sort(), 'every entity has a line while idle').to.deep.equal(
        [...ENTITIES].sort(),
      );
    },
    [`${PANEL_IDS.durationHeatmap}/A`]: async () => {
      const buckets = await integrated(PANEL_IDS.durationHeatmap, 'A', ['le']);
      const total = Object.values(await truth.calls()).reduce((a, b) => a + b, 0);
      expect(buckets['+Inf'], 'every call is in the +Inf bucket').to.equal(total);
      const ordered = Object.entries(buckets)
        .map(([le, n]) => [le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), n] as const)
        .sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < ordered.length; i++)
        expect(ordered[i]?.[1]).to.be.at.least(ordered[i - 1]?.[1] as number);
    },
    [`${PANEL_IDS.durationQuantiles}/A`]: async () =>
      quantiles(PANEL_IDS.durationQuantiles, 'A', 0.5, [], operationSpans(), APP_BUCKETS, await allCalls()),
    [`${PANEL_IDS.durationQuantiles}/B`]: async () =>
      quantiles(PANEL_IDS.durationQuantiles, 'B', 0.95, [], operationSpans(), APP_BUCKETS, await allCalls()),
    [`${PANEL_IDS.durationQuantiles}/C`]: async () =>
      quantiles(PANEL_IDS.durationQuantiles, 'C', 0.99, [], operationSpans(), APP_BUCKETS, await allCalls()),
    [`${PANEL_IDS.spanLatency}/A`]: () => {
      const re = new RegExp(`^(?:${PRODUCT_SPAN_REGEX})$`);
      return quantiles(
        PANEL_IDS.spanLatency,
        'A',
        0.95,
        ['span_name'],
        spanDurations(spans(), (s) => (re.test(s.name) ? s.name : undefined)),
        spanMetricsBuckets(),
      );
    },
    [`${PANEL_IDS.collectorsDown}/A`]: async () => {
      const query = panelQuery(PANEL_IDS.collectorsDown, 'A');
      expect(await atEnd(query, ['job'])).to.deep.equal({ 'otel-collector': 0 });
      // The collector stopped for the outage: 1 while it answered no scrape, 0 before and after.
      const series = await rangeOf(
        prom(),
        query,
        world.collectorStoppedAt - 5_000,
        world.collectorRestartedAt + 5_000,
        1,
      );
      const values = series.flatMap((x) => x.values.map(([, v]) => Number(v)));
      expect([...new Set(values)].sort()).to.deep.equal([0, 1]);
    },
    [`${PANEL_IDS.collectorsDown}/B`]: async () => {
      const query = panelQuery(PANEL_IDS.collectorsDown, 'B');
      expect(await atEnd(query, ['exporter', 'data_type'])).to.deep.equal({
        'otlp_http/test_sink|logs': 0,
        'otlp_http/test_sink|traces': 0,
      });
    },
    [`${PANEL_IDS.collectorsDown}/C`]: async () => {
      // Nothing dropped (the sink took every export): 0 for each queued exporter, at no moment above.
      const query = panelQuery(PANEL_IDS.collectorsDown, 'C');
      expect(await atEnd(query, ['exporter', 'data_type'])).to.deep.equal({
        'otlp_http/test_sink|logs': 0,
        'otlp_http/test_sink|traces': 0,
      });
      const series = await rangeOf(prom(), query, world.startedAt, world.endedAt, 1);
      expect(series.flatMap((x) => x.values.map(([, v]) => Number(v))).filter((v) => v !== 0)).to.deep.equal(
        [],
      );
    },
    [`${PANEL_IDS.liveProcesses}/A`]: async () => {
      // Only the long-running services have a line (no CLI or migrate process), each with the one or
      // two of its processes that moved in the 2 minutes before the end: the last stopped just now.
      const seen = await atEnd(panelQuery(PANEL_IDS.liveProcesses, 'A'), ['job']);
      expect(Object.keys(seen).sort()).to.deep.equal(['sdops-api', 'sdops-worker']);
      for (const [job, live] of Object.entries(seen)) expect(live, job).to.be.within(1, 2);
    },
    [`${PANEL_IDS.apiLatency}/A`]: () =>
      quantiles(
        PANEL_IDS.apiLatency,
        'A',
        0.95,
        ['span_name'],
        // The API's server spans ("{method} {route}"), every request the servers answered.
        spanDurations(spans(), (s) =>
          s.kind === 2 && String(s.resource['service.name']).startsWith('sdops') ? s.name : undefined,
        ),
        spanMetricsBuckets(),
      ),
    [`${PANEL_IDS.queueLength}/A`]: async () => {
      for (const name of ['noWorker', 'afterServeRestart']) {
        const m = moment(name);
        expect(nonZero(m.seen.queueLength as Expected), `queue panel vs the table (${name})`).to.deep.equal(
          m.truth.waiting,
        );
        expect(m.truth.waiting?.noop, `jobs waited (${name})`).to.equal(5);
      }
      const counts = moment('afterServeRestart').seen.seriesPerType as Expected;
      expect(Object.values(counts), 'one series per job type after the serve restart').to.satisfy(
        (v: number[]) => v.every((n) => n === 1),
      );
      const drained = moment('drained');
      expect(Object.keys(drained.seen.queueLength ?? {}).sort()).to.deep.equal([...BUILTIN_JOB_TYPES].sort());
      expect(nonZero(drained.seen.queueLength as Expected)).to.deep.equal({});
      expect(drained.truth.waiting).to.deep.equal({});
    },
    [`${PANEL_IDS.deadJobs}/A`]: async () => {
      const want = await expectedDead(world.sql);
      expect(want.noop, 'the failing noop job left a dead-letter copy').to.be.greaterThan(0);
      const seen = await atEnd(panelQuery(PANEL_IDS.deadJobs, 'A'), ['job_type']);
      expect(Object.keys(seen).sort(), 'every job type has a line').to.deep.equal(
        [...BUILTIN_JOB_TYPES].sort(),
      );
      expect(nonZero(seen)).to.deep.equal(want);
    },
    [`${PANEL_IDS.jobsProcessed}/A`]: async () => {
      expect(await integrated(PANEL_IDS.jobsProcessed, 'A', ['job_type'])).to.deep.equal(
        nonZero((await truth.worker()).processed),
      );
      const idle = moment('noWorker').seen.jobsIdle as Expected;
      expect(Object.keys(idle).sort(), 'every job type has a line at 0 while no worker runs').to.deep.equal(
        [...BUILTIN_JOB_TYPES].sort(),
      );
      expect(nonZero(idle)).to.deep.equal({});
    },
    [`${PANEL_IDS.jobsProcessed}/B`]: async () => {
      expect(await integrated(PANEL_IDS.jobsProcessed, 'B', ['job_type'])).to.deep.equal(
        nonZero((await truth.worker()).failures),
      );
    },
    [`${PANEL_IDS.jobFailureRatio}/A`]: async () => {
      const { processed, failures } = await truth.worker();
      const want = ratios(failures, processed, BUILTIN_JOB_TYPES);
      close(
        await atEnd(panelQuery(PANEL_IDS.jobFailureRatio, 'A'), ['job_type']),
        want,
        1e-9,
        'job failure ratio (1h)',
      );
    },
    [`${PANEL_IDS.jobDurations}/A`]: async () =>
      quantiles(
        PANEL_IDS.jobDurations,
        'A',
        0.95,
        ['job_type'],
        spanDurations(spans(), (s) => (s.name === 'cleanup.job' ? String(s.attributes.job_type) : undefined)),
        APP_BUCKETS,
        (await truth.worker()).processed,
      ),
    [`${PANEL_IDS.jobDurations}/B`]: async () =>
      quantiles(PANEL_IDS.jobDurations, 'B', 0.95, ['job_type'], await queueWaits(world.sql), APP_BUCKETS),
    [`${PANEL_IDS.migrationRuns}/A`]: async () =>
      statByMigration(PANEL_IDS.migrationRuns, 'A', byStatus((await truth.migration()).runs, 'success')),
    [`${PANEL_IDS.migrationRuns}/B`]: async () =>
      statByMigration(PANEL_IDS.migrationRuns, 'B', byStatus((await truth.migration()).runs, 'failure')),
    [`${PANEL_IDS.migrationRowsRate}/A`]: async () => {
      expect(await integrated(PANEL_IDS.migrationRowsRate, 'A', ['migration', 'status'])).to.deep.equal(
        nonZero((await truth.migration()).rows),
      );
    },
    [`${PANEL_IDS.migrationBatchDuration}/A`]: async () => {
      // The histogram records each committed or failed attempt of a real run with the duration its
      // line states. Spans are not that population: a commit that landed while the database was
      // out is timed to the end of the outage by its line and metric, but its span ended with the
      // lost connection; a noop batch (entity exhausted, stop asked for) has a span and no record.
      const attempts = logDurations(world.collector.readLogs(), (r) =>
        (r.body === 'migration batch committed' || r.body === 'migration batch attempt failed') &&
        r.attributes.dry_run === false
          ? String(r.attributes.migration)
          : undefined,
      );
      const recorded = byFirst((await truth.migration()).batches, 1);
      await quantiles(
        PANEL_IDS.migrationBatchDuration,
        'A',
        0.95,
        ['migration'],
        attempts,
        APP_BUCKETS,
        recorded,
      );
    },
    [`${PANEL_IDS.migrationProgress}/A`]: async () =>
      statByMigration(PANEL_IDS.migrationProgress, 'A', byStatus((await truth.migration()).rows, 'success')),
    [`${PANEL_IDS.queueOldestWait}/A`]: async () =>
      ageAgainstTable(['noWorker', 'drained'], 'oldestWait', 'oldestWait', 'oldest wait with no worker'),
    [`${PANEL_IDS.queueOldestWait}/B`]: async () =>
      ageAgainstTable(['held', 'heldAfter'], 'runningFor', 'oldestActive', 'longest-running job'),
    [`${PANEL_IDS.queueLength}/B`]: async () => {
      const m = moment('held');
      expect(nonZero(m.seen.running as Expected), 'jobs held, as the table says').to.deep.equal(
        m.truth.active,
      );
      expect(m.truth.active).to.deep.include({ noop: 1 });
      const ended = moment('heldAfter');
      expect(nonZero(ended.seen.running as Expected), 'none held afterwards').to.deep.equal({});
      expect(ended.truth.active, 'the table agrees').to.deep.equal({});
    },
    [`${PANEL_IDS.staleRuns}/A`]: async () =>
      ageAgainstTable(['stale', 'staleAfter'], 'panel', 'stale', 'stale runs while the process is frozen'),
    'variable/entity': async () => {
      const q = findQuery(/^variable entity:/, {}, 'variable').query;
      expect(Object.keys(await atEnd(q, ['entity'])).sort()).to.deep.equal([...ENTITIES].sort());
    },
    'variable/job_type': async () => {
      const q = findQuery(/^variable job_type:/, {}, 'variable').query;
      expect(Object.keys(await atEnd(q, ['job_type'])).sort()).to.deep.equal([...BUILTIN_JOB_TYPES].sort());
    },
  };
  for (const r of ALERT_RULES) {
    const check = alertTruth[r.name];
    if (!check) continue;
    CHECKS[`alert-prometheus/${r.name}`] = () => check('prometheus');
    CHECKS[`alert-grafana/${r.name}`] = () => check('value');
    CHECKS[`alert-probe/${r.name}`] = () => check('probe');
  }

  describe('every panel query and alert expression equals the truth', () => {
    it('has a check below for every PromQL query of the dashboard, its variables and the alert rules', () => {
      const keys = listQueries({})
        .filter((q) => q.language === 'promql')
        .map((q) => {
          if (q.source === 'dashboard') {
            const m = /^(\d+) .*\[([A-Z])\]$/.exec(q.origin);
            return `${m?.[1]}/${m?.[2]}`;
          }
          if (q.source === 'variable') return `variable/${/^variable (\w+):/.exec(q.origin)?.[1]}`;
          return `${q.source}/${q.origin.replace(/ \(without threshold and guards\)$/, '')}`;
        });
      expect(Object.keys(CHECKS).sort()).to.deep.equal([...new Set(keys)].sort());
    });

    it('MigrationRunFailed fired for the failed runs and stayed firing through the collector restart to the end', async () => {
      expect(world.failedAlertFiringAt).to.be.below(world.collectorRestartedAt);
      const series = await rangeOf(
        prom(),
        `ALERTS{alertname="MigrationRunFailed",alertstate="firing",scaled="",migration="${MIGRATION}"}`,
        world.failedAlertFiringAt,
        world.endedAt,
        1,
      );
      expect(series).to.have.length(1);
      const steps = Math.floor((world.endedAt - world.failedAlertFiringAt) / 1000) + 1;
      expect(series[0]?.values.length, 'a firing sample at every second').to.equal(steps);
    });

    for (const [key, check] of Object.entries(CHECKS)) {
      it(`${key} equals the truth`, () => check(world));
    }
  });
}

function byStatus(map: Expected, status: string): Expected {
  const out: Expected = {};
  for (const [k, v] of Object.entries(map)) {
    const [migration, s] = k.split('|');
    if (s === status) out[migration as string] = v;
  }
  return out;
}
