import { loadConfig } from '../../../src/config.ts';
import { CleanupQueue } from '../../../src/cleanup/index.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';

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
  const queue = await CleanupQueue.open(db, { role: 'client', policy: loadConfig().worker.policy });
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
