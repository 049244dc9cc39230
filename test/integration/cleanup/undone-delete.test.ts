import { expect } from 'chai';
import { startCleanupRuntime } from '../../../src/cleanup/index.ts';
import { loadConfig } from '../../../src/config.ts';
import { type Database, migrateSchema, openDatabase } from '../../../src/db/index.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { waitUntil } from '../../support/wait.ts';
import { makeDocuments } from '../soft-delete/support.ts';

/**
 * The runbook's undo of a failed bulk delete, then its job-failure steps: fix the cause and bring the
 * dead jobs back. A probe did both in turn, and the retry deleted the 3,602 rows just restored.
 */
describe('a failed bulk delete whose delete was undone (embedded database)', function () {
  this.timeout(60_000);
  let db: Database;

  before(async () => {
    db = await openDatabase({ memory: true });
    await migrateSchema(db);
  });
  after(async () => {
    await db?.close();
  });

  const live = async () =>
    Number(
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM documents WHERE deleted_at IS NULL'))
        .rows[0]?.n,
    );

  it('is refused a retry, by id and by --dead, while one that was not undone runs again', async () => {
    const ids = await makeDocuments(db, 2500);
    // The first attempt fails in its third batch of 1,000, after two committed.
    await db.exec(`
      CREATE FUNCTION fail_doc() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure'; END $$;
      CREATE TRIGGER fail_doc BEFORE UPDATE ON documents FOR EACH ROW
        WHEN (OLD.id = ${Number(ids[2200])}) EXECUTE FUNCTION fail_doc();`);
    const runtime = await startCleanupRuntime(db, {
      settings: {
        ...loadConfig({}).worker,
        pollIntervalMs: 50,
        queueSampleIntervalMs: 0,
        policy: { retryLimit: 0, retryDelaySeconds: 1, expireSeconds: 60 },
      },
      schedule: false,
    });
    try {
      const filter = { is_deleted: false };
      const undone = await runtime.queue.enqueue('bulk_soft_delete', { entity: 'documents', filter });
      const dead = (n: number) => async () =>
        (await runtime.queue.status()).find((r) => r.jobType === 'bulk_soft_delete')?.dead === n;
      await waitUntil('the bulk delete to be dead', dead(1));
      expect(await live()).to.equal(500);
      // The runbook's undo: the job failed, so a restore by its op id (its own id) is allowed.
      const restored = await new SoftDeleteService(db).restore('documents', {
        filter: { delete_op_id: undone },
      });
      expect(restored.counts.success).to.equal(2000);
      await db.exec('DROP TRIGGER fail_doc ON documents; DROP FUNCTION fail_doc();');

      const refused = await runtime.queue.retry(undone).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).to.have.property('code', 'delete_undone');
      const all = await runtime.queue.retryDead();
      expect(all.retried).to.equal(0);
      expect(all.skipped.map((s) => s.reason)).to.have.length(1);
      expect(all.skipped[0]?.reason).to.match(
        /deleted 2000 rows under op id .* a retry would delete them again/,
      );
      expect(await live(), 'the restored rows stay').to.equal(2500);

      // A failed delete nobody undid is the job to finish: its retry runs.
      await db.exec(`
        CREATE FUNCTION fail_doc() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure'; END $$;
        CREATE TRIGGER fail_doc BEFORE UPDATE ON documents FOR EACH ROW
          WHEN (OLD.id = ${Number(ids[2200])}) EXECUTE FUNCTION fail_doc();`);
      const kept = await runtime.queue.enqueue('bulk_soft_delete', { entity: 'documents', filter });
      await waitUntil('the second bulk delete to be dead', dead(2));
      await db.exec('DROP TRIGGER fail_doc ON documents; DROP FUNCTION fail_doc();');
      expect(await runtime.queue.retry(kept)).to.include({ action: 'revived' });
      await waitUntil('the retried delete to finish', async () => (await live()) === 0);
    } finally {
      await runtime.stop();
    }
  });
});
