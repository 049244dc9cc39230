import { expect } from 'chai';
import { MAX_ROWS_PER_SECOND } from '../../../src/validation/index.ts';
import { expectError, inject, offlineApiForSuite, openApiOperations, REACHED_DATABASE } from './offline.ts';

describe('API reason and throttle rules', () => {
  const api = offlineApiForSuite();

  it('refuses an empty and a white-space-only reason alike: 400 invalid_body, at the edge', async () => {
    for (const [url, base] of [
      ['/v1/documents/1', {}],
      ['/v1/documents/bulk-delete', { ids: ['1'] }],
    ] as const) {
      for (const reason of [
        '',
        ' ',
        ' \t\n',
        '\u00a0\u2003',
        '\u200b',
        ' \u200d\u2060\u00ad',
        '\u0085',
        '\u3164\u2800',
      ]) {
        const res = await inject(api().app, {
          method: url.endsWith('bulk-delete') ? 'POST' : 'DELETE',
          url,
          payload: { ...base, reason },
        });
        // A white-space-only reason got invalid_argument from the core, an empty one invalid_body.
        const message = expectError(res, 400, 'invalid_body');
        expect(message, JSON.stringify(reason)).to.equal('body/reason must not be empty or blank');
      }
    }
    for (const reason of ['', '%20', '%09%0A']) {
      const res = await inject(api().app, { method: 'DELETE', url: `/v1/documents/1?reason=${reason}` });
      expect(expectError(res, 400, 'invalid_query')).to.equal(
        'querystring/reason must not be empty or blank',
      );
    }
    const spaced = await inject(api().app, {
      method: 'DELETE',
      url: '/v1/documents/1',
      payload: { reason: ' gdpr ' },
    });
    expect(spaced.statusCode, spaced.body).to.equal(REACHED_DATABASE);
  });

  it('refuses a key given twice in one object and __proto__ keys, naming them, before anything runs', async () => {
    for (const [payload, said] of [
      // Before: the last one won, and a real (not dry) run started.
      ['{"dryRun":true,"batchSize":10,"dryRun":false}', 'body has the key "dryRun" twice in one object'],
      [
        '{"params":{"entities":["orders"],"entities":["documents"]}}',
        'body has the key "entities" twice in one object',
      ],
      ['{"dryRun":true,"dry\\u0052un":false}', 'body has the key "dryRun" twice in one object'],
      // Before: "Body is not valid JSON".
      ['{"__proto__":{"dryRun":false}}', 'body must not have a "__proto__" key'],
      // Not JSON at all: said so, though a key repeats before the text breaks off.
      ['{"dryRun":true,"dryRun":', /^Body is not valid JSON/],
    ] as const) {
      const res = await inject(api().app, {
        method: 'POST',
        url: '/v1/migrations/backfill-deleted-at/start',
        headers: { 'content-type': 'application/json' },
        payload,
      });
      const message = expectError(res, 400, 'invalid_body');
      if (typeof said === 'string') expect(message, payload).to.equal(said);
      else expect(message, payload).to.match(said);
    }
    // The same key in different objects, and in arrays of objects, is fine.
    const fine = await inject(api().app, {
      method: 'POST',
      url: '/v1/documents/bulk-delete',
      headers: { 'content-type': 'application/json' },
      payload: '{"ids":["1"],"reason":"a \\"reason\\": twice"}',
    });
    expect(fine.statusCode, fine.body).to.equal(REACHED_DATABASE);
  });

  it('refuses a reason given both in the query string and in the body instead of letting the body win', async () => {
    const res = await inject(api().app, {
      method: 'DELETE',
      url: '/v1/documents/1?reason=q',
      payload: { reason: 'b' },
    });
    expect(expectError(res, 400, 'invalid_query')).to.match(/both in the query string and in the body/);
    for (const [url, payload] of [
      ['/v1/documents/1?reason=q', undefined],
      ['/v1/documents/1', { reason: 'b' }],
      ['/v1/documents/1?reason=q', {}],
    ] as const) {
      const one = await inject(api().app, { method: 'DELETE', url, ...(payload ? { payload } : {}) });
      expect(one.statusCode, `${url} ${JSON.stringify(payload)}: ${one.body}`).to.equal(REACHED_DATABASE);
    }
    const del = (await openApiOperations(api().app)).find((o) => o.method === 'DELETE');
    expect(del?.op.description ?? '').to.match(/not both/);
  });

  it('caps maxRowsPerSecond at MAX_ROWS_PER_SECOND (2^53 - 1), as the CLI does', async () => {
    expect(MAX_ROWS_PER_SECOND).to.equal(2 ** 53 - 1);
    const url = '/v1/migrations/backfill-deleted-at/start';
    for (const maxRowsPerSecond of [1e300, MAX_ROWS_PER_SECOND + 1]) {
      const res = await inject(api().app, { method: 'POST', url, payload: { maxRowsPerSecond } });
      // 1e300 started a run.
      expect(expectError(res, 400, 'invalid_body')).to.include(`must be <= ${MAX_ROWS_PER_SECOND}`);
    }
    for (const maxRowsPerSecond of [1, MAX_ROWS_PER_SECOND, null]) {
      const res = await inject(api().app, { method: 'POST', url, payload: { maxRowsPerSecond } });
      expect(res.statusCode, `${maxRowsPerSecond}: ${res.body}`).to.equal(REACHED_DATABASE);
    }
  });
});
