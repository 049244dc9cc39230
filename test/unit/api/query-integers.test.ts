import { expect } from 'chai';
import { MAX_LIST_LIMIT } from '../../../src/validation/index.ts';
import {
  concretePath,
  expectError,
  inject,
  offlineApiForSuite,
  openApiOperations,
  REACHED_DATABASE,
} from './offline.ts';

/** What Number() (ajv's query coercion) reads as a number, and no one writes as one. */
const NOT_DECIMAL = [
  '0x10',
  '1e2',
  '0b11',
  '0o7',
  '%201',
  '1%20',
  '%20',
  '',
  '5.0',
  '+5',
  '-0',
  '1_000',
  'Infinity',
];

describe('API integer query parameters', () => {
  const api = offlineApiForSuite();

  it('refuses every form but plain decimal digits with 400 invalid_limit, before the database is asked', async () => {
    for (const url of ['/v1/customers', '/v1/migrations']) {
      for (const value of NOT_DECIMAL) {
        const res = await inject(api().app, { method: 'GET', url: `${url}?limit=${value}` });
        const message = expectError(res, 400, 'invalid_limit');
        expect(message, `${url}?limit=${value}`).to.equal(
          'querystring/limit must be a whole number written in decimal digits (0-9) only',
        );
      }
    }
  });

  it('says a repeated query parameter is repeated: 400 invalid_query, whatever its type', async () => {
    // Was "querystring/limit must be integer" for limit=1&limit=2, which sent a client to the types.
    for (const url of [
      '/v1/customers?limit=1&limit=2',
      '/v1/customers?scope=live&scope=all',
      '/v1/customers?after=1&after=1',
    ]) {
      const message = expectError(await inject(api().app, { method: 'GET', url }), 400, 'invalid_query');
      const name = url.split('?')[1]?.split('=')[0];
      expect(message, url).to.equal(`querystring/${name} must be given once, not repeated`);
    }
  });

  it('still takes plain digits, leading zeros included, and checks their range', async () => {
    for (const value of ['1', '16', '007', String(MAX_LIST_LIMIT)]) {
      for (const url of ['/v1/customers', '/v1/migrations']) {
        const res = await inject(api().app, { method: 'GET', url: `${url}?limit=${value}` });
        expect(res.statusCode, `${url}?limit=${value}: ${res.body}`).to.equal(REACHED_DATABASE);
      }
    }
    const zero = await inject(api().app, { method: 'GET', url: '/v1/customers?limit=0' });
    expect(expectError(zero, 400, 'invalid_limit')).to.equal('querystring/limit must be >= 1');
    // 310 digits are Infinity to Number(), which ajv took as an integer: a 500 from the SQL.
    for (const digits of [30, 310, 400]) {
      for (const url of ['/v1/customers', '/v1/migrations']) {
        const huge = await inject(api().app, { method: 'GET', url: `${url}?limit=${'1'.repeat(digits)}` });
        expect(expectError(huge, 400, 'invalid_limit'), `${url} ${digits}`).to.equal(
          `querystring/limit must be <= ${MAX_LIST_LIMIT}`,
        );
      }
    }
  });

  it('caps the migrations list at the CLI maximum, MAX_LIST_LIMIT, not 500', async () => {
    const ok = await inject(api().app, { method: 'GET', url: '/v1/migrations?limit=600' });
    expect(ok.statusCode, ok.body).to.equal(REACHED_DATABASE);
    const over = await inject(api().app, {
      method: 'GET',
      url: `/v1/migrations?limit=${MAX_LIST_LIMIT + 1}`,
    });
    expect(expectError(over, 400, 'invalid_limit')).to.equal(
      `querystring/limit must be <= ${MAX_LIST_LIMIT}`,
    );
  });

  it('holds every integer query parameter the OpenAPI document lists to the same rule', async () => {
    const integers = (await openApiOperations(api().app)).flatMap(({ method, path, op }) =>
      op.parameters
        .filter((p) => p.in === 'query' && p.schema.type === 'integer')
        .map((p) => ({ method, path, name: p.name })),
    );
    expect(integers.map((p) => `${p.method} ${p.path} ${p.name}`)).to.include.members([
      'GET /v1/{entity} limit',
      'GET /v1/migrations limit',
    ]);
    for (const { method, path, name } of integers) {
      const res = await inject(api().app, {
        method: method as 'GET',
        url: `${concretePath(path)}?${name}=1e1`,
      });
      expect(res.statusCode, `${method} ${path}?${name}=1e1: ${res.body}`).to.equal(400);
    }
  });

  it('keeps the list cursor (after) to canonical decimal ids', async () => {
    for (const value of ['0x10', '1e2', '%201', '5.0', '01', '']) {
      const res = await inject(api().app, { method: 'GET', url: `/v1/customers?after=${value}` });
      expectError(res, 400, 'invalid_id');
    }
    const ok = await inject(api().app, { method: 'GET', url: '/v1/customers?after=0' });
    expect(ok.statusCode, ok.body).to.equal(REACHED_DATABASE);
  });
});
