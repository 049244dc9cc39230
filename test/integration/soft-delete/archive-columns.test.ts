import { expect } from 'chai';
import { MigrationRunner } from '../../../src/migration/index.ts';
import { forgetArchiveColumns } from '../../../src/soft-delete/archive.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { type Backend, backdate, checksum, makeDocuments, openTestDb, type TestDb } from './support.ts';

/**
 * The archive call and the archive-soft-deleted migration used to read their column lists each their
 * own way, and disagreed on a live column the archive table lacks: the call named only the columns both
 * tables share (it archived the row without that column's value), the migration every live column (the
 * row failed to move). One archive keeps the migration's rule on both paths: an archive keeps every
 * column, so such a table is a schema_mismatch and nothing moves.
 */
for (const backend of ['postgres', 'pglite'] as Backend[]) {
  describe(`archive of a table whose archive table lacks one of its columns on ${backend}`, () => {
    let t: TestDb;
    let sd: SoftDeleteService;

    before(async () => {
      t = await openTestDb(backend);
      sd = new SoftDeleteService(t.db);
      await t.db.exec(`ALTER TABLE documents ADD COLUMN note text NOT NULL DEFAULT 'only in the live table'`);
      const ids = await makeDocuments(t.db, 20);
      await sd.softDelete('documents', { ids });
      await backdate(t.db, 'documents', ids, 40);
      // Other tests in this process read the documents columns before this one added one.
      forgetArchiveColumns();
    });
    after(async () => {
      forgetArchiveColumns();
      await t?.close();
    });

    it('the archive call refuses with schema_mismatch and moves nothing', async () => {
      const before = await checksum(t.db);
      const error = await sd.archive('documents', { olderThanDays: 30 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.include({ code: 'schema_mismatch' });
      expect((error as Error).message).to.contain('documents_archive lacks column(s) note of documents');
      expect(await checksum(t.db)).to.equal(before);
    });

    it('the archive-soft-deleted migration fails its batch with the same error and moves nothing', async () => {
      const before = await checksum(t.db);
      const runner = new MigrationRunner(t.db, { retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
      const handle = await runner.start('archive-soft-deleted', {
        params: { entities: 'documents', olderThanDays: 30 },
      });
      const summary = await handle.done;
      expect(summary.state).to.not.equal('succeeded');
      expect(summary.rowsProcessed).to.equal(0);
      expect((await runner.get(handle.runId)).lastError).to.contain(
        'documents_archive lacks column(s) note of documents',
      );
      expect(await checksum(t.db)).to.equal(before);
    });
  });
}
