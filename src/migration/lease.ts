import { type Database, isDatabaseUnavailable, type Queryable } from '../db/index.ts';
import { LeaseLostError } from './errors.ts';
import * as leases from './lease-store.ts';
import { log } from './telemetry.ts';
import type { RunState } from './types.ts';

/**
 * The session's hold on its run: a heartbeat in the background, and a claim as the first statement
 * of every batch transaction. Either one noticing the lease is gone marks it lost, so the session
 * ends without touching the run another runner now owns.
 */
export class Lease {
  lost = false;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private failing = false;

  private readonly db: Database;
  private readonly runId: string;
  readonly owner: string;
  private readonly intervalMs: number;
  private readonly onStop: () => void;

  constructor(
    db: Database,
    runId: string,
    owner: string,
    intervalMs: number,
    /** Called when the run must stop: lease lost, or someone asked for `stopping`. */
    onStop: () => void,
  ) {
    this.db = db;
    this.runId = runId;
    this.owner = owner;
    this.intervalMs = intervalMs;
    this.onStop = onStop;
  }

  /** Re-proves the lease at a batch's start; returns the run state (to see `stopping`). */
  async claim(tx: Queryable): Promise<RunState> {
    const state = await leases.claimBatch(tx, this.runId, this.owner);
    if (state === undefined) {
      this.lost = true;
      throw new LeaseLostError(this.runId);
    }
    return state;
  }

  startHeartbeat(): void {
    this.timer = setInterval(() => {
      // A slow database must not pile heartbeats up behind each other.
      if (this.busy) return;
      this.busy = true;
      leases
        .heartbeat(this.db, this.runId, this.owner)
        .then((state) => {
          if (state === undefined) {
            this.lost = true;
            this.onStop();
          } else if (state === 'stopping') this.onStop();
        })
        .then(
          () => {
            this.failing = false;
          },
          (error: unknown) => {
            // An outage fails every heartbeat: the first failure says so, the batch loop says the rest.
            if (this.failing && isDatabaseUnavailable(error)) return;
            this.failing = true;
            log.warn('migration heartbeat failed', { run_id: this.runId }, error);
          },
        )
        .finally(() => {
          this.busy = false;
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
