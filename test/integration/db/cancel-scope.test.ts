import { expect } from 'chai';
import {
  CancelScope,
  type Database,
  openDatabase,
  outsideCancelScope,
  sqlState,
  withCancelScope,
} from '../../../src/db/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * Database.cancelRunning(scope): cancels the statements of one piece of work (a job's attempt) and
 * none of the work beside it, also when the scope gives a connection back while the cancel is on
 * its way (the pool would hand it to the next caller, whose statement the cancel then hit).
 */
describe('cancelling the statements of one cancel scope (PostgreSQL)', function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  let db: Database;

  before(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, poolSize: 4 });
  });
  after(async () => {
    await db?.close();
    await tdb?.drop();
  });

  const backendAlive = async (pid: number) =>
    (await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rows.length > 0;

  it("cancels the scope's statement, leaves another one running, and closes the scope's connection", async () => {
    const scope = new CancelScope();
    let pid = 0;
    const inScope = withCancelScope(scope, () =>
      db.transaction(async (tx) => {
        pid = Number((await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
        await tx.query('SELECT pg_sleep(30)');
      }),
    ).then(
      () => 'finished',
      (error: unknown) => sqlState(error) ?? String(error),
    );
    const beside = db.query('SELECT pg_sleep(1) AS slept').then(
      () => 'finished',
      (error: unknown) => sqlState(error) ?? String(error),
    );
    await waitUntil('the scope to run its statement', () => pid > 0);
    expect(await db.cancelRunning(scope)).to.equal(1);
    expect(await inScope).to.equal('57014');
    expect(await beside, 'the statement outside the scope').to.equal('finished');
    // Given back after the cancel began, the connection is closed rather than reused.
    await waitUntil("the scope's connection to be closed", async () => !(await backendAlive(pid)));
  });

  it('closes a connection the scope gives back once its cancel began, so no other work gets it', async () => {
    const scope = new CancelScope();
    const pid = await withCancelScope(scope, async () => {
      const r = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      return Number(r.rows[0]?.pid);
    });
    // Outside a cancel, the connection goes back to the pool and stays open.
    expect(await backendAlive(pid)).to.equal(true);
    scope.cancelling = true;
    const again = await withCancelScope(scope, async () => {
      const r = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      return Number(r.rows[0]?.pid);
    });
    await waitUntil(
      'the connection given back during the cancel to be closed',
      async () => !(await backendAlive(again)),
    );
  });
  it("leaves a statement run outside the scope from inside it alone when the scope's statements are cancelled", async () => {
    const scope = new CancelScope();
    const cleanUp = withCancelScope(scope, () =>
      outsideCancelScope(() => db.query('SELECT pg_sleep(1.5)')),
    ).then(
      () => 'finished',
      (error: unknown) => sqlState(error) ?? String(error),
    );
    await waitUntil(
      'the statement to run',
      async () =>
        (
          await db.query(
            `SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(1.5)' AND state = 'active'`,
          )
        ).rows.length > 0,
    );
    await db.cancelRunning(scope);
    expect(await cleanUp).to.equal('finished');
  });
});
