import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../../src/api/server.ts';
import { READINESS_DEADLINE_MS } from '../../../src/api/routes/health.ts';
import { type Database, openDatabase } from '../../../src/db/index.ts';
import { AS_ADMIN, AS_READ, expectErrorShape, inject, refusingDatabase, TOKENS } from './support.ts';

/**
 * With the database gone (nothing listens on its port) every route that needs it answers 503
 * `unavailable` with Retry-After, never 500, and /readyz says why; /healthz stays 200. The fault
 * suite (test/fault) shows the same against a real server that restarts and stops.
 */
describe('HTTP API while the database is unreachable', () => {
  let db: Database;
  let app: FastifyInstance;

  before(async () => {
    db = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/gone', poolSize: 2 });
    app = await buildServer({ db, tokens: TOKENS });
  });
  after(async () => {
    await app?.close();
    await db?.close();
  });

  for (const [method, url, headers] of [
    ['GET', '/v1/orders', AS_READ],
    ['GET', '/v1/orders/1', AS_READ],
    ['DELETE', '/v1/documents/1', AS_ADMIN],
    ['POST', '/v1/documents/1/restore', AS_ADMIN],
  ] as const) {
    it(`answers ${method} ${url} with 503 unavailable and Retry-After`, async () => {
      const res = await inject(app, { method, url, headers });
      expect(res.statusCode, res.body).to.equal(503);
      expectErrorShape(res, 'unavailable');
      expect(res.headers['retry-after']).to.equal('5');
      expect(res.body, 'no internals in the answer').to.not.include('ECONNREFUSED');
    });
  }

  it('says so on /readyz (503 unavailable) and stays alive on /healthz', async () => {
    const ready = await inject(app, { method: 'GET', url: '/readyz' });
    expect(ready.statusCode).to.equal(503);
    expectErrorShape(ready, 'unavailable');
    expect((await inject(app, { method: 'GET', url: '/healthz' })).statusCode).to.equal(200);
  });
});

describe('HTTP API when the readiness check fails for another reason', () => {
  let app: FastifyInstance;
  const denied = Object.assign(new Error('permission denied for table sdops_schema_versions'), {
    code: '42501',
  });

  before(async () => {
    // The database answers, but refuses the check: not an outage, a fault to look into.
    app = await buildServer({ db: refusingDatabase(denied), tokens: TOKENS });
  });
  after(async () => {
    await app?.close();
  });

  it('answers /readyz with 503 not_ready naming the SQLSTATE, not "unreachable", and no internals', async () => {
    const ready = await inject(app, { method: 'GET', url: '/readyz' });
    expect(ready.statusCode).to.equal(503);
    expectErrorShape(ready, 'not_ready');
    const message = (ready.json() as { error: { message: string } }).error.message;
    expect(message).to.include('readiness check failed').and.include('42501');
    expect(message).to.not.include('not reachable');
    expect(ready.body, 'no internals in the answer').to.not.include('permission denied');
  });
});

describe('HTTP API when the schema table is locked while the database answers', () => {
  let app: FastifyInstance;

  before(async () => {
    // SELECT 1 answers; the schema read waits on a lock (another process applying schema versions).
    const locked = {
      kind: 'postgres',
      query: (sql: string) =>
        sql === 'SELECT 1' ? Promise.resolve({ rows: [], rowCount: 1 }) : new Promise(() => {}),
      close: async () => undefined,
    };
    app = await buildServer({ db: locked as unknown as Database, tokens: TOKENS });
  });
  after(async () => {
    await app?.close();
  });

  it('answers /readyz with 503 not_ready naming the lock, not "did not answer"', async () => {
    const ready = await inject(app, { method: 'GET', url: '/readyz' });
    expect(ready.statusCode, ready.body).to.equal(503);
    // Before: unavailable, "the database did not answer within 3 s", which the runbook reads as down.
    expectErrorShape(ready, 'not_ready');
    expect((ready.json() as { error: { message: string } }).error.message).to.include(
      'the database answers, but reading its schema versions took over 3 s',
    );
  });
});

describe('HTTP API when the database stops answering without closing its connections', () => {
  let app: FastifyInstance;

  before(async () => {
    // A frozen or partitioned server: the statement is sent and no answer ever comes.
    const frozen = { kind: 'postgres', query: () => new Promise(() => {}), close: async () => undefined };
    app = await buildServer({ db: frozen as unknown as Database, tokens: TOKENS });
  });
  after(async () => {
    await app?.close();
  });

  it('answers /readyz with 503 unavailable within its deadline, not after the freeze', async () => {
    const started = performance.now();
    const ready = await inject(app, { method: 'GET', url: '/readyz' });
    const seconds = (performance.now() - started) / 1000;
    expect(ready.statusCode, ready.body).to.equal(503);
    expectErrorShape(ready, 'unavailable');
    expect(ready.headers['retry-after']).to.equal('5');
    expect(seconds).to.be.within(READINESS_DEADLINE_MS / 1000 - 0.1, READINESS_DEADLINE_MS / 1000 + 2);
  });
});
