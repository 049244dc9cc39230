import { expect } from 'chai';
import pg from 'pg';
import { type Database, holdThroughStall, openDatabase } from '../../../src/db/index.ts';
import { STALL_AFTER_MS } from '../../../src/db/stall-watch.ts';
import { SdopsError } from '../../../src/errors.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import { type BreakableProxy, breakableProxy } from '../../support/tcp-proxy.ts';

/**
 * A server that stops answering without closing its connections (SIGSTOP, a partition that drops
 * packets) held every statement already sent on a pooled connection until TCP gave up, about 15
 * minutes: an API request, a job's batch, a migration batch. The stall watch closes them once the
 * server answers neither them nor a new connection.
 */
describe('the PostgreSQL pool when the server stops answering', function () {
  this.timeout(90_000);
  /** STALL_AFTER_MS, then a check every 2.5 s, then the 5 s probe, with room for a busy machine. */
  const GIVE_UP_WITHIN_MS = STALL_AFTER_MS + 15_000;
  let test: TestDatabase;
  let proxy: BreakableProxy;
  let db: Database;

  before(async () => {
    test = await createTestDatabase();
    proxy = await breakableProxy(test.url);
    db = await openDatabase({ url: proxy.url, poolSize: 3 });
    await db.query('CREATE TABLE stall_probe (id int PRIMARY KEY, n int NOT NULL)');
    await db.query('INSERT INTO stall_probe VALUES (1, 0)');
  });
  after(async () => {
    proxy?.restore();
    await db?.close();
    proxy?.close();
    await test?.drop();
  });

  it('lets a statement run past the stall time while the server still answers', async () => {
    const started = performance.now();
    const { rows } = await db.query<{ done: boolean }>(
      `SELECT true AS done FROM pg_sleep(${(STALL_AFTER_MS + 3_000) / 1000})`,
    );
    expect(rows[0]?.done).to.equal(true);
    expect(performance.now() - started).to.be.at.least(STALL_AFTER_MS);
  });

  it('fails the statements in flight as unavailable instead of holding them', async () => {
    // Two connections open and idle in the pool: both statements below go out on one of them.
    await Promise.all([db.query('SELECT pg_sleep(0.1)'), db.query('SELECT pg_sleep(0.1)')]);
    proxy.freeze();
    const started = performance.now();
    const outcomes = await Promise.allSettled([
      db.query('SELECT n FROM stall_probe'),
      db.transaction(async (tx) => {
        await tx.query('UPDATE stall_probe SET n = n + 1 WHERE id = 1');
      }),
    ]);
    const elapsed = performance.now() - started;
    for (const outcome of outcomes) {
      expect(outcome.status).to.equal('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as SdopsError;
      expect(reason).to.be.instanceOf(SdopsError);
      expect(reason.kind).to.equal('unavailable');
      expect(reason.message).to.include('no answer from the database');
    }
    expect(elapsed).to.be.at.least(STALL_AFTER_MS).and.below(GIVE_UP_WITHIN_MS);
  });

  it('keeps a statement held through the stall open, and it gets its answer once the server does', async () => {
    proxy.restore();
    await Promise.all([db.query('SELECT pg_sleep(0.1)'), db.query('SELECT pg_sleep(0.1)')]);
    proxy.freeze();
    // A job claim: its connection closed, it committed when the server woke up, and nobody got the jobs.
    const held = holdThroughStall(() =>
      db.query<{ n: number }>('UPDATE stall_probe SET n = n + 10 WHERE id = 1 RETURNING n'),
    );
    const cut = await db.query('SELECT 1').catch((e: unknown) => e as SdopsError);
    expect(cut).to.be.instanceOf(SdopsError);
    proxy.restore();
    const { rows } = await held;
    expect(rows[0]?.n).to.equal(10);
  });

  it('works again on new connections once the server answers', async () => {
    proxy.restore();
    const { rows } = await db.query<{ n: number }>('SELECT n FROM stall_probe WHERE id = 1');
    // The transaction's UPDATE never reached the server (its connection was closed while frozen);
    // the held statement's did, once.
    expect(rows[0]?.n).to.equal(10);
  });
});

/**
 * One open transaction holding a row lock filled the pool with statements waiting on it; every
 * other request then waited 5 s for a connection and was told "the database is unavailable
 * (timeout exceeded when trying to connect)", while the database answered fine.
 */
describe('the PostgreSQL pool when every connection waits on a row lock', function () {
  this.timeout(60_000);
  let test: TestDatabase;
  let db: Database;
  let holder: pg.Client;

  before(async () => {
    test = await createTestDatabase();
    db = await openDatabase({ url: test.url, poolSize: 2 });
    await db.query('CREATE TABLE locked_row (id int PRIMARY KEY, n int NOT NULL)');
    await db.query('INSERT INTO locked_row VALUES (1, 0)');
    holder = new pg.Client({ connectionString: test.url });
    await holder.connect();
  });
  after(async () => {
    await holder?.end();
    await db?.close();
    await test?.drop();
  });

  it('says the connections are busy, not that the database is unreachable', async () => {
    await holder.query('BEGIN');
    await holder.query('SELECT id FROM locked_row WHERE id = 1 FOR UPDATE');
    const waiting = [1, 2].map(() => db.query('UPDATE locked_row SET n = n + 1 WHERE id = 1'));
    const error = (await db.query('SELECT 1').catch((e: unknown) => e)) as SdopsError;
    await holder.query('ROLLBACK');
    await Promise.all(waiting);
    expect(error).to.be.instanceOf(SdopsError);
    expect(error.kind).to.equal('unavailable');
    expect(error.message).to.match(/all 2 connections of this process stayed busy for 5 s/);
  });
});
