import { randomUUID } from 'node:crypto';
import { MIGRATIONS, MigrationRunner } from '../../../src/migration/index.ts';
import { buildServer } from '../../../src/api/server.ts';
import { expect } from 'chai';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import {
  AS_ADMIN,
  AS_READ,
  type ApiFixture,
  expectErrorShape,
  inject,
  startFixture,
  TOKENS,
} from './support.ts';
import { waitUntil } from '../../support/wait.ts';

type Method = 'GET' | 'POST' | 'DELETE';
interface RouteCase {
  readonly method: Method;
  readonly url: string;
  readonly body?: Record<string, unknown>;
}

const RUN = randomUUID();
const READS: RouteCase[] = [
  { method: 'GET', url: '/v1/customers' },
  { method: 'GET', url: '/v1/customers/1?scope=all' },
  { method: 'GET', url: '/v1/migrations' },
  { method: 'GET', url: `/v1/migrations/runs/${RUN}` },
  { method: 'GET', url: '/v1/queue' },
];
const MUTATIONS: RouteCase[] = [
  { method: 'DELETE', url: '/v1/documents/1' },
  { method: 'POST', url: '/v1/documents/1/restore' },
  { method: 'POST', url: '/v1/documents/bulk-delete', body: { ids: ['1'] } },
  { method: 'POST', url: '/v1/documents/bulk-restore', body: { ids: ['1'] } },
  { method: 'POST', url: '/v1/migrations/backfill-deleted-at/start', body: { dryRun: true } },
  { method: 'POST', url: `/v1/migrations/runs/${RUN}/stop` },
  { method: 'POST', url: `/v1/migrations/runs/${RUN}/resume` },
  { method: 'POST', url: `/v1/migrations/runs/${RUN}/retry-failed` },
  { method: 'POST', url: '/v1/queue/retry', body: { jobId: RUN } },
  { method: 'POST', url: `/v1/queue/jobs/${RUN}/cancel` },
];

function call(f: ApiFixture, c: RouteCase, headers: Record<string, string> = {}) {
  return inject(f.app, {
    method: c.method,
    url: c.url,
    headers,
    ...(c.body ? { payload: c.body } : {}),
  });
}

describe('HTTP API routes', () => {
  let f: ApiFixture;
  before(async () => {
    f = await startFixture();
  });
  after(async () => {
    await f?.close();
  });

  async function liveId(table: string, where = 'true'): Promise<string> {
    const { rows } = await f.db.query<{ id: string }>(
      `SELECT id FROM ${table} WHERE deleted_at IS NULL AND NOT is_deleted AND ${where} ORDER BY id LIMIT 1`,
    );
    if (!rows[0]) throw new Error(`the seed has no live ${table} row (${where})`);
    return rows[0].id;
  }

  describe('public routes', () => {
    it('answers /healthz, /readyz and /openapi.json without a token', async () => {
      const health = await inject(f.app, { method: 'GET', url: '/healthz' });
      expect(health.statusCode).to.equal(200);
      expect(health.json()).to.deep.equal({ status: 'ok' });
      const ready = await inject(f.app, { method: 'GET', url: '/readyz' });
      expect(ready.statusCode).to.equal(200);
      expect(ready.json()).to.include({ status: 'ready' });
      const doc = await inject(f.app, { method: 'GET', url: '/openapi.json' });
      expect(doc.statusCode).to.equal(200);
      expect(doc.json()).to.have.property('openapi', '3.1.0');
    });

    it('answers HEAD like GET, without a body, as load balancers probe /healthz and /readyz', async () => {
      for (const url of ['/healthz', '/readyz']) {
        const res = await inject(f.app, { method: 'HEAD', url });
        // Was 404 route_not_found.
        expect(res.statusCode, `${url} ${res.body}`).to.equal(200);
        expect(res.body).to.equal('');
      }
      const row = await inject(f.app, { method: 'HEAD', url: '/v1/documents/999999999', headers: AS_READ });
      expect(row.statusCode).to.equal(404);
    });

    it('ignores a query string on /healthz and /readyz, as a probe adds a cache-buster', async () => {
      for (const url of ['/healthz?x=1', '/readyz?nocache=1700000000']) {
        const res = await inject(f.app, { method: 'GET', url });
        // Was 400 invalid_query.
        expect(res.statusCode, `${url} ${res.body}`).to.equal(200);
      }
    });

    it('documents every route with its parameters, body and error responses', async () => {
      const doc = (await inject(f.app, { method: 'GET', url: '/openapi.json' })).json() as {
        paths: Record<string, Record<string, { responses: Record<string, unknown>; security: unknown[] }>>;
      };
      expect(Object.keys(doc.paths)).to.include.members([
        '/healthz',
        '/readyz',
        '/v1/{entity}',
        '/v1/{entity}/{id}',
        '/v1/{entity}/{id}/restore',
        '/v1/{entity}/bulk-delete',
        '/v1/{entity}/bulk-restore',
        '/v1/migrations',
        '/v1/migrations/{name}/start',
        '/v1/migrations/runs/{runId}',
        '/v1/migrations/runs/{runId}/stop',
        '/v1/migrations/runs/{runId}/resume',
        '/v1/migrations/runs/{runId}/retry-failed',
        '/v1/queue',
        '/v1/queue/jobs/{jobId}/cancel',
        '/v1/queue/retry',
        // Before: the document left itself out.
        '/openapi.json',
      ]);
      const del = doc.paths['/v1/{entity}/{id}']?.delete;
      expect(del?.responses).to.include.keys('200', '401', '403', '404');
      // Before: no route listed 500, which a trigger raising P0001 answers (docs/errors.md).
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops))
          expect(op.responses, `${method} ${path}`).to.have.property('500');
      }
      expect(del?.security).to.deep.equal([{ bearerAuth: [] }]);
      // Every 202 names where its job or run is followed.
      const accepted = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops)
          .filter(([, op]) => '202' in op.responses)
          .map(([method, op]) => [`${method} ${path}`, op.responses['202']] as const),
      );
      expect(accepted.map(([where]) => where)).to.have.length(5);
      for (const [where, response] of accepted)
        expect(response, where).to.have.nested.property('headers.Location.schema.type', 'string');
      expect(doc.paths['/healthz']?.get?.security).to.deep.equal([]);
    });

    it('takes in a start body exactly the parameters the migrations take (the schema restates them)', async () => {
      const doc = (await inject(f.app, { method: 'GET', url: '/openapi.json' })).json() as {
        paths: Record<
          string,
          Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
        >;
      };
      const body = doc.paths['/v1/migrations/{name}/start']?.post?.requestBody?.content['application/json']
        ?.schema as { properties: { params: { properties: Record<string, unknown> } } };
      const taken = new Set(MIGRATIONS.flatMap((m) => m.paramNames));
      expect(Object.keys(body.properties.params.properties).sort()).to.deep.equal([...taken].sort());
    });

    it('limits how long a whole request may take to arrive (fastify has no limit by default)', () => {
      // Measured by hand: a body stalled after 2 of 100 bytes got 408 request_timeout at 146.7 s and
      // was closed; before, it was still open after 420 s. Node checks every 30 s: no test waits that.
      expect(f.app.server.requestTimeout).to.equal(120_000);
    });

    it('answers an unknown route with 404 route_not_found in the error shape', async () => {
      const res = await inject(f.app, { method: 'GET', url: '/v2/nothing' });
      expect(res.statusCode).to.equal(404);
      expectErrorShape(res, 'route_not_found');
    });

    for (const url of ['/v1/documents/', '/v1/migrations/runs/']) {
      it(`answers GET ${url} (a trailing slash) as route_not_found, not as a malformed id`, async () => {
        const res = await inject(f.app, { method: 'GET', url, headers: AS_ADMIN });
        expect(res.statusCode, res.body).to.equal(404);
        expectErrorShape(res, 'route_not_found');
      });
    }

    it('ignores the body of a GET however it is encoded, as it ignores any other', async () => {
      const res = await inject(f.app, {
        method: 'GET',
        url: '/v1/documents?limit=1',
        headers: { ...AS_READ, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        payload: 'not gzip at all',
      });
      expect(res.statusCode, res.body).to.equal(200);
    });

    for (const c of [
      { method: 'GET', url: '/v1/migrations/runs' },
      { method: 'GET', url: '/v1/queue/retry' },
      { method: 'DELETE', url: '/v1/migrations/runs' },
      { method: 'POST', url: '/v1/queue/jobs/restore' },
    ] as const) {
      it(`answers ${c.method} ${c.url} (a fixed path no route serves) as route_not_found, not unknown_entity`, async () => {
        const res = await inject(f.app, { ...c, headers: AS_ADMIN });
        expect(res.statusCode).to.equal(404);
        expectErrorShape(res, 'route_not_found');
        expect(res.json().error.message).to.equal(`no route ${c.method} ${c.url}`);
      });
    }

    for (const c of [
      { method: 'GET', url: '/v1/documents/bulk-delete' },
      { method: 'DELETE', url: '/v1/documents/bulk-restore' },
    ] as const) {
      it(`answers ${c.method} ${c.url} (another method on a bulk route) as route_not_found, not invalid_id`, async () => {
        const res = await inject(f.app, { ...c, headers: AS_ADMIN });
        // Before: 400 invalid_id, as if "bulk-delete" were a malformed row id.
        expect(res.statusCode, res.body).to.equal(404);
        expectErrorShape(res, 'route_not_found');
      });
    }
  });

  describe('without a valid token', () => {
    it('refuses a route registered without an access level, as its OpenAPI entry says (admin-only)', async () => {
      const app = await buildServer({ db: f.db, tokens: TOKENS });
      try {
        app.get('/v1/unmarked', async () => ({ ok: true }));
        const none = await inject(app, { method: 'GET', url: '/v1/unmarked' });
        expect(none.statusCode, none.body).to.equal(401);
        const read = await inject(app, { method: 'GET', url: '/v1/unmarked', headers: AS_READ });
        expect(read.statusCode, read.body).to.equal(403);
        const admin = await inject(app, { method: 'GET', url: '/v1/unmarked', headers: AS_ADMIN });
        expect(admin.statusCode, admin.body).to.equal(200);
      } finally {
        await app.close();
      }
    });

    for (const c of [...READS, ...MUTATIONS]) {
      it(`refuses ${c.method} ${c.url} with 401 unauthorized`, async () => {
        const none = await call(f, c);
        expect(none.statusCode).to.equal(401);
        expectErrorShape(none, 'unauthorized');
        const bad = await call(f, c, { authorization: 'Bearer not-a-configured-token-at-all' });
        expect(bad.statusCode).to.equal(401);
        expectErrorShape(bad, 'unauthorized');
        expect(bad.headers['www-authenticate'], 'the scheme a client should use').to.equal(
          'Bearer realm="sdops"',
        );
      });
    }
  });

  describe('with a read token', () => {
    for (const c of READS) {
      it(`allows ${c.method} ${c.url}`, async () => {
        const res = await call(f, c, AS_READ);
        if (c.url.includes(RUN)) {
          expect(res.statusCode).to.equal(404);
          expectErrorShape(res, 'run_not_found');
        } else {
          expect(res.statusCode, res.body).to.equal(200);
        }
      });
    }
    for (const c of MUTATIONS) {
      it(`refuses ${c.method} ${c.url} with 403 forbidden`, async () => {
        const res = await call(f, c, AS_READ);
        expect(res.statusCode).to.equal(403);
        expectErrorShape(res, 'forbidden');
      });
    }
  });

  describe('with an admin token', () => {
    it('soft-deletes a customer, answers with the result and enqueues a cascade_soft_delete job for its orders', async () => {
      const id = await liveId(
        'customers',
        'id IN (SELECT customer_id FROM orders WHERE deleted_at IS NULL AND NOT is_deleted)',
      );
      const res = await inject(f.app, {
        method: 'DELETE',
        url: `/v1/customers/${id}?reason=gdpr`,
        headers: AS_ADMIN,
      });
      expect(res.statusCode, res.body).to.equal(200);
      const body = res.json() as {
        counts: { success: number };
        opId: string;
        job: { id: string; type: string };
      };
      expect(body.counts.success).to.equal(1);
      expect(body.job.type).to.equal('cascade_soft_delete');
      const { rows } = await f.db.query<{ data: { payload: Record<string, unknown> } }>(
        'SELECT data FROM pgboss.job WHERE id = $1',
        [body.job.id],
      );
      expect(rows[0]?.data.payload).to.deep.include({
        entity: 'customers',
        id,
        opId: body.opId,
        reason: 'gdpr',
      });
      const row = await inject(f.app, {
        method: 'GET',
        url: `/v1/customers/${id}?scope=deleted`,
        headers: AS_READ,
      });
      expect(row.json()).to.include({ id, delete_reason: 'gdpr' });
      const again = await inject(f.app, { method: 'DELETE', url: `/v1/customers/${id}`, headers: AS_ADMIN });
      expect(again.statusCode).to.equal(200);
      expect(again.json()).to.deep.include({ counts: { success: 0, noop: 1, failure: 0 } });
      expect(again.json()).to.not.have.property('job');
      // Was a fresh random op id on every repeat, carried by no row.
      expect(again.json()).to.not.have.property('opId');
    });

    it('deletes nothing when the cascade job cannot be enqueued: the row and its job commit together', async () => {
      const id = await liveId(
        'customers',
        'id IN (SELECT customer_id FROM orders WHERE deleted_at IS NULL AND NOT is_deleted)',
      );
      await f.db.exec(`CREATE FUNCTION refuse_cascade_probe() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'queue refused'; END $$;
        CREATE TRIGGER refuse_cascade BEFORE INSERT ON pgboss.job FOR EACH ROW
          WHEN (NEW.name = 'cleanup.cascade_soft_delete') EXECUTE FUNCTION refuse_cascade_probe();`);
      try {
        const res = await inject(f.app, { method: 'DELETE', url: `/v1/customers/${id}`, headers: AS_ADMIN });
        expect(res.statusCode, res.body).to.be.at.least(500);
        // Before: the row was deleted in a transaction of its own and its children stayed live for good.
        const row = await inject(f.app, { method: 'GET', url: `/v1/customers/${id}`, headers: AS_READ });
        expect(row.json()).to.include({ deleted_at: null });
      } finally {
        await f.db.exec(`DROP TRIGGER refuse_cascade ON pgboss.job; DROP FUNCTION refuse_cascade_probe();`);
      }
      const again = await inject(f.app, { method: 'DELETE', url: `/v1/customers/${id}`, headers: AS_ADMIN });
      expect(again.json().counts, again.body).to.include({ success: 1 });
      expect(again.json().job?.type).to.equal('cascade_soft_delete');
    });

    it('enqueues nothing when a DELETE is repeated, even once its job is gone: restored children stay restored', async () => {
      const id = await liveId(
        'customers',
        'id IN (SELECT customer_id FROM orders WHERE deleted_at IS NULL AND NOT is_deleted)',
      );
      const first = await inject(f.app, { method: 'DELETE', url: `/v1/customers/${id}`, headers: AS_ADMIN });
      // The cascade ran and the queue forgot it; someone restored the orders since.
      await f.db.query('DELETE FROM pgboss.job WHERE id = $1', [first.json().job.id]);
      const again = await inject(f.app, { method: 'DELETE', url: `/v1/customers/${id}`, headers: AS_ADMIN });
      expect(again.json()).to.deep.include({ counts: { success: 0, noop: 1, failure: 0 } });
      expect(again.json(), again.body).to.not.have.property('job');
    });

    it('does not cascade a repeated DELETE of a row a bulk delete took without its children', async () => {
      const id = await liveId(
        'customers',
        'id IN (SELECT customer_id FROM orders WHERE deleted_at IS NULL AND NOT is_deleted)',
      );
      const bulk = await inject(f.app, {
        method: 'POST',
        url: '/v1/customers/bulk-delete',
        headers: { ...AS_ADMIN, 'content-type': 'application/json' },
        payload: { ids: [id], cascade: false },
      });
      expect(bulk.json().counts, bulk.body).to.include({ success: 1 });
      const again = await inject(f.app, { method: 'DELETE', url: `/v1/customers/${id}`, headers: AS_ADMIN });
      // Before: the repair path took it for a delete whose job was lost and cascaded to the orders.
      expect(again.json(), again.body).to.not.have.property('job');
      const { rows } = await f.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM orders WHERE customer_id = $1 AND deleted_at IS NULL',
        [id],
      );
      expect(rows[0]?.n).to.be.above(0);
    });

    it('leaves a child restored on purpose alone when a row a bulk delete cascaded in the request is deleted again', async () => {
      const id = await liveId(
        'customers',
        '(SELECT count(*) FROM orders WHERE customer_id = customers.id AND deleted_at IS NULL AND NOT is_deleted) >= 2',
      );
      const bulk = await inject(f.app, {
        method: 'POST',
        url: '/v1/customers/bulk-delete',
        headers: { ...AS_ADMIN, 'content-type': 'application/json' },
        payload: { ids: [id] },
      });
      expect(bulk.json().cascaded.orders, bulk.body).to.be.at.least(2);
      const { rows } = await f.db.query<{ id: string }>(
        'SELECT id::text AS id FROM orders WHERE customer_id = $1 ORDER BY id LIMIT 1',
        [id],
      );
      const restored = await inject(f.app, {
        method: 'POST',
        url: `/v1/orders/${rows[0]?.id}/restore`,
        headers: AS_ADMIN,
      });
      expect(restored.json().counts).to.include({ success: 1 });
      const again = await inject(f.app, { method: 'DELETE', url: `/v1/customers/${id}`, headers: AS_ADMIN });
      // Before: a cascade job, which deleted the restored order again (the bulk cascade left no job).
      expect(again.json(), again.body).to.not.have.property('job');
    });

    it("answers 409 constraint_violation, naming the rule, when another team's check refuses a delete, and changes nothing", async () => {
      const id = await liveId('documents');
      await f.db.query(
        `ALTER TABLE documents ADD CONSTRAINT documents_kept_probe CHECK (deleted_at IS NULL OR id <> ${Number(id)}) NOT VALID`,
      );
      try {
        const res = await inject(f.app, { method: 'DELETE', url: `/v1/documents/${id}`, headers: AS_ADMIN });
        // Was 500 internal_error: a data rule refusing the change is the row's state, not a server fault.
        expect(res.statusCode, res.body).to.equal(409);
        expectErrorShape(res, 'constraint_violation');
        expect(res.json().error.message).to.include('documents_kept_probe');
        const row = await inject(f.app, { method: 'GET', url: `/v1/documents/${id}`, headers: AS_READ });
        expect(row.json()).to.include({ deleted_at: null });
      } finally {
        await f.db.query('ALTER TABLE documents DROP CONSTRAINT documents_kept_probe');
      }
    });

    it('takes an empty JSON body as no body: fine where the body may be left out, missing where it is needed', async () => {
      const id = await liveId('documents');
      const headers = { ...AS_ADMIN, 'content-type': 'application/json' };
      // Was 400 "Body cannot be empty when content-type is set to 'application/json'".
      const deleted = await inject(f.app, {
        method: 'DELETE',
        url: `/v1/documents/${id}`,
        headers,
        payload: '',
      });
      expect(deleted.statusCode, deleted.body).to.equal(200);
      expect(deleted.json()).to.deep.include({ counts: { success: 1, noop: 0, failure: 0 } });
      const bulk = await inject(f.app, {
        method: 'POST',
        url: '/v1/documents/bulk-delete',
        headers,
        payload: '',
      });
      expect(bulk.statusCode, bulk.body).to.equal(400);
      expectErrorShape(bulk, 'invalid_body');
    });

    it('leaves the children of a parent someone else deleted alone when a DELETE repeats it', async () => {
      const id = await liveId(
        'customers',
        'id IN (SELECT customer_id FROM orders WHERE deleted_at IS NULL AND NOT is_deleted)',
      );
      // Deleted by an operator with its children, then one child restored on purpose.
      const sd = new SoftDeleteService(f.db);
      await sd.softDelete('customers', { id }, { deletedBy: 'alice', reason: 'gdpr-request' });
      await sd.restore('orders', { filter: { customer_id: id } });
      const again = await inject(f.app, { method: 'DELETE', url: `/v1/customers/${id}`, headers: AS_ADMIN });
      expect(again.json()).to.deep.include({ counts: { success: 0, noop: 1, failure: 0 } });
      // Before: a cascade job that deleted the restored orders again, as sdops-api, under alice's op.
      expect(again.json()).to.not.have.property('job');
      expect(again.json()).to.not.have.property('opId');
    });

    it('soft-deletes a childless entity in the request, without a job, and restores it', async () => {
      const id = await liveId('documents');
      const del = await inject(f.app, {
        method: 'DELETE',
        url: `/v1/documents/${id}`,
        headers: AS_ADMIN,
        payload: { reason: 'duplicate' },
      });
      expect(del.statusCode, del.body).to.equal(200);
      expect(del.json()).to.not.have.property('job');
      const live = await inject(f.app, { method: 'GET', url: `/v1/documents/${id}`, headers: AS_READ });
      expect(live.statusCode).to.equal(404);
      expectErrorShape(live, 'not_found');
      const restored = await inject(f.app, {
        method: 'POST',
        url: `/v1/documents/${id}/restore`,
        headers: AS_ADMIN,
      });
      expect(restored.statusCode, restored.body).to.equal(200);
      expect(restored.json()).to.deep.include({ counts: { success: 1, noop: 0, failure: 0 } });
    });

    it('answers 404 not_found for a row that does not exist', async () => {
      for (const [method, url] of [
        ['DELETE', '/v1/documents/999999999'],
        ['POST', '/v1/documents/999999999/restore'],
        ['GET', '/v1/documents/999999999?scope=all'],
      ] as const) {
        const res = await inject(f.app, { method, url, headers: AS_ADMIN });
        expect(res.statusCode, `${method} ${url}: ${res.body}`).to.equal(404);
        expectErrorShape(res, 'not_found');
      }
    });

    it('bulk-deletes and bulk-restores small id lists in the request, with bounded id lists', async () => {
      const { rows } = await f.db.query<{ id: string }>(
        'SELECT id FROM order_items WHERE deleted_at IS NULL AND NOT is_deleted ORDER BY id LIMIT 3',
      );
      const ids = rows.map((r) => r.id);
      const del = await inject(f.app, {
        method: 'POST',
        url: '/v1/order_items/bulk-delete',
        headers: AS_ADMIN,
        payload: { ids, reason: 'bulk' },
      });
      expect(del.statusCode, del.body).to.equal(200);
      expect(del.json()).to.deep.include({ counts: { success: 3, noop: 0, failure: 0 } });
      // The run_id of its spans and log lines, as the CLI's --json shows it (the schema dropped it).
      expect(del.json().runId).to.match(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      const restore = await inject(f.app, {
        method: 'POST',
        url: '/v1/order_items/bulk-restore',
        headers: AS_ADMIN,
        payload: { ids },
      });
      expect(restore.statusCode, restore.body).to.equal(200);
      expect(restore.json()).to.deep.include({ counts: { success: 3, noop: 0, failure: 0 } });
      const tooMany = await inject(f.app, {
        method: 'POST',
        url: '/v1/order_items/bulk-delete',
        headers: AS_ADMIN,
        payload: { ids: Array.from({ length: 51 }, (_, i) => String(i + 1)) },
      });
      expect(tooMany.statusCode).to.equal(400);
      expectErrorShape(tooMany, 'invalid_body');
      const both = await inject(f.app, {
        method: 'POST',
        url: '/v1/order_items/bulk-delete',
        headers: AS_ADMIN,
        payload: { ids: ['1'], filter: { sku: 'x' } },
      });
      expect(both.statusCode).to.equal(400);
      expectErrorShape(both, 'invalid_target');
      const badColumn = await inject(f.app, {
        method: 'POST',
        url: '/v1/order_items/bulk-delete',
        headers: AS_ADMIN,
        payload: { filter: { not_a_column: 'x' } },
      });
      expect(badColumn.statusCode).to.equal(400);
      expectErrorShape(badColumn, 'invalid_filter');
      // 1e400 parses as Infinity: a number, malformed, as 1.5 for an id column is (was invalid_body).
      for (const value of ['1e400', '-1e400']) {
        for (const column of ['order_id', 'sku']) {
          const huge = await inject(f.app, {
            method: 'POST',
            url: '/v1/order_items/bulk-delete',
            headers: { ...AS_ADMIN, 'content-type': 'application/json' },
            payload: `{"filter":{"${column}":${value}}}`,
          });
          expect(huge.statusCode, huge.body).to.equal(400);
          expectErrorShape(huge, 'invalid_filter');
          expect(huge.json().error.message).to.equal(
            `body/filter/${column}: a number past JSON's range (it reads as ${value.startsWith('-') ? '-' : ''}Infinity)`,
          );
        }
      }
    });

    it('lists rows in keyset pages with scope', async () => {
      const first = await inject(f.app, {
        method: 'GET',
        url: '/v1/orders?limit=5&scope=all',
        headers: AS_READ,
      });
      expect(first.statusCode).to.equal(200);
      const page1 = first.json() as { rows: { id: string }[]; nextCursor?: string };
      expect(page1.rows).to.have.length(5);
      expect(page1.nextCursor).to.be.a('string');
      const second = await inject(f.app, {
        method: 'GET',
        url: `/v1/orders?limit=5&scope=all&after=${page1.nextCursor}`,
        headers: AS_READ,
      });
      const page2 = second.json() as { rows: { id: string }[] };
      expect(BigInt(page2.rows[0]?.id ?? '0') > BigInt(page1.rows[4]?.id ?? '0')).to.equal(true);
      const deleted = await inject(f.app, {
        method: 'GET',
        url: '/v1/orders?scope=deleted',
        headers: AS_READ,
      });
      // A row only the legacy flag deletes (the fixture seeds some) is deleted to reads, as it is to
      // a delete and a restore.
      const deletedRows = (deleted.json() as { rows: { deleted_at: unknown; is_deleted: boolean }[] }).rows;
      for (const r of deletedRows)
        expect(r.deleted_at !== null || r.is_deleted, JSON.stringify(r)).to.equal(true);
      expect(deletedRows.some((r) => r.deleted_at === null)).to.equal(true);
      const live = await inject(f.app, {
        method: 'GET',
        url: '/v1/orders?scope=live&limit=1000',
        headers: AS_READ,
      });
      for (const r of (live.json() as { rows: { deleted_at: unknown; is_deleted: boolean }[] }).rows)
        expect(r.deleted_at === null && !r.is_deleted, JSON.stringify(r)).to.equal(true);
      const badScope = await inject(f.app, { method: 'GET', url: '/v1/orders?scope=gone', headers: AS_READ });
      expect(badScope.statusCode).to.equal(400);
      expectErrorShape(badScope, 'invalid_scope');
    });

    it('answers for a row only the legacy flag deletes as deleted, on reads, deletes and restores alike', async () => {
      const { rows } = await f.db.query<{ id: string }>(
        'SELECT id::text FROM documents WHERE is_deleted AND deleted_at IS NULL ORDER BY id LIMIT 1',
      );
      const id = rows[0]?.id as string;
      const get = (scope: string) =>
        inject(f.app, { method: 'GET', url: `/v1/documents/${id}?scope=${scope}`, headers: AS_READ });
      expect((await get('live')).statusCode).to.equal(404);
      expect((await get('deleted')).statusCode).to.equal(200);
      const del = await inject(f.app, { method: 'DELETE', url: `/v1/documents/${id}`, headers: AS_ADMIN });
      expect(del.json().counts, del.body).to.deep.include({ success: 0, noop: 1 });
      const restore = await inject(f.app, {
        method: 'POST',
        url: `/v1/documents/${id}/restore`,
        headers: AS_ADMIN,
      });
      expect(restore.json().counts, restore.body).to.deep.include({ success: 1 });
      expect((await get('live')).json()).to.deep.include({ is_deleted: false, deleted_at: null });
    });

    it('starts a migration run, reports its status and refuses actions its state does not allow', async () => {
      const start = await inject(f.app, {
        method: 'POST',
        url: '/v1/migrations/backfill-deleted-at/start',
        headers: AS_ADMIN,
        payload: { dryRun: true, batchSize: 10 },
      });
      expect(start.statusCode, start.body).to.equal(202);
      const runId = (start.json() as { run: { runId: string } }).run.runId;
      expect(start.headers.location, 'where the run is followed').to.equal(`/v1/migrations/runs/${runId}`);
      let state = '';
      await waitUntil(
        `run ${runId} to succeed`,
        async () => {
          const status = await inject(f.app, {
            method: 'GET',
            url: `/v1/migrations/runs/${runId}`,
            headers: AS_READ,
          });
          expect(status.statusCode).to.equal(200);
          state = (status.json() as { run: { state: string } }).run.state;
          return state === 'succeeded';
        },
        { timeoutMs: 10_000 },
      );
      expect(state).to.equal('succeeded');
      const list = await inject(f.app, { method: 'GET', url: '/v1/migrations', headers: AS_READ });
      expect((list.json() as { runs: { runId: string }[] }).runs.map((r) => r.runId)).to.include(runId);
      for (const action of ['stop', 'resume', 'retry-failed']) {
        const res = await inject(f.app, {
          method: 'POST',
          url: `/v1/migrations/runs/${runId}/${action}`,
          headers: AS_ADMIN,
        });
        expect(res.statusCode, `${action}: ${res.body}`).to.equal(409);
        expectErrorShape(res, 'run_state_conflict');
        // A field an action does not take is refused, not ignored (resume takes the CLI's
        // --batch-size and --max-rows-per-second, nothing else).
        const withFields = await inject(f.app, {
          method: 'POST',
          url: `/v1/migrations/runs/${runId}/${action}`,
          headers: AS_ADMIN,
          payload: action === 'resume' ? { dryRun: false } : { batchSize: 10 },
        });
        expect(withFields.statusCode, `${action}: ${withFields.body}`).to.equal(400);
        expectErrorShape(withFields, 'invalid_body');
      }
      // The codes the CLI and docs/errors.md give these mistakes (once invalid_params / invalid_body).
      for (const [method, url, status, code] of [
        ['POST', '/v1/migrations/no-such-migration/start', 404, 'unknown_migration'],
        ['GET', '/v1/migrations/runs/xyz', 400, 'invalid_run_id'],
        ['POST', '/v1/migrations/runs/xyz/stop', 400, 'invalid_run_id'],
      ] as const) {
        const res = await inject(f.app, { method, url, headers: AS_ADMIN });
        expect(res.statusCode, `${method} ${url}: ${res.body}`).to.equal(status);
        expectErrorShape(res, code);
      }
      // A migration parameter the CLI refuses as invalid_migration_param: the same code here (was
      // invalid_body for an unknown entity; a value of the wrong JSON type stays invalid_body).
      for (const entities of [['no_such_entity'], []]) {
        const res = await inject(f.app, {
          method: 'POST',
          url: '/v1/migrations/backfill-deleted-at/start',
          headers: AS_ADMIN,
          payload: { params: { entities } },
        });
        expect(res.statusCode, res.body).to.equal(400);
        expectErrorShape(res, 'invalid_migration_param');
      }
      // Before: "params/name must be equal to one of the allowed values", naming none of them.
      const unknown = await inject(f.app, {
        method: 'POST',
        url: '/v1/migrations/no-such-migration/start',
        headers: AS_ADMIN,
      });
      expect(unknown.json().error.message).to.equal(
        `params/name must be one of ${MIGRATIONS.map((m) => JSON.stringify(m.name)).join(', ')}`,
      );
    });

    it('resumes a stopped run with a new batch size and no throttle, as `migrate resume` does', async () => {
      const runner = new MigrationRunner(f.db);
      const handle = await runner.start('backfill-deleted-at', {
        dryRun: true,
        batchSize: 1,
        maxRowsPerSecond: 5,
      });
      const stop = await inject(f.app, {
        method: 'POST',
        url: `/v1/migrations/runs/${handle.runId}/stop`,
        headers: AS_ADMIN,
      });
      expect(stop.statusCode, stop.body).to.equal(200);
      await handle.done;
      // A second stop finds the run stopped: its goal is met (was 409 run_state_conflict).
      const again = await inject(f.app, {
        method: 'POST',
        url: `/v1/migrations/runs/${handle.runId}/stop`,
        headers: AS_ADMIN,
      });
      expect(again.statusCode, again.body).to.equal(200);
      expect(again.json().run.state).to.equal('stopped');
      const resume = await inject(f.app, {
        method: 'POST',
        url: `/v1/migrations/runs/${handle.runId}/resume`,
        headers: AS_ADMIN,
        payload: { batchSize: 500, maxRowsPerSecond: null },
      });
      expect(resume.statusCode, resume.body).to.equal(202);
      const run = await waitUntil(`run ${handle.runId} to succeed`, async () => {
        const r = await runner.get(handle.runId);
        return r.state === 'succeeded' ? r : undefined;
      });
      expect(run).to.include({ batchSize: 500, maxRowsPerSecond: null });
      const bad = await inject(f.app, {
        method: 'POST',
        url: `/v1/migrations/runs/${handle.runId}/resume`,
        headers: AS_ADMIN,
        payload: { batchSize: 0 },
      });
      expect(bad.statusCode, bad.body).to.equal(400);
      expectErrorShape(bad, 'invalid_batch_size');
    });

    it('shows queue status per job type and answers 404 when retrying an unknown job', async () => {
      const status = await inject(f.app, { method: 'GET', url: '/v1/queue', headers: AS_ADMIN });
      expect(status.statusCode).to.equal(200);
      const types = (status.json() as { jobTypes: { jobType: string; waiting: number }[] }).jobTypes;
      expect(types.find((t) => t.jobType === 'cascade_soft_delete')?.waiting).to.be.at.least(1);
      const retry = await inject(f.app, {
        method: 'POST',
        url: '/v1/queue/retry',
        headers: AS_ADMIN,
        payload: { jobId: randomUUID() },
      });
      expect(retry.statusCode).to.equal(404);
      expectErrorShape(retry, 'job_not_found');
      const malformed = await inject(f.app, {
        method: 'POST',
        url: '/v1/queue/retry',
        headers: AS_ADMIN,
        payload: { jobId: 'x' },
      });
      expect(malformed.statusCode, malformed.body).to.equal(400);
      expectErrorShape(malformed, 'invalid_job_id');
      // The core's codes for the same mistakes the CLI makes with its flags.
      for (const [method, url, payload, code] of [
        ['GET', '/v1/customers?limit=0', undefined, 'invalid_limit'],
        ['GET', '/v1/customers?scope=x', undefined, 'invalid_scope'],
        ['GET', '/v1/customers?after=x', undefined, 'invalid_id'],
        ['GET', '/v1/migrations?limit=0', undefined, 'invalid_limit'],
        ['POST', '/v1/migrations/backfill-deleted-at/start', { batchSize: 0 }, 'invalid_batch_size'],
        // A fraction is a malformed batch size, as the CLI says of --batch-size 1.5 (was invalid_body).
        ['POST', '/v1/migrations/backfill-deleted-at/start', { batchSize: 1.5 }, 'invalid_batch_size'],
        [
          'POST',
          '/v1/migrations/archive-soft-deleted/start',
          { params: { olderThanDays: '3' } },
          'invalid_body',
        ],
        ['POST', '/v1/migrations/backfill-deleted-at/start', { batchSize: '10' }, 'invalid_body'],
        // An id in a list is an id: was invalid_body, while the same id in the path is invalid_id.
        ['POST', '/v1/customers/bulk-delete', { ids: ['5', '01'] }, 'invalid_id'],
        ['POST', '/v1/customers/bulk-restore', { ids: ['0'] }, 'invalid_id'],
        [
          'POST',
          '/v1/migrations/archive-soft-deleted/start',
          { params: { olderThanDays: -1 } },
          'invalid_older_than_days',
        ],
      ] as const) {
        const res = await inject(f.app, {
          method,
          url,
          headers: AS_ADMIN,
          ...(payload ? { payload } : {}),
        });
        expect(res.statusCode, `${method} ${url}: ${res.body}`).to.equal(400);
        expectErrorShape(res, code);
      }
      const dead = await inject(f.app, {
        method: 'POST',
        url: '/v1/queue/retry',
        headers: AS_ADMIN,
        payload: { dead: true },
      });
      expect(dead.statusCode, dead.body).to.equal(200);
      expect(dead.json()).to.deep.equal({ retried: 0, skipped: [] });
    });
  });
});
