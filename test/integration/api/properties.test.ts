import { expect } from 'chai';
import fc from 'fast-check';
import {
  AS_ADMIN,
  AS_READ,
  type ApiFixture,
  checksumAllTables,
  expectErrorShape,
  inject,
  startFixture,
} from './support.ts';

/**
 * Hostile input at every route. Every generated request carries at least one defect (bad entity,
 * bad id, bad body, wrong content type, oversized body, bad query, missing/wrong token, or a
 * filter value shaped like SQL injection that matches nothing), so none of them may change a row:
 * the tables' checksums are compared before and after the whole run.
 */

const INJECTION = [
  "1' OR '1'='1",
  '1; DROP TABLE customers; --',
  "'); DELETE FROM orders; --",
  '../../etc/passwd',
  '__proto__',
  'constructor',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
  '${7*7}',
  '<script>alert(1)</script>',
  '1 UNION SELECT * FROM pg_user',
  '\u0000',
  '9223372036854775808',
  '-1',
  '0',
  '1e3',
  ' 1',
  '０１',
];

const hostileString = fc.oneof(
  fc.constantFrom(...INJECTION),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ minLength: 101, maxLength: 300 }),
);

const ENTITY_TEMPLATES = [
  { method: 'GET', path: '/v1/{e}', body: false, admin: false },
  { method: 'GET', path: '/v1/{e}/{id}', body: false, admin: false },
  { method: 'DELETE', path: '/v1/{e}/{id}', body: true, admin: true },
  { method: 'POST', path: '/v1/{e}/{id}/restore', body: true, admin: true },
  { method: 'POST', path: '/v1/{e}/bulk-delete', body: true, admin: true },
  { method: 'POST', path: '/v1/{e}/bulk-restore', body: true, admin: true },
  { method: 'POST', path: '/v1/migrations/{e}/start', body: true, admin: true },
  { method: 'GET', path: '/v1/migrations/runs/{id}', body: false, admin: false },
  { method: 'POST', path: '/v1/migrations/runs/{id}/stop', body: true, admin: true },
  { method: 'POST', path: '/v1/migrations/runs/{id}/resume', body: true, admin: true },
  { method: 'POST', path: '/v1/migrations/runs/{id}/retry-failed', body: true, admin: true },
  { method: 'GET', path: '/v1/queue', body: false, admin: false },
  { method: 'POST', path: '/v1/queue/retry', body: true, admin: true },
  { method: 'POST', path: '/v1/queue/jobs/{id}/cancel', body: true, admin: true },
] as const;

type Defect =
  | 'entity'
  | 'id'
  | 'body'
  | 'contentType'
  | 'oversized'
  | 'query'
  | 'noToken'
  | 'badToken'
  | 'readToken'
  | 'injectionFilter';

const malformedBody = fc.oneof(
  fc.constant('{'),
  fc.constant('null'),
  fc.constant('[]'),
  fc.constant('"x"'),
  fc.constant('{"ids": "1; DROP TABLE orders"}'),
  fc.constant('{"ids": []}'),
  fc.constant('{"ids": [1.5]}'),
  fc.constant('{"filter": {}}'),
  fc.constant('{"filter": {"status; DROP TABLE orders": "x"}}'),
  fc.constant('{"reason": ""}'),
  fc.constant('{"jobId": "not-a-uuid"}'),
  fc.constant('{"cascade": "maybe"}'),
  fc.constant('{"__proto__": {"admin": true}}'),
  hostileString.map((s) => JSON.stringify({ unexpected: s })),
  hostileString.map((s) => JSON.stringify({ ids: [s] })),
  fc
    .json()
    .filter((j) => !/^\{\s*\}$/.test(j))
    .map((j) => `{"x":${j}}`),
);

const request = fc.record({
  template: fc.constantFrom(...ENTITY_TEMPLATES),
  defect: fc.constantFrom<Defect>(
    'entity',
    'id',
    'body',
    'contentType',
    'oversized',
    'query',
    'noToken',
    'badToken',
    'readToken',
    'injectionFilter',
  ),
  hostile: hostileString,
  body: malformedBody,
  contentType: fc.constantFrom(
    'text/plain',
    'application/xml',
    'multipart/form-data; boundary=x',
    'application/x-www-form-urlencoded',
    'image/png',
  ),
  encode: fc.boolean(),
});

const VALID_ENTITY = 'orders';
const MISSING_ID = '999999999';

describe('HTTP API under hostile input (property-based)', () => {
  let f: ApiFixture;
  before(async () => {
    f = await startFixture(30);
  });
  after(async () => {
    await f?.close();
  });

  it('never answers 5xx, always uses the error shape and never changes a row', async function () {
    this.timeout(120_000);
    const before = await checksumAllTables(f.db);
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        // Unencoded '%' makes malformed percent-encoding reach the router.
        // Only defects the route can carry (no id defect on /v1/queue, no body defect on a GET).
        fc.pre(r.defect !== 'entity' || r.template.path.includes('{e}'));
        fc.pre(r.defect !== 'id' || r.template.path.includes('{id}'));
        fc.pre(
          !['body', 'contentType', 'oversized', 'injectionFilter'].includes(r.defect) || r.template.body,
        );
        const segment = (s: string) =>
          r.encode ? encodeURIComponent(s) : s.replace(/[^A-Za-z0-9._~%-]/gu, (c) => encodeURIComponent(c));
        let entity = r.template.path.includes('/migrations/') ? 'backfill-deleted-at' : VALID_ENTITY;
        let id = r.template.path.includes('/runs/') ? '00000000-0000-4000-8000-000000000000' : MISSING_ID;
        let headers: Record<string, string> = r.template.admin ? { ...AS_ADMIN } : { ...AS_READ };
        let payload: string | undefined;
        let query = '';
        // A syntactically valid body: ids/filter that match nothing, so only the defect decides.
        if (r.template.body) {
          headers['content-type'] = 'application/json';
          if (r.template.path.endsWith('bulk-delete') || r.template.path.endsWith('bulk-restore')) {
            payload = JSON.stringify({ ids: [MISSING_ID] });
          } else if (r.template.path.endsWith('/retry')) {
            payload = JSON.stringify({ jobId: '00000000-0000-4000-8000-000000000000' });
          } else {
            payload = '{}';
          }
        }
        switch (r.defect) {
          case 'entity':
            entity = r.hostile;
            break;
          case 'id':
            // A well-formed id would be a valid request, not a defect.
            id = /^[1-9][0-9]{0,18}$/.test(r.hostile) ? `${r.hostile}x` : r.hostile;
            break;
          case 'body':
            headers['content-type'] = 'application/json';
            payload = r.body;
            break;
          case 'contentType':
            headers['content-type'] = r.contentType;
            payload = payload ?? 'x=1';
            break;
          case 'oversized':
            headers['content-type'] = 'application/json';
            payload = JSON.stringify({ reason: 'x'.repeat(1024 * 1024 + 10) });
            break;
          case 'query':
            query = `?${encodeURIComponent(r.hostile || 'x')}=${encodeURIComponent(r.hostile)}&limit=${encodeURIComponent(r.hostile)}`;
            break;
          case 'noToken':
            headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'authorization'));
            break;
          case 'badToken':
            headers.authorization = `Bearer ${r.hostile.replace(/\s/g, '') || 'x'}`;
            break;
          case 'readToken':
            headers.authorization = AS_READ.authorization;
            break;
          case 'injectionFilter':
            headers['content-type'] = 'application/json';
            payload = JSON.stringify({ filter: { sku: `${r.hostile}' OR '1'='1` } });
            break;
        }
        const url = r.template.path.replace('{e}', segment(entity)).replace('{id}', segment(id)) + query;
        const res = await inject(f.app, {
          method: r.template.method,
          url,
          headers,
          ...(payload !== undefined && r.template.method !== 'GET' ? { payload } : {}),
        });
        expect(res.statusCode, `${r.template.method} ${url} -> ${res.body.slice(0, 300)}`).to.be.below(500);
        if (res.statusCode >= 400) expectErrorShape(res);
        // A read with a harmless defect (e.g. a filter on a GET) may succeed; a mutation may not.
        if (r.template.admin && r.defect !== 'injectionFilter') {
          expect(
            res.statusCode,
            `${r.template.method} ${url} ${r.defect} -> ${res.body.slice(0, 300)}`,
          ).to.be.at.least(400);
        }
      }),
      { numRuns: 400, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
    );
    expect(await checksumAllTables(f.db)).to.deep.equal(before);
  });
});
