import { expect } from 'chai';
import pg from 'pg';
import { type SdopsProcess, signalAgain, spawnSdops } from '../../support/sdops-process.ts';
import { waitUntil } from '../../support/wait.ts';
import { type MigrationTestDb, openMigrationTestDb, seedDocuments } from '../migration/support.ts';

/**
 * A second SIGTERM while `sdops serve` waited for a request (its delete waiting on a row lock)
 * ended it with exit 0 and no word: a supervisor saw a clean exit, and the client no answer.
 */
describe('sdops serve stopped by a second signal', function () {
  this.timeout(60_000);
  let t: MigrationTestDb;
  let serve: SdopsProcess | undefined;
  let holder: pg.Client | undefined;

  before(async () => {
    t = await openMigrationTestDb();
    await seedDocuments(t.db, { legacy: 0, deleted: 0, live: 3 });
  });
  after(async () => {
    await serve?.stop('SIGKILL');
    await holder?.end();
    await t?.close();
  });

  it('exits 143 with one line saying what stays, and the delete in flight is not done', async () => {
    const { rows } = await t.db.query<{ id: string }>('SELECT min(id)::text AS id FROM documents');
    const id = rows[0]!.id;
    holder = new pg.Client({ connectionString: t.test.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM documents WHERE id = $1 FOR UPDATE', [id]);
    serve = spawnSdops(['serve', '--port', '0'], { DATABASE_URL: t.test.url, SDOPS_API_TOKENS: undefined });
    const [, url] = await serve.waitFor(/sdops api listening on (\S+)/);
    const answer = fetch(`${url}/v1/documents/${id}`, { method: 'DELETE' }).then(
      (r) => r.status,
      () => 'no answer',
    );
    await waitUntil('the delete to wait on the row lock', async () => {
      const waiting = await holder!.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return waiting.rowCount ? true : undefined;
    });
    serve.child.kill('SIGTERM');
    await serve.waitFor(/api shutting down/);
    expect(serve.alive(), 'the first signal waits for the request').to.equal(true);
    await signalAgain(serve.child, 'SIGTERM');
    expect(await serve.exited).to.equal(143);
    expect(serve.output()).to.match(
      /stopped at once by a second SIGTERM: requests still running got no answer/,
    );
    expect(await answer).to.equal('no answer');
    await holder.query('COMMIT');
    // The server's session got the lock once it was released: wait for it to end, then look.
    await waitUntil('the stopped server to leave the database', async () => {
      const left = await holder!.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND query ILIKE '%UPDATE%documents%'`,
      );
      return left.rowCount === 0 ? true : undefined;
    });
    const after = await t.db.query<{ deleted_at: Date | null }>(
      'SELECT deleted_at FROM documents WHERE id = $1',
      [id],
    );
    expect(after.rows[0]?.deleted_at).to.equal(null);
  });
});
