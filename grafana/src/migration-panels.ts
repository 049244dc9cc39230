import {
  BigValueColorMode,
  BigValueGraphMode,
  ReduceDataOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type { Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as LogsPanel } from '@grafana/grafana-foundation-sdk/logs';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { LOKI_SERVICE_SELECTOR, METRICS } from './catalog.ts';
import {
  gvar,
  LOKI,
  lokiTarget,
  PROMETHEUS,
  promTarget,
  TEMPO,
  tempoExploreLink,
  tempoTarget,
  thresholds,
  THRESHOLD_LINES,
  RATE,
  anchoredWindow,
  at,
  quantile,
  timeseries,
} from './panels.ts';
import { MIGRATION_STALE_SECONDS } from './thresholds.ts';
import { PANEL_IDS } from './dashboard-panels.ts';

export const RUN_TRACES_TRACEQL = `{ span.run_id = "${gvar('run_id')}" }`;
/**
 * `run_id!=""` first: with no run chosen the variable is empty, and `run_id=""` alone would match
 * every record WITHOUT a run_id (the panel would show unrelated logs instead of none).
 */
export const RUN_LOGS_LOGQL = `${LOKI_SERVICE_SELECTOR} | run_id!="" | run_id="${gvar('run_id')}"`;

export function migrationPanels(y: number): cog.Builder<Panel>[] {
  const rows = METRICS.migrationRowsProcessed;
  return [
    new StatPanel()
      .id(PANEL_IDS.migrationRuns)
      .title('Migration runs in range')
      .description(
        'Migration run sessions that ended successfully and in failure during the selected time range ($__range window), per migration, whichever process ran them. A session, not a run: a run that failed and then succeeded after retry-failed or resume shows 1 failed and 1 succeeded for as long as both lie in the range (sdops migrate list says how the runs stand now). An exact count, short only of what a process killed with SIGKILL, or aborted by a second Ctrl-C, counted in its last 10 s, and of what a command that ended while the collector was down, or within the 15 s before the collector stopped (Prometheus had not read it yet), counted: its one export at exit was lost (a run failing then still fires MigrationRunFailed, from the runs table that every running serve and worker reads). Any failure is red; the MigrationRunFailed alert fires on it.',
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
      .thresholdsStyle(THRESHOLD_LINES)
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
        'Rows successfully migrated per migration during the selected time range ($__range window), an exact count (short only of what a process killed with SIGKILL, or aborted by a second Ctrl-C, counted in its last 10 s, and of what a command that ended while the collector was down, or within the 15 s before the collector stopped (Prometheus had not read it yet), counted; `sdops migrate status` shows the run record). While a run is in progress this number grows with every completed batch; the rows-per-second panel shows its speed.',
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
      .thresholdsStyle(THRESHOLD_LINES)
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
      // A table colours nothing by its thresholds unless a cell type says so: the duration (the
      // search result's one number field) only.
      .overrideByFieldType('number', [{ id: 'custom.cellOptions', value: { type: 'color-text' } }])
      .datasource(TEMPO)
      .gridPos(at(0, y + 26, 24, 8))
      .links([tempoExploreLink(`Traces of run ${gvar('run_id')} in Tempo`, RUN_TRACES_TRACEQL)])
      .withTarget(tempoTarget('A', RUN_TRACES_TRACEQL)),
  ];
}
