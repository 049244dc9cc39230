import { once } from 'node:events';
import { expect } from 'chai';
import { type OperationProgress, SoftDeleteService } from '../../../src/soft-delete/index.ts';
import { makeDocuments, openTestDb, type TestDb } from '../soft-delete/support.ts';

/**
 * PGlite answers from this thread, so a signal is handled only where a batch loop gives the event
 * loop a turn. The CLI's line after a second Ctrl-C counts the batches the caller has heard of; that
 * count is the truth only if the turn comes when every committed batch has been reported.
 */
describe('the embedded database between batches', () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb('pglite');
  });
  after(async () => t?.close());

  it('handles a signal only when every committed batch has reached the caller', async () => {
    const ids = await makeDocuments(t.db, 60);
    let last: OperationProgress | undefined;
    const seen: { reported: number; committed: number }[] = [];
    const onSignal = () => {
      const reported = last?.processed ?? 0;
      // Queued behind nothing: the next batch has not begun when the handler runs.
      void t.db
        .query<{ n: string }>(
          'SELECT count(*) AS n FROM documents WHERE id = ANY($1::bigint[]) AND deleted_at IS NOT NULL',
          [ids],
        )
        .then((r) => seen.push({ reported, committed: Number(r.rows[0]?.n) }));
    };
    process.on('SIGUSR2', onSignal);
    try {
      await new SoftDeleteService(t.db).softDelete(
        'documents',
        { ids },
        {
          batchSize: 5,
          onProgress: (e) => {
            last = e;
            if (e.batch % 3 === 1) process.kill(process.pid, 'SIGUSR2');
          },
        },
      );
      // The last signal may come after the call: let it be handled.
      process.kill(process.pid, 'SIGUSR2');
      await once(process, 'SIGUSR2');
    } finally {
      process.off('SIGUSR2', onSignal);
    }
    const during = seen.filter((s) => s.reported < ids.length);
    expect(during.length, JSON.stringify(seen)).to.be.greaterThan(0);
    // Before: the turn came after COMMIT, so the handler saw one batch more committed than reported.
    for (const s of during) expect(s.committed, JSON.stringify(seen)).to.equal(s.reported);
  });
});
