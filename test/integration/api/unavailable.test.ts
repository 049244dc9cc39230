import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../../src/api/index.ts';
import { type Database, openDatabase } from '../../../src/db/index.ts';
import { AS_ADMIN, AS_READ, expectErrorShape, inject, TOKENS } from './support.ts';

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
