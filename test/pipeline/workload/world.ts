import type pg from 'pg';
import type { TestDatabase } from '../../support/postgres.ts';
import type { TestCollector, TestPrometheus } from '../support/index.ts';
import type { Expected } from './expected.ts';
import type { Ledger } from './ledger.ts';

/** The pipeline's answers and the database's at one moment of the workload (stretches.ts). */
export interface Moment {
  /** Epoch ms of the Prometheus evaluation. */
  readonly at: number;
  /** Query name -> labels -> value, as Prometheus answered at `at`. */
  readonly seen: Record<string, Expected>;
  /** Truth name -> labels -> value, read from the tables right after. */
  readonly truth: Record<string, Expected>;
}

/** Everything the workload suite's tests read: set up once in the suite's before(). */
export interface World {
  collector: TestCollector;
  prometheus: TestPrometheus;
  db: TestDatabase;
  sql: pg.Pool;
  ledger: Ledger;
  /** Epoch ms when the workload started (range queries start here). */
  startedAt: number;
  /** Exit codes of serve and worker after SIGTERM. */
  exitCodes: Record<string, number | null>;
  /** Console logs of serve and worker. */
  serviceLogs: Record<string, string>;
  /** Epoch ms after the last export of every process reached Prometheus (range queries end here). */
  endedAt: number;
  /** Epoch ms when MigrationRunFailed (production rule) was first seen firing. */
  failedAlertFiringAt: number;
  /** Epoch ms when the collector was stopped for the outage, and of its restart. */
  collectorStoppedAt: number;
  collectorRestartedAt: number;
  readonly moments: Record<string, Moment>;
}
