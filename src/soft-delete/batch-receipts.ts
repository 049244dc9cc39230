import { randomUUID } from 'node:crypto';
import { type Database, outsideCancelScope, type TransactionClient } from '../db/index.ts';

const FIND = 'SELECT outcome FROM sdops_batch_receipts WHERE call_id = $1 AND batch = $2';
const KEEP = 'INSERT INTO sdops_batch_receipts (call_id, batch, outcome) VALUES ($1, $2, $3::jsonb)';
const FORGET = `DELETE FROM sdops_batch_receipts
  WHERE call_id = $1 OR created_at < now() - interval '1 day'`;

/**
 * The receipts of one call's batches (schema 031): each batch's transaction writes what it did, and a
 * batch run again (its connection failed, maybe after its COMMIT landed) first looks for its receipt.
 * Only for calls that run batches again after an outage (the CLI's): the others pay nothing.
 */
export class BatchReceipts {
  private readonly callId = randomUUID();
  private batches = 0;
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  /**
   * The batch's transaction body, run once per attempt: from the second attempt on it returns the
   * receipt of an attempt that committed, if one did. The outcome must be plain JSON.
   */
  wrap<T, A extends unknown[]>(
    fn: (tx: TransactionClient, ...rest: A) => Promise<T>,
  ): (tx: TransactionClient, ...rest: A) => Promise<T> {
    const batch = ++this.batches;
    let attempts = 0;
    return async (tx, ...rest) => {
      if (attempts++ > 0) {
        const found = (await tx.query<{ outcome: { value: T } }>(FIND, [this.callId, batch])).rows[0];
        if (found) return found.outcome.value;
      }
      const value = await fn(tx, ...rest);
      await tx.query(KEEP, [this.callId, batch, JSON.stringify({ value })]);
      return value;
    };
  }

  /** Best effort: a call that cannot remove them leaves them to the next call, a day on. */
  async forget(): Promise<void> {
    if (this.batches === 0) return;
    // Not cancelled with the job's statements at a hand-back: the receipts would stay a day.
    await outsideCancelScope(() => this.db.query(FORGET, [this.callId])).catch(() => undefined);
  }
}
