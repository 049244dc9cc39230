import {
  BigValueColorMode,
  BigValueGraphMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  SortOrder,
  TooltipDisplayMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type { Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as HeatmapPanel } from '@grafana/grafana-foundation-sdk/heatmap';
import { PanelBuilder as LogsPanel } from '@grafana/grafana-foundation-sdk/logs';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { LOKI_SERVICE_SELECTOR, METRICS, PRODUCT_SPAN_REGEX } from './catalog.ts';
import {
  type GridPos,
  gvar,
  LOKI,
  lokiTarget,
  PROMETHEUS,
  promTarget,
  TEMPO,
  tempoExploreLink,
  tempoTarget,
  thresholds,
} from './panels.ts';
import {
  FAILURE_RATIO_THRESHOLD,
  MIGRATION_STALE_SECONDS,
  MIN_JOBS_PER_HOUR,
  QUEUE_BACKLOG_FOR,
  QUEUE_LENGTH_THRESHOLD,
  QUEUE_STALLED_SECONDS,
} from './thresholds.ts';

/** Stable panel ids: alert rules link to `viewPanel=<id>`, so these never change meaning. */
export const PANEL_IDS = {
  throughput: 1,
  errorRate: 2,
  durationHeatmap: 3,
  durationQuantiles: 4,
  spanLatency: 5,
  queueLength: 6,
  jobsProcessed: 7,
  jobFailureRatio: 8,
  jobDurations: 9,
  migrationRuns: 10,
  migrationRowsRate: 11,
  migrationBatchDuration: 12,
  migrationProgress: 13,
  runLogs: 14,
  runTraces: 15,
  queueOldestWait: 16,
  staleRuns: 17,
  deadJobs: 18,
} as const;

const ENTITY = 'entity=~"$entity"';
const JOB_TYPE = 'job_type=~"$job_type"';
/**
 * `anchored` (Prometheus --enable-feature=promql-extended-range-selectors): from the sample at the
 * window's start to the last one in it, no extrapolation, so consecutive windows add up exactly to
 * the counted total, and a series born inside a window (a CLI process) counts from its 0.
 */
const RATE = '[$__rate_interval] anchored';
const anchoredWindow = (window: string) => `[${window}] anchored`;
export const RUN_TRACES_TRACEQL = `{ span.run_id = "${gvar('run_id')}" }`;
/**
 * `run_id!=""` first: with no run chosen the variable is empty, and `run_id=""` alone would match
 * every record WITHOUT a run_id (the panel would show unrelated logs instead of none).
 */
export const RUN_LOGS_LOGQL = `${LOKI_SERVICE_SELECTOR} | run_id!="" | run_id="${gvar('run_id')}"`;

const at = (x: number, y: number, w: number, h: number): GridPos => ({ x, y, w, h });

function quantile(q: number, bucket: string, by: string): string {
  return `histogram_quantile(${q}, sum by (${by}) (rate(${bucket}${RATE})))`;
}

function timeseries(id: number, title: string, description: string, unit: string, pos: GridPos) {
  return new TimeseriesPanel()
    .id(id)
    .title(title)
    .description(description)
    .unit(unit)
    .datasource(PROMETHEUS)
    .gridPos(pos)
    .fillOpacity(10)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.List)
        .placement(LegendPlacement.Bottom),
    )
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending));
}

export function operationPanels(y: number): cog.Builder<Panel>[] {
  const calls = `${METRICS.softDeleteDuration}_count`;
  const failing = `sum by (entity) (rate(${calls}{${ENTITY},status="failure"}${RATE}))`;
  const all = `sum by (entity) (rate(${calls}{${ENTITY}}${RATE}))`;
  // Every entity has row counters (long-running processes start them at 0): its 0% when idle.
  const idle = `sum by (entity) (rate(${METRICS.softDeleteOperations}{${ENTITY}}${RATE}))`;
  const buckets = `${METRICS.softDeleteDuration}_bucket{${ENTITY}}`;
  return [
    timeseries(
      PANEL_IDS.throughput,
      'Operation throughput by entity and status',
      'Rows affected per second by soft-delete operations (delete, restore, purge, archive), split by entity and outcome (success, noop, failure). Source: soft_delete_operations_total.',
      'suffix: rows/s',
      at(0, y, 12, 8),
    )
      .thresholds(thresholds('green'))
      .withTarget(
        promTarget('A', {
          expr: `sum by (entity, status) (rate(${METRICS.softDeleteOperations}{${ENTITY}}${RATE}))`,
          legend: '{{entity}} {{status}}',
        }),
      ),
    timeseries(
      PANEL_IDS.errorRate,
      'Operation error rate by entity',
      'Share of soft-delete operation calls whose overall outcome was failure, per entity (failed calls / all calls, from the duration histogram counts). Entities with no failures, or no calls, show 0%. Orange from 1%, red from 5%.',
      'percentunit',
      at(12, y, 12, 8),
    )
      .thresholds(thresholds('green', [0.01, 'orange'], [0.05, 'red']))
      .min(0)
      .withTarget(
        promTarget('A', { expr: `(${failing} / (${all} > 0)) or (${idle} * 0)`, legend: '{{entity}}' }),
      ),
    new HeatmapPanel()
      .id(PANEL_IDS.durationHeatmap)
      .title('Operation duration distribution')
      .description(
        'Heatmap of soft-delete operation call durations (soft_delete_operations_duration_seconds buckets), all operations of the selected entities. Darker cells = more calls in that duration bucket.',
      )
      .unit('s')
      .thresholds(thresholds('green'))
      .datasource(PROMETHEUS)
      .gridPos(at(0, y + 8, 12, 8))
      .calculate(false)
      .withTarget(
        promTarget('A', {
          expr: `sum by (le) (rate(${buckets}${RATE}))`,
          legend: '{{le}}',
          heatmap: true,
        }),
      ),
    timeseries(
      PANEL_IDS.durationQuantiles,
      'Operation duration p50 / p95 / p99',
      'Quantiles of soft-delete operation call duration, estimated from the histogram buckets (accuracy is limited by bucket width). Orange from 1 s, red from 5 s at p99.',
      's',
      at(12, y + 8, 12, 8),
    )
      .thresholds(thresholds('green', [1, 'orange'], [5, 'red']))
      .withTarget(promTarget('A', { expr: quantile(0.5, buckets, 'le'), legend: 'p50' }))
      .withTarget(promTarget('B', { expr: quantile(0.95, buckets, 'le'), legend: 'p95' }))
      .withTarget(promTarget('C', { expr: quantile(0.99, buckets, 'le'), legend: 'p99' })),
    timeseries(
      PANEL_IDS.spanLatency,
      'Span latency p95 with exemplars',
      'p95 duration of the product spans (soft_delete.*, migration.*, cleanup.*) from the collector span-metrics connector, by span name. The dots are exemplars: click one to open that exact trace in Tempo. Orange from 1 s, red from 5 s.',
      's',
      at(0, y + 16, 24, 8),
    )
      .thresholds(thresholds('green', [1, 'orange'], [5, 'red']))
      .withTarget(
        promTarget('A', {
          expr: quantile(
            0.95,
            `${METRICS.spanDuration}_bucket{span_name=~"${PRODUCT_SPAN_REGEX}"}`,
            'le, span_name',
          ),
          legend: '{{span_name}}',
          exemplar: true,
        }),
      ),
  ];
}

export function workerPanels(y: number): cog.Builder<Panel>[] {
  const processed = `${METRICS.workerJobsProcessed}{${JOB_TYPE}}`;
  const failures = `${METRICS.workerJobFailures}{${JOB_TYPE}}`;
  const processed1h = `sum by (job_type) (increase(${processed}${anchoredWindow('1h')}))`;
  const failures1h = `sum by (job_type) (increase(${failures}${anchoredWindow('1h')}))`;
  // No job in the hour: 0%, not 0/0.
  const ratio = `(${failures1h} / (${processed1h} > 0)) or (${processed1h} * 0)`;
  return [
    timeseries(
      PANEL_IDS.queueLength,
      'Pending queue length by job type',
      `Cleanup jobs waiting in the queue (created or retrying), read from the database by the running sdops serve and worker processes, so it is measured with every worker down. Red above ${QUEUE_LENGTH_THRESHOLD}: the CleanupQueueBacklog alert fires when that lasts ${QUEUE_BACKLOG_FOR}.`,
      'suffix: jobs',
      at(0, y, 8, 8),
    )
      .thresholds(thresholds('green', [QUEUE_LENGTH_THRESHOLD + 1, 'red']))
      .min(0)
      .withTarget(
        promTarget('A', {
          expr: `max by (job_type) (${METRICS.queueLength}{${JOB_TYPE}})`,
          legend: '{{job_type}}',
        }),
      ),
    timeseries(
      PANEL_IDS.jobsProcessed,
      'Jobs processed by job type',
      'Cleanup job attempts finished per second (any outcome), and failed attempts per second, by job type.',
      'suffix: jobs/s',
      at(8, y, 8, 8),
    )
      .thresholds(thresholds('green'))
      .withTarget(
        promTarget('A', {
          expr: `sum by (job_type) (rate(${processed}${RATE}))`,
          legend: '{{job_type}} processed',
        }),
      )
      .withTarget(
        promTarget('B', {
          expr: `sum by (job_type) (rate(${failures}${RATE}))`,
          legend: '{{job_type}} failed',
        }),
      ),
    timeseries(
      PANEL_IDS.jobFailureRatio,
      'Job failure ratio by job type (1h window)',
      `Failed / processed cleanup job attempts over a fixed 1h window, the same window the CleanupJobFailureRatioHigh alert uses (it also needs at least ${MIN_JOBS_PER_HOUR} jobs in that hour); 0% when no job finished. Red above ${FAILURE_RATIO_THRESHOLD * 100}%.`,
      'percentunit',
      at(16, y, 8, 8),
    )
      .thresholds(thresholds('green', [FAILURE_RATIO_THRESHOLD, 'red']))
      .min(0)
      .withTarget(promTarget('A', { expr: ratio, legend: '{{job_type}}' })),
    timeseries(
      PANEL_IDS.queueOldestWait,
      'Oldest waiting job by job type',
      `How long the longest-waiting job whose start time has come has waited for a worker, read from the database (0 when none waits). Red from ${QUEUE_STALLED_SECONDS / 60} min: the CleanupQueueStalled alert fires when, besides, no worker started a job of that type in that time.`,
      's',
      at(0, y + 8, 8, 8),
    )
      .thresholds(thresholds('green', [QUEUE_STALLED_SECONDS, 'red']))
      .min(0)
      .withTarget(
        promTarget('A', {
          expr: `max by (job_type) (${METRICS.queueOldestWait}{${JOB_TYPE}})`,
          legend: '{{job_type}}',
        }),
      ),
    timeseries(
      PANEL_IDS.jobDurations,
      'Job duration and queue wait p95 by job type',
      'p95 of how long one cleanup job attempt ran and of how long jobs waited in the queue before a worker started them (a p95 past 1 h reads 1 h, the top bucket; jobs still waiting: Oldest waiting job). Orange from 30 s, red from 5 min.',
      's',
      at(8, y + 8, 8, 8),
    )
      .thresholds(thresholds('green', [30, 'orange'], [300, 'red']))
      .withTarget(
        promTarget('A', {
          expr: quantile(0.95, `${METRICS.workerJobDuration}_bucket{${JOB_TYPE}}`, 'le, job_type'),
          legend: '{{job_type}} run p95',
        }),
      )
      .withTarget(
        promTarget('B', {
          expr: quantile(0.95, `${METRICS.workerQueueWait}_bucket{${JOB_TYPE}}`, 'le, job_type'),
          legend: '{{job_type}} wait p95',
        }),
      ),
    timeseries(
      PANEL_IDS.deadJobs,
      'Dead jobs by job type',
      'Cleanup jobs whose retries ran out, waiting in the dead-letter queue (the dead column of sdops queue status), read from the database. Nothing runs them again until someone does: sdops queue retry --dead once the cause is fixed, or sdops queue cancel --type <job_type> --state dead (runbook, CleanupJobFailureRatioHigh). Red from 1.',
      'suffix: jobs',
      at(16, y + 8, 8, 8),
    )
      .thresholds(thresholds('green', [1, 'red']))
      .min(0)
      .withTarget(
        promTarget('A', {
          expr: `max by (job_type) (${METRICS.queueDead}{${JOB_TYPE}})`,
          legend: '{{job_type}}',
        }),
      ),
  ];
}

export function migrationPanels(y: number): cog.Builder<Panel>[] {
  const rows = METRICS.migrationRowsProcessed;
  return [
    new StatPanel()
      .id(PANEL_IDS.migrationRuns)
      .title('Migration runs in range')
      .description(
        'Migration runs that ended successfully and in failure during the selected time range ($__range window), per migration, whichever process ran them (an exact count). Any failure is red; the MigrationRunFailed alert fires on it.',
      )
      .unit('suffix: runs')
      .datasource(PROMETHEUS)
      .gridPos(at(0, y, 6, 8))
      .graphMode(BigValueGraphMode.None)
      .colorMode(BigValueColorMode.Background)
      .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
      .thresholds(thresholds('green'))
      .overrideByQuery('B', [
        {
          id: 'thresholds',
          value: {
            mode: 'absolute',
            steps: [
              { value: null, color: 'green' },
              { value: 1, color: 'red' },
            ],
          },
        },
      ])
      .withTarget(
        promTarget('A', {
          expr: `sum by (migration) (increase(${METRICS.migrationRunSuccess}${anchoredWindow('$__range')}))`,
          legend: '{{migration}} succeeded',
          instant: true,
        }),
      )
      .withTarget(
        promTarget('B', {
          expr: `sum by (migration) (increase(${METRICS.migrationRunFailure}${anchoredWindow('$__range')}))`,
          legend: '{{migration}} failed',
          instant: true,
        }),
      ),
    timeseries(
      PANEL_IDS.migrationRowsRate,
      'Migration rows per second',
      'Rows processed per second by migration batches, per migration and batch outcome (success, failure).',
      'suffix: rows/s',
      at(6, y, 9, 8),
    )
      .thresholds(thresholds('green'))
      .withTarget(
        promTarget('A', {
          expr: `sum by (migration, status) (rate(${rows}${RATE}))`,
          legend: '{{migration}} {{status}}',
        }),
      ),
    timeseries(
      PANEL_IDS.migrationBatchDuration,
      'Migration batch duration p95',
      'p95 duration of one migration batch, per migration. Orange from 5 s, red from 30 s (a batch that slow holds row locks too long).',
      's',
      at(15, y, 9, 8),
    )
      .thresholds(thresholds('green', [5, 'orange'], [30, 'red']))
      .withTarget(
        promTarget('A', {
          expr: quantile(0.95, `${METRICS.migrationBatchDuration}_bucket`, 'le, migration'),
          legend: '{{migration}}',
        }),
      ),
    new StatPanel()
      .id(PANEL_IDS.migrationProgress)
      .title('Migration progress: rows migrated in range')
      .description(
        'Rows successfully migrated per migration during the selected time range ($__range window), an exact count. While a run is in progress this number grows with every completed batch; the rows-per-second panel shows its speed.',
      )
      .unit('suffix: rows')
      .datasource(PROMETHEUS)
      .gridPos(at(0, y + 8, 16, 8))
      .graphMode(BigValueGraphMode.Area)
      .colorMode(BigValueColorMode.Value)
      .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
      .thresholds(thresholds('blue'))
      .withTarget(
        promTarget('A', {
          expr: `sum by (migration) (increase(${rows}{status="success"}${anchoredWindow('$__range')}))`,
          legend: '{{migration}}',
          instant: true,
        }),
      ),
    timeseries(
      PANEL_IDS.staleRuns,
      'Stale migration runs: time since the lease expired',
      `How long ago the lease of the longest-stale running or stopping run of each migration expired (its process died or hangs), read from the database; 0 when every run has a live owner. Red from ${MIGRATION_STALE_SECONDS / 60} min: the MigrationRunStale alert fires.`,
      's',
      at(16, y + 8, 8, 8),
    )
      .thresholds(thresholds('green', [MIGRATION_STALE_SECONDS, 'red']))
      .min(0)
      .withTarget(
        promTarget('A', { expr: `max by (migration) (${METRICS.staleRuns})`, legend: '{{migration}}' }),
      ),
    new LogsPanel()
      .id(PANEL_IDS.runLogs)
      .title('Migration run logs for run $run_id')
      .description(
        'Log records of every sdops service that carry the selected run_id (structured metadata in Loki, not an index label); empty until a run id is entered. Each record links to its trace (trace_id) and to all logs of its run (run_id).',
      )
      .datasource(LOKI)
      .gridPos(at(0, y + 16, 24, 10))
      .showTime(true)
      .enableLogDetails(true)
      .wrapLogMessage(true)
      .withTarget(lokiTarget('A', RUN_LOGS_LOGQL)),
    new TablePanel()
      .id(PANEL_IDS.runTraces)
      .title('Traces of run $run_id')
      .description(
        'Traces in Tempo with a span whose run_id attribute is the selected run (TraceQL), with their duration in ms (orange from 5 s, red from 30 s). Click a trace id to open it; the panel link opens the same search in Explore.',
      )
      .unit('ms')
      .thresholds(thresholds('green', [5000, 'orange'], [30000, 'red']))
      .datasource(TEMPO)
      .gridPos(at(0, y + 26, 24, 8))
      .links([tempoExploreLink(`Traces of run ${gvar('run_id')} in Tempo`, RUN_TRACES_TRACEQL)])
      .withTarget(tempoTarget('A', RUN_TRACES_TRACEQL)),
  ];
}
