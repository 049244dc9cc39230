/**
 * What the workload did, as the app reported it (CLI --json / HTTP bodies / migration summaries).
 * The suite turns this plus SQL over the database into the exact values Prometheus must show.
 */

export type Status = 'success' | 'noop' | 'failure';
export type Operation = 'delete' | 'restore' | 'purge' | 'archive';

/** The JSON shape of an OperationResult (src/soft-delete/types.ts) as the CLI and API print it. */
export interface ResultJson {
  readonly entity: string;
  readonly operation: Operation;
  readonly counts: Record<Status, number>;
  readonly cascaded: Record<string, number>;
  readonly batches: number;
  readonly opId?: string;
  readonly conflictIds?: string[];
  readonly notFoundIds?: string[];
  readonly job?: { id: string; type: string };
}

/** A migration runner session as the database recorded it right after the session ended. */
export interface MigrationSession {
  readonly runId: string;
  readonly migration: string;
  readonly mode: 'start' | 'retry-failed';
  /** sdops_migration_runs.state after the session. */
  readonly state: string;
  /** sdops_migration_runs.batches_failed after the session. */
  readonly batchesFailed: number;
  /** Batches that failed in this session (each failed every configured attempt). */
  readonly newlyFailedBatches: number;
  /** Planned rows of the batches that failed in this session (migration.rows_processed{status=failure}). */
  readonly newlyFailedRows: number;
  readonly traceId: string | null;
}

/** One JSON log line a process wrote to its console (CLI: stderr; serve/worker: their log file). */
export type ConsoleRecord = Record<string, unknown> & { message?: string };

/** JSON lines of a console stream; other lines (the CLI's progress bars, a listen notice) are skipped. */
export function consoleRecords(text: string): ConsoleRecord[] {
  const out: ConsoleRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as ConsoleRecord);
    } catch {
      // A line cut short at exit is not a record.
    }
  }
  return out;
}

export class Ledger {
  /** Short-lived sdops processes run by the workload (every `sdops` CLI command and migrate run). */
  cliProcesses = 0;
  /** Epoch ms when the last short-lived process exited. */
  lastCliExit = 0;
  /** The console log records of every short-lived process (LOG_LEVEL=info, so every operation). */
  readonly cliConsole: ConsoleRecord[] = [];
  /** Epoch ms when each failed (failed or partially_failed) migration session ended. */
  readonly failedSessionEnds: number[] = [];
  readonly results: ResultJson[] = [];
  /** Calls that ended in an error (single-id restore conflict): entity/operation, rows = 1. */
  readonly failedCalls: { entity: string; operation: Operation }[] = [];
  readonly sessions: MigrationSession[] = [];
  /** Rows `sdops seed` reported per entity. */
  readonly seeded: Record<string, number> = {};
  /** Rows inserted by SQL (not by the seed), per entity, for the "rows gone" arithmetic. */
  readonly inserted: Record<string, number> = {};
  /** ids the workload restored successfully, per entity (roots only; children via cascade). */
  readonly restored: Record<string, string[]> = {};
  /** Every request the workload sent to `sdops serve` (the only HTTP client it has), with its answer. */
  readonly apiCalls: { method: string; path: string; status: number }[] = [];
  /** HTTP statuses of the API calls made while the collector was down. */
  readonly outageStatuses: number[] = [];
  /** Exit codes of the CLI commands made while the collector was down. */
  readonly outageExitCodes: number[] = [];
  jobIds: Record<string, string> = {};

  /** A short-lived process exited: count it and keep its console records. */
  recordCli(stderr: string): void {
    this.cliProcesses += 1;
    this.lastCliExit = Date.now();
    this.cliConsole.push(...consoleRecords(stderr));
  }

  markRestored(entity: string, id: string): void {
    this.restored[entity] = [...(this.restored[entity] ?? []), id];
  }

  add(result: ResultJson): ResultJson {
    this.results.push(result);
    return result;
  }

  /** Rows with this status for entity/operation as reported by the calls (children: see cascaded). */
  reported(entity: string, operation: Operation, status: Status): number {
    let total = 0;
    for (const r of this.results) {
      if (r.operation !== operation) continue;
      if (r.entity === entity) total += r.counts[status];
      if (status === 'success') total += r.cascaded[entity] ?? 0;
    }
    if (status === 'failure') {
      total += this.failedCalls.filter((c) => c.entity === entity && c.operation === operation).length;
    }
    return total;
  }
}
