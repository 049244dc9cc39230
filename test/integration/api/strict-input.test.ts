import { expect } from 'chai';
import fc from 'fast-check';
import {
  AS_ADMIN,
  type ApiFixture,
  checksumAllTables,
  expectErrorShape,
  inject,
  startFixture,
} from './support.ts';

/**
 * Input the API must refuse with 400 and change nothing for (issue 22, items 6-8): a JSON value of
 * the wrong type in any body field (never coerced: "1" is not [1], 0 is not null), a NUL character
 * or an unpaired surrogate anywhere in a string, a date that does not exist in a filter. The
 * property is the same for all three: 400 with the error shape, the field named, and every table
 * (pg-boss's included) unchanged.
 */

type JsonType = 'string' | 'integer' | 'number' | 'boolean' | 'null' | 'array' | 'object';

interface Field {
  readonly url: string;
  readonly method: 'POST' | 'DELETE';
  /** A valid body the field is put into. */
  readonly base: Record<string, unknown>;
  /** Path of the field in the body. */
  readonly path: readonly string[];
  /** Types the schema accepts there; every other type must be refused. */
  readonly accepts: readonly JsonType[];
}

const MISSING = '999999999';
const FIELDS: readonly Field[] = [
  { method: 'DELETE', url: '/v1/documents/1', base: {}, path: ['reason'], accepts: ['string'] },
  { method: 'POST', url: '/v1/documents/1/restore', base: {}, path: ['cascade'], accepts: ['boolean'] },
  ...(['bulk-delete', 'bulk-restore'] as const).flatMap((op): Field[] => [
    { method: 'POST', url: `/v1/orders/${op}`, base: {}, path: ['ids'], accepts: ['array'] },
    { method: 'POST', url: `/v1/orders/${op}`, base: {}, path: ['filter'], accepts: ['object'] },
    {
      method: 'POST',
      url: `/v1/orders/${op}`,
      base: { ids: [MISSING] },
      path: ['cascade'],
      accepts: ['boolean'],
    },
  ]),
  {
    method: 'POST',
    url: '/v1/orders/bulk-delete',
    base: { ids: [MISSING] },
    path: ['reason'],
    accepts: ['string'],
  },
  ...(['batchSize', 'maxFailedBatches'] as const).map(
    (f): Field => ({
      method: 'POST',
      url: '/v1/migrations/backfill-deleted-at/start',
      base: {},
      path: [f],
      accepts: ['integer'],
    }),
  ),
  {
    method: 'POST',
    url: '/v1/migrations/backfill-deleted-at/start',
    base: {},
    path: ['maxRowsPerSecond'],
    accepts: ['integer', 'null'],
  },
  {
    method: 'POST',
    url: '/v1/migrations/backfill-deleted-at/start',
    base: {},
    path: ['dryRun'],
    accepts: ['boolean'],
  },
  {
    method: 'POST',
    url: '/v1/migrations/backfill-deleted-at/start',
    base: {},
    path: ['params'],
    accepts: ['object'],
  },
  {
    method: 'POST',
    url: '/v1/migrations/archive-soft-deleted/start',
    base: {},
    path: ['params', 'olderThanDays'],
    accepts: ['number', 'integer'],
  },
  {
    method: 'POST',
    url: '/v1/migrations/archive-soft-deleted/start',
    base: {},
    path: ['params', 'entities'],
    accepts: ['array'],
  },
  { method: 'POST', url: '/v1/queue/retry', base: {}, path: ['jobId'], accepts: ['string'] },
  { method: 'POST', url: '/v1/queue/retry', base: {}, path: ['dead'], accepts: ['boolean'] },
];

/** Integer fields whose malformed values have a code of their own (src/api/errors.ts FIELD_CODES). */
const FRACTION_CODES: Readonly<Record<string, string>> = { batchSize: 'invalid_batch_size' };

const typeOf = (v: unknown): JsonType =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'array'
      : typeof v === 'number'
        ? Number.isInteger(v)
          ? 'integer'
          : 'number'
        : (typeof v as JsonType);

const anyJson = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('1', '0', 'true', '', '10', 'null', '[]'),
  fc.integer({ min: -5, max: 100_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);

function withField(
  base: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
): Record<string, unknown> {
  const body = structuredClone(base);
  let at: Record<string, unknown> = body;
  for (const key of path.slice(0, -1)) {
    at[key] ??= {};
    at = at[key] as Record<string, unknown>;
  }
  at[path.at(-1) as string] = value;
  return body;
}

/** NUL or an unpaired surrogate put into s at a place where it stays unpaired. */
const brokenText = fc
  .tuple(
    fc.string({ maxLength: 30, unit: 'grapheme' }),
    fc.oneof(
      fc.constant('\0'),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    ),
    fc.nat(),
  )
  .map(([s, bad, at]) => {
    const chars = [...s];
    const i = at % (chars.length + 1);
    return [...chars.slice(0, i), bad, ...chars.slice(i)].join('');
  });

/** Dates that do not exist on the calendar (or that PostgreSQL would roll over), as filters send them. */
const impossibleDate = fc.oneof(
  fc
    .record({
      y: fc.integer({ min: 1, max: 9999 }),
      m: fc.integer({ min: 1, max: 12 }),
      over: fc.integer({ min: 1, max: 5 }),
    })
    .map(({ y, m, over }) => {
      const last =
        new Date(Date.UTC(2000, m, 0)).getUTCDate() -
        (m === 2 && !(y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)) ? 1 : 0);
      return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(Math.min(99, last + over)).padStart(2, '0')}`;
    }),
  fc.constantFrom('0000-06-01', '2024-00-10', '2024-13-01', '2024-06-00'),
  fc.integer({ min: 24, max: 99 }).map((h) => `2024-06-01T${h}:00`),
  fc.integer({ min: 60, max: 99 }).map((s) => `2024-06-01T12:00:${s}Z`),
  fc.integer({ min: 15, max: 99 }).map((h) => `2024-06-01T12:00+${h}:00`),
);

describe('HTTP API refuses ill-typed, broken-text and impossible-date input: 400 and nothing changed (property-based)', () => {
  let f: ApiFixture;
  let tables: Record<string, string>;
  before(async () => {
    f = await startFixture(30);
  });
  after(async () => {
    await f?.close();
  });
  beforeEach(async () => {
    tables = await checksumAllTables(f.db);
  });
  afterEach(async () => {
    expect(await checksumAllTables(f.db), 'tables after the run').to.deep.equal(tables);
  });

  const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
  const send = (method: string, url: string, body: unknown) =>
    inject(f.app, {
      method,
      url,
      headers: { ...AS_ADMIN, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });

  it('answers a value of any other JSON type in any body field with 400 invalid_body naming the field', async function () {
    this.timeout(120_000);
    const cases = fc
      .tuple(fc.constantFrom(...FIELDS), anyJson)
      .filter(([field, v]) => !field.accepts.includes(typeOf(v)));
    await fc.assert(
      fc.asyncProperty(cases, async ([field, value]) => {
        const body = withField(field.base, field.path, value);
        const res = await send(field.method, field.url, body);
        const what = `${field.method} ${field.url} ${JSON.stringify(body)} -> ${res.statusCode} ${res.body}`;
        expect(res.statusCode, what).to.equal(400);
        // A fraction for an integer is the right JSON type, malformed: a field with a code of its own
        // says so with it, as the CLI does (--batch-size 1.5 is invalid_batch_size).
        const own = typeOf(value) === 'number' ? FRACTION_CODES[field.path.join('/')] : undefined;
        expectErrorShape(res, own ?? 'invalid_body');
        expect(res.json().error.message, what).to.include(`body/${field.path.join('/')}`);
      }),
      { numRuns: 300, seed },
    );
  });

  it('names an unknown body field in the 400 invalid_body message', async () => {
    const res = await send('POST', '/v1/documents/bulk-delete', { ids: ['5'], bogusField: 1 });
    expect(res.statusCode, res.body).to.equal(400);
    expectErrorShape(res, 'invalid_body');
    // Was only "body must NOT have additional properties".
    expect(res.json().error.message).to.include('"bogusField"');
  });

  it('answers an id past int8 in either bulk route with 400 invalid_id, as it does a single id', async () => {
    for (const op of ['bulk-delete', 'bulk-restore']) {
      for (const ids of [['9223372036854775808'], ['5', '99999999999999999999'.slice(0, 19)]]) {
        const res = await send('POST', `/v1/documents/${op}`, { ids });
        // bulk-restore answered 500: its undo check sent the ids to SQL before they were checked.
        expect(res.statusCode, `${op} ${res.body}`).to.equal(400);
        expectErrorShape(res, 'invalid_id');
        expect(res.json().error.message).to.include('ids go up to 9223372036854775807');
      }
    }
  });

  it('answers a NUL or an unpaired surrogate anywhere in a reason or a text filter with 400', async function () {
    this.timeout(120_000);
    const places = fc.constantFrom(
      (s: string) => ['DELETE', '/v1/documents/1', { reason: s }] as const,
      (s: string) => ['POST', '/v1/orders/bulk-delete', { ids: [MISSING], reason: s }] as const,
      (s: string) => ['POST', '/v1/documents/bulk-delete', { filter: { title: s } }] as const,
      (s: string) => ['POST', '/v1/customers/bulk-restore', { filter: { email: s } }] as const,
      (s: string) => ['POST', '/v1/order_items/bulk-delete', { filter: { sku: s, order_id: 1 } }] as const,
    );
    await fc.assert(
      fc.asyncProperty(places, brokenText, async (place, text) => {
        const [method, url, body] = place(text);
        const res = await send(method, url, body);
        expect(res.statusCode, `${method} ${url} ${JSON.stringify(body)} -> ${res.body}`).to.equal(400);
        expectErrorShape(res, 'invalid_body');
        expect(res.json().error.message).to.match(/NUL characters, unpaired surrogates/);
      }),
      { numRuns: 200, seed },
    );
    // The query string's reason too: NUL, bytes that are not UTF-8, and an encoded lone surrogate
    // (the last two were once stored as the literal text "%ff%fe" and "%ED%A0%80").
    // A compressed body is refused, not read as plain JSON (the parser does not decompress).
    const gzipped = await inject(f.app, {
      method: 'POST',
      url: '/v1/documents/bulk-delete',
      headers: { ...AS_ADMIN, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: JSON.stringify({ ids: ['1'] }),
    });
    expect(gzipped.statusCode, gzipped.body).to.equal(415);
    expectErrorShape(gzipped, 'unsupported_media_type');
    // A body declared in another charset is refused as sent: it was read as UTF-8 (a 400 for é in
    // Latin-1, and ASCII went through as if the header were not there).
    const charsets = [
      ...['latin1', 'ISO-8859-1', '"utf-16"'].map((charset) => ({ charset, status: 415 })),
      ...['utf-8', 'UTF-8', '"utf-8"', 'utf8', 'us-ascii'].map((charset) => ({ charset, status: 200 })),
    ];
    for (const { charset, status } of charsets) {
      // An id that does not exist: a 200 changes nothing either (this suite checks).
      const res = await inject(f.app, {
        method: 'POST',
        url: '/v1/documents/bulk-delete',
        headers: { ...AS_ADMIN, 'content-type': `application/json; charset=${charset}` },
        payload: JSON.stringify({ ids: ['987654321'] }),
      });
      expect(res.statusCode, `${charset} ${res.body}`).to.equal(status);
      if (status === 415) expectErrorShape(res, 'unsupported_media_type');
    }
    for (const reason of ['a%00b', '%ff%fe', '%ED%A0%80', '%']) {
      const res = await inject(f.app, {
        method: 'DELETE',
        url: `/v1/documents/1?reason=${reason}`,
        headers: AS_ADMIN,
      });
      expect(res.statusCode, `${reason}: ${res.body}`).to.equal(400);
      expectErrorShape(res, 'invalid_query');
    }
    // The body's text too: bytes that are not UTF-8 were read as U+FFFD and stored.
    for (const [url, before, after] of [
      ['/v1/documents/bulk-delete', '{"ids":["1"],"reason":"a', 'b"}'],
      ['/v1/documents/bulk-delete', '{"filter":{"title":"', '"}}'],
    ] as const) {
      const res = await inject(f.app, {
        method: 'POST',
        url,
        headers: { ...AS_ADMIN, 'content-type': 'application/json' },
        payload: Buffer.concat([Buffer.from(before), Buffer.from([0xff, 0xfe]), Buffer.from(after)]),
      });
      expect(res.statusCode, `${before}<ff fe>${after}: ${res.body}`).to.equal(400);
      expectErrorShape(res, 'invalid_body');
      expect(res.json().error.message).to.match(/UTF-8/);
    }
  });

  it('answers a date that does not exist in any time filter with 400 invalid_filter, before a job is enqueued', async function () {
    this.timeout(120_000);
    const cases = fc.tuple(
      fc.constantFrom('customers', 'orders', 'order_items', 'documents'),
      fc.constantFrom('bulk-delete', 'bulk-restore'),
      fc.constantFrom('createdBefore', 'createdAfter', 'deletedBefore', 'deletedAfter'),
      impossibleDate,
    );
    await fc.assert(
      fc.asyncProperty(cases, async ([entity, op, key, date]) => {
        const res = await send('POST', `/v1/${entity}/${op}`, { filter: { [key]: date } });
        expect(res.statusCode, `${entity} ${op} ${key}=${date} -> ${res.body}`).to.equal(400);
        expectErrorShape(res, 'invalid_filter');
        expect(res.json().error.message).to.include(key);
      }),
      { numRuns: 200, seed },
    );
  });
});
