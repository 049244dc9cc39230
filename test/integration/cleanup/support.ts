import { CleanupQueue } from '../../../src/cleanup/index.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';

/** Polls `check` until it returns true or the deadline passes (then fails naming what was awaited). */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  { timeoutMs = 30_000, intervalMs = 50 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
}

/** A fresh migrated PostgreSQL database with a client queue on it, and how to take both down. */
export interface QueueTestDb {
  readonly tdb: TestDatabase;
  readonly db: Database;
  readonly queue: CleanupQueue;
  close(): Promise<void>;
}

export async function openQueueTestDb(): Promise<QueueTestDb> {
  const tdb = await createTestDatabase();
  const db = await openDatabase({ url: tdb.url });
  await migrateSchema(db);
  const queue = await CleanupQueue.open(db, { role: 'client' });
  return {
    tdb,
    db,
    queue,
    async close() {
      await queue.close();
      await db.close();
      await tdb.drop();
    },
  };
}
