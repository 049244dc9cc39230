import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type { Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import { METRICS } from './catalog.ts';
import {
  promTarget,
  thresholds,
  THRESHOLD_LINES,
  JOB_TYPE,
  RATE,
  anchoredWindow,
  at,
  quantile,
  timeseries,
} from './panels.ts';
import {
  FAILURE_RATIO_THRESHOLD,
  MIN_JOBS_PER_HOUR,
  QUEUE_BACKLOG_FOR,
  QUEUE_LENGTH_THRESHOLD,
  QUEUE_STALLED_SECONDS,
} from './thresholds.ts';
import { PANEL_IDS } from './dashboard-panels.ts';

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
      `Cleanup jobs waiting in the queue (created or retrying), and the jobs workers hold (running), read from the database by the running sdops serve and worker processes, so it is measured with every worker down. A job whose worker was killed stays running here until its heartbeat time passes (SDOPS_JOB_HEARTBEAT_SECONDS, 60 s by default, and the next maintenance pass; on the embedded database or with heartbeats off, its lease: SDOPS_JOB_EXPIRE_SECONDS, 15 min by default), then waits as retrying. Red above ${QUEUE_LENGTH_THRESHOLD}: the CleanupQueueBacklog alert fires when as many wait for ${QUEUE_BACKLOG_FOR}.`,
      'suffix: jobs',
      at(0, y, 8, 8),
    )
      .thresholds(thresholds('green', [QUEUE_LENGTH_THRESHOLD + 1, 'red']))
      .thresholdsStyle(THRESHOLD_LINES)
      .min(0)
      .withTarget(
        promTarget('A', {
          expr: `max by (job_type) (${METRICS.queueLength}{${JOB_TYPE}})`,
          legend: '{{job_type}}',
        }),
      )
      .withTarget(
        promTarget('B', {
          expr: `max by (job_type) (${METRICS.queueActive}{${JOB_TYPE}})`,
          legend: '{{job_type}} running',
        }),
      ),
    timeseries(
      PANEL_IDS.jobsProcessed,
      'Jobs processed by job type',
      'Cleanup job attempts finished per second (any outcome), and failed attempts per second, by job type. The attempt of a worker that was killed is in neither: it expires with its heartbeat time (or its lease) and the job is retried.',
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
      .thresholdsStyle(THRESHOLD_LINES)
      .min(0)
      .withTarget(promTarget('A', { expr: ratio, legend: '{{job_type}}' })),
    timeseries(
      PANEL_IDS.queueOldestWait,
      'Oldest waiting job by job type',
      `How long the longest-waiting job whose start time has come has waited for a worker, and how long the longest-running job has run, read from the database (0 when none). Red from ${QUEUE_STALLED_SECONDS / 60} min: the CleanupQueueStalled alert fires when, besides, no worker started a job of that type in that time. A job running far longer than its type takes (see the p95 beside), or near its lease (SDOPS_JOB_EXPIRE_SECONDS), is stuck or its worker is gone: sdops queue status, runbook CleanupQueueStalled.`,
      's',
      at(0, y + 8, 8, 8),
    )
      .thresholds(thresholds('green', [QUEUE_STALLED_SECONDS, 'red']))
      .thresholdsStyle(THRESHOLD_LINES)
      .min(0)
      .withTarget(
        promTarget('A', {
          expr: `max by (job_type) (${METRICS.queueOldestWait}{${JOB_TYPE}})`,
          legend: '{{job_type}}',
        }),
      )
      .withTarget(
        promTarget('B', {
          expr: `max by (job_type) (${METRICS.queueOldestActive}{${JOB_TYPE}})`,
          legend: '{{job_type}} running',
        }),
      ),
    timeseries(
      PANEL_IDS.jobDurations,
      'Job duration and queue wait p95 by job type',
      'p95 of how long one cleanup job attempt ran and of how long jobs waited in the queue before a worker started them, from when they could start (a retry backoff is not counted) (read inside a histogram bucket: from 5 min on, within a step of x1.5 at most, e.g. 600-900 s; a p95 past 1 h reads 1 h, the top bucket; jobs still waiting: Oldest waiting job). Orange from 30 s, red from 5 min.',
      's',
      at(8, y + 8, 8, 8),
    )
      .thresholds(thresholds('green', [30, 'orange'], [300, 'red']))
      .thresholdsStyle(THRESHOLD_LINES)
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
      'Cleanup jobs whose retries ran out, waiting in the dead-letter queue (the dead column of sdops queue status), read from the database. Nothing runs them again until someone does: sdops queue retry --dead once the cause is fixed, or sdops queue cancel (runbook, CleanupJobsDead; the CleanupJobsDead alert fires for any). Red from 1.',
      'suffix: jobs',
      at(16, y + 8, 8, 8),
    )
      .thresholds(thresholds('green', [1, 'red']))
      .thresholdsStyle(THRESHOLD_LINES)
      .min(0)
      .withTarget(
        promTarget('A', {
          expr: `max by (job_type) (${METRICS.queueDead}{${JOB_TYPE}})`,
          legend: '{{job_type}}',
        }),
      ),
  ];
}
