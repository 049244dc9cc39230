import type pg from 'pg';
import type { TestDatabase } from '../../support/postgres.ts';
import type { TestCollector, TestPrometheus } from '../support/index.ts';
import type { Ledger } from './ledger.ts';

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
}
