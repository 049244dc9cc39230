import { expect } from 'chai';
import {
  concretePath,
  expectError,
  inject,
  type OfflineApi,
  offlineApi,
  type OpenApiOperation,
  openApiOperations,
} from './offline.ts';

/** A request each route accepts up to the point where it needs the database. */
function bodyFor(method: string, path: string): Record<string, unknown> | undefined {
  if (path.endsWith('/bulk-delete') || path.endsWith('/bulk-restore')) return { ids: ['1'] };
  if (path === '/v1/queue/retry') return { dead: true };
  return method === 'GET' ? undefined : {};
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

describe('API error responses in the OpenAPI document', () => {
  let api: OfflineApi;
  let operations: { method: string; path: string; op: OpenApiOperation }[];

  before(async () => {
    api = await offlineApi();
    operations = await openApiOperations(api.app);
  });
  after(async () => {
    await api?.close();
  });

  it('lists 503 with Retry-After on every route that answers 503 unavailable while the database is down', async () => {
    const answering503: string[] = [];
    for (const { method, path } of operations) {
      const payload = bodyFor(method, path);
      const res = await inject(api.app, {
        method: method as 'GET',
        url: concretePath(path),
        ...(payload ? { payload } : {}),
      });
      if (res.statusCode !== 503) continue;
      expect(res.headers['retry-after'], `${method} ${path}`).to.equal('5');
      answering503.push(`${method} ${path}`);
    }
    // Every route but /healthz and /openapi.json works on the database.
    expect(answering503).to.have.length(operations.length - 2);
    expect(answering503).to.not.include('GET /healthz');
    expect(answering503).to.not.include('GET /openapi.json');
    for (const { method, path, op } of operations) {
      const listed = op.responses['503'];
      // /healthz answers 503 only while the server shuts down (closing.test.ts), and lists it.
      if (!answering503.includes(`${method} ${path}`) && path !== '/healthz') {
        expect(listed, `${method} ${path}`).to.equal(undefined);
        continue;
      }
      expect(listed, `${method} ${path} lists no 503`).to.not.equal(undefined);
      expect(listed?.headers, `${method} ${path}`).to.have.property('Retry-After');
      expect(listed?.content?.['application/json']?.schema, `${method} ${path}`).to.deep.equal(ERROR_REF);
    }
  });

  it('lists 414 uri_too_long on every route with a path parameter, which answers it for one over 100 characters', async () => {
    let checked = 0;
    for (const { method, path, op } of operations) {
      const params = op.parameters.filter((p) => p.in === 'path');
      if (params.length === 0) {
        expect(op.responses['414'], `${method} ${path}`).to.equal(undefined);
        continue;
      }
      for (const { name } of params) {
        const payload = bodyFor(method, path);
        const res = await inject(api.app, {
          method: method as 'GET',
          url: concretePath(path, { name, value: '1'.repeat(5000) }),
          ...(payload ? { payload } : {}),
        });
        expectError(res, 414, 'uri_too_long');
        checked++;
      }
      expect(op.responses['414']?.content?.['application/json']?.schema, `${method} ${path}`).to.deep.equal(
        ERROR_REF,
      );
    }
    expect(checked).to.be.greaterThan(10);
  });

  it('lists 409 on every route that reads or writes the tables, where a lock held for 5 s answers row_locked', () => {
    const probes = ['/healthz', '/readyz', '/openapi.json'];
    const missing = operations
      .filter(({ path, op }) => !probes.includes(path) && op.responses['409'] === undefined)
      .map(({ method, path }) => `${method} ${path}`);
    // Before: the four GET routes of runs and jobs answered 409 row_locked without listing it.
    expect(missing).to.deep.equal([]);
  });

  it('declares the WWW-Authenticate header of every 401', () => {
    const with401 = operations.filter(({ op }) => op.responses['401'] !== undefined);
    expect(with401.length).to.be.greaterThan(10);
    for (const { method, path, op } of with401)
      expect(op.responses['401']?.headers, `${method} ${path}`).to.have.property('WWW-Authenticate');
  });

  it('points every error response at the shared Error schema with its codes', () => {
    for (const { method, path, op } of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        expect(response.content?.['application/json']?.schema, `${method} ${path} ${status}`).to.deep.equal(
          ERROR_REF,
        );
      }
    }
  });
});
