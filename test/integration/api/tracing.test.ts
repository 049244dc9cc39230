import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { expect } from 'chai';
import { CleanupWorker, builtinHandlers } from '../../../src/cleanup/index.ts';
import { SoftDeleteService } from '../../../src/soft-delete/index.ts';
import {
  type InMemoryTelemetry,
  startInMemoryTelemetry,
  uncataloguedAttributes,
} from '../../unit/observability/harness.ts';
import { buildServer } from '../../../src/api/server.ts';
import { databaseError, openDatabase } from '../../../src/db/index.ts';
import { ALL_CONNECTIONS_BUSY } from '../../../src/db/errors.ts';
import {
  ADMIN_TOKEN,
  AS_ADMIN,
  AS_READ,
  type ApiFixture,
  inject,
  refusingDatabase,
  startFixture,
  TOKENS,
} from './support.ts';
import { waitUntil } from '../../support/wait.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('HTTP API telemetry', () => {
  let t: InMemoryTelemetry;
  let f: ApiFixture;
  const savedLevel = process.env.LOG_LEVEL;
  before(async () => {
    // The access-log assertions need info lines, whatever LOG_LEVEL the suite runs with.
    delete process.env.LOG_LEVEL;
    // Telemetry first: the API resolves the global tracer and meter per request.
    t = await startInMemoryTelemetry();
    f = await startFixture(30);
  });
  after(async () => {
    await f?.close();
    await t?.telemetry.shutdown();
    if (savedLevel !== undefined) process.env.LOG_LEVEL = savedLevel;
  });

  it('keeps a token the client put in the URL out of the access line and the span', async () => {
    const encoded = [...ADMIN_TOKEN].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    for (const url of [
      `/v1/${ADMIN_TOKEN}/1?x=1`,
      // Any of its characters percent-encoded, as clients encode such characters (a re-check probe).
      `/v1/${encoded}/1`,
      `/v1/${ADMIN_TOKEN.slice(0, -1)}%${ADMIN_TOKEN.charCodeAt(ADMIN_TOKEN.length - 1)
        .toString(16)
        .toUpperCase()}/1`,
    ]) {
      const res = await inject(f.app, { method: 'GET', url });
      expect(res.statusCode, res.body).to.be.within(400, 499);
    }
    await t.telemetry.forceFlush();
    const spans = (await t.spans()).filter((s) => String(s.attributes['url.path']).startsWith('/v1/'));
    const paths = [
      ...spans.map((s) => String(s.attributes['url.path'])),
      ...(await t.consoleRecords()).filter((r) => r.message === 'request').map((r) => String(r.path)),
    ];
    // Before: "/v1/admin-token-0123456789abcdef/1" on both (an API probe found it in Loki and Tempo).
    expect(paths.filter((p) => p === '/v1/[REDACTED]/1')).to.have.lengthOf(6);
    expect(paths.join(' ')).to.not.include(ADMIN_TOKEN);
    expect(paths.join(' ')).to.not.include(encoded);
    expect(paths.join(' ').toLowerCase()).to.not.include(ADMIN_TOKEN.slice(0, -1).toLowerCase());
  });

  it('continues the caller trace: a server span named by route template, core spans beneath, and a cascade job that links back', async function () {
    this.timeout(30_000);
    const { rows } = await f.db.query<{ id: string }>(
      `SELECT c.id FROM customers c WHERE c.deleted_at IS NULL AND NOT c.is_deleted
          AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.deleted_at IS NULL) ORDER BY c.id LIMIT 1`,
    );
    const id = rows[0]?.id;
    if (!id) throw new Error('the seed has no live customer with live orders');
    const res = await inject(f.app, {
      method: 'DELETE',
      url: `/v1/customers/${id}`,
      headers: { ...AS_ADMIN, traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
    });
    expect(res.statusCode, res.body).to.equal(200);
    const jobId = (res.json() as { job: { id: string } }).job.id;

    const spans = await t.spans();
    const server = spans.find((s) => s.name === 'DELETE /v1/:entity/:id');
    expect(server, spans.map((s) => s.name).join(', ')).to.not.equal(undefined);
    if (!server) return;
    expect(server.spanContext().traceId).to.equal(TRACE_ID);
    expect(server.parentSpanContext?.spanId).to.equal(CALLER_SPAN);
    expect(server.kind).to.equal(1); // SpanKind.SERVER
    expect(server.attributes).to.include({
      'http.request.method': 'DELETE',
      'http.route': '/v1/:entity/:id',
      'http.response.status_code': 200,
      'url.path': `/v1/customers/${id}`,
    });
    // client.address, url.scheme ... were set but missing from the catalog.
    expect(uncataloguedAttributes(spans.filter((s) => s.spanContext().traceId === TRACE_ID))).to.deep.equal(
      [],
    );
    // Whatever the core and the database layer trace during the request hangs under the server span.
    const ids = new Set([server.spanContext().spanId]);
    for (const s of spans.filter((x) => x.spanContext().traceId === TRACE_ID && x !== server)) {
      expect(
        ids.has(s.parentSpanContext?.spanId ?? '') || s.parentSpanContext?.spanId !== CALLER_SPAN,
        s.name,
      ).to.equal(true);
      ids.add(s.spanContext().spanId);
    }

    // The access line names the job it enqueued (before: only method, route, path and the operation).
    await t.telemetry.forceFlush();
    const access = (await t.consoleRecords()).find((r) => r.trace_id === TRACE_ID && r.message === 'request');
    expect(access).to.include({ job_id: jobId, job_type: 'cascade_soft_delete' });

    const job = await f.db.query<{ data: { meta: { trace?: { traceparent: string } } } }>(
      'SELECT data FROM pgboss.job WHERE id = $1',
      [jobId],
    );
    // Enqueued inside the delete's transaction, so under the core's span for that delete.
    const core = spans.find((s) => s.name === 'soft_delete.delete');
    expect(core?.parentSpanContext?.spanId, 'the core span hangs under the server span').to.equal(
      server.spanContext().spanId,
    );
    expect(job.rows[0]?.data.meta.trace?.traceparent).to.equal(
      `00-${TRACE_ID}-${core?.spanContext().spanId}-01`,
    );

    // The worker's span for that job is a new trace linked to the request's trace.
    const worker = new CleanupWorker(
      f.queue,
      builtinHandlers(new SoftDeleteService(f.db), {
        archiveAfterDays: 30,
        batchSize: 100,
        maxRowsPerJob: 1000,
      }),
      {
        concurrency: 1,
        jobTypes: ['cascade_soft_delete'],
        pollIntervalMs: 100,
        shutdownTimeoutMs: 5000,
      },
    );
    worker.start();
    try {
      const jobSpan = await waitUntil(
        'the worker to run the cascade job',
        async () =>
          (await t.spans()).find((s) => s.name === 'cleanup.job' && s.attributes['job.id'] === jobId),
        { timeoutMs: 20_000, intervalMs: 100 },
      );
      expect(jobSpan, 'the worker never ran the cascade job').to.not.equal(undefined);
      expect(jobSpan?.spanContext().traceId).to.not.equal(TRACE_ID);
      expect(jobSpan?.links.map((l) => l.context.spanId)).to.include(core?.spanContext().spanId);
      expect(jobSpan?.links.map((l) => l.context.traceId)).to.include(TRACE_ID);
    } finally {
      await worker.stop();
    }
  });

  it('writes one access log line per request with route, status, duration and trace ids, and never the token', async () => {
    const before = t.console.lines.length;
    const res = await inject(f.app, {
      method: 'GET',
      url: '/v1/orders?limit=1',
      headers: { ...AS_ADMIN, traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
    });
    expect(res.statusCode).to.equal(200);
    await t.telemetry.forceFlush();
    const lines = t.console.lines.slice(before);
    const access = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.message === 'request');
    expect(access).to.have.length(1);
    expect(access[0]).to.include({
      method: 'GET',
      route: '/v1/:entity',
      status_code: 200,
      trace_id: TRACE_ID,
    });
    expect(access[0]?.duration).to.be.a('number');
    expect(lines.join('\n')).to.not.include(AS_ADMIN.authorization.slice('Bearer '.length));
  });

  it('writes one canonical line for a request that soft-deletes: the access line with the operation fields, no core line', async () => {
    const { rows } = await f.db.query<{ id: string }>(
      'SELECT id FROM documents WHERE deleted_at IS NULL ORDER BY id LIMIT 1',
    );
    const id = rows[0]?.id;
    if (!id) throw new Error('the seed has no live document');
    const traceId = '5cf92f3577b34da6a3ce929d0e0e4737';
    const res = await inject(f.app, {
      method: 'DELETE',
      url: `/v1/documents/${id}`,
      headers: { ...AS_ADMIN, traceparent: `00-${traceId}-${CALLER_SPAN}-01` },
    });
    expect(res.statusCode, res.body).to.equal(200);
    await t.telemetry.forceFlush();
    const records = (await t.consoleRecords()).filter((r) => r.trace_id === traceId);
    expect(records.map((r) => r.message)).to.deep.equal(['request']);
    expect(records[0]).to.include({
      method: 'DELETE',
      route: '/v1/:entity/:id',
      status_code: 200,
      entity: 'documents',
      operation: 'delete',
      count: 1,
      status: 'success',
    });
    expect(records[0]?.duration).to.be.a('number');
    const otlp = (await t.logs()).filter((r) => r.spanContext?.traceId === traceId);
    expect(otlp.map((r) => r.body)).to.deep.equal(['request']);
  });

  it("links a migration session started over the API to its request, names the run on the access line and answers with the session's trace", async function () {
    this.timeout(30_000);
    const traceId = '7ef92f3577b34da6a3ce929d0e0e4739';
    const res = await inject(f.app, {
      method: 'POST',
      url: '/v1/migrations/backfill-deleted-at/start',
      headers: { ...AS_ADMIN, traceparent: `00-${traceId}-${CALLER_SPAN}-01` },
      payload: { dryRun: true, batchSize: 10 },
    });
    expect(res.statusCode, res.body).to.equal(202);
    const run = (res.json() as { run: { runId: string; traceId: string | null } }).run;
    const session = await waitUntil('the session span', async () =>
      (await t.spans()).find((s) => s.name === 'migration.run' && s.attributes.run_id === run.runId),
    );
    const server = (await t.spans()).find(
      (s) => s.name === 'POST /v1/migrations/:name/start' && s.spanContext().traceId === traceId,
    );
    // Before: traceId null in the 202, and no way from the request to the run or back.
    expect(run.traceId).to.equal(session?.spanContext().traceId);
    expect(session?.spanContext().traceId).to.not.equal(traceId);
    expect(session?.links.map((l) => l.context.spanId)).to.deep.equal([server?.spanContext().spanId]);
    // The gateway's started-a-migration-run rule keeps the request by this span of its own trace.
    const insert = (await t.spans()).find(
      (s) => s.spanContext().traceId === traceId && s.name === 'INSERT sdops_migration_runs',
    );
    expect(insert?.kind).to.equal(2); // SpanKind.CLIENT
    expect(insert?.attributes).to.include({
      'db.operation.name': 'INSERT',
      'db.collection.name': 'sdops_migration_runs',
    });
    const access = (await t.consoleRecords()).filter((r) => r.trace_id === traceId);
    expect(access.map((r) => [r.message, r.run_id])).to.deep.equal([['request', run.runId]]);
    // The session's own lines stay its own: none joined the request's line or trace.
    const own = (await t.consoleRecords()).filter((r) => r.run_id === run.runId && r.trace_id !== traceId);
    expect(own.map((r) => r.message)).to.include('migration ended');
  });

  it('names the run on the access line of a request that reads or stops it, answered or refused', async function () {
    this.timeout(30_000);
    const started = await inject(f.app, {
      method: 'POST',
      url: '/v1/migrations/backfill-deleted-at/start',
      headers: AS_ADMIN,
      payload: { dryRun: true, batchSize: 10 },
    });
    const { runId } = (started.json() as { run: { runId: string } }).run;
    const asked = [
      { method: 'GET', url: `/v1/migrations/runs/${runId}`, traceId: '7ef92f3577b34da6a3ce929d0e0e4741' },
      {
        method: 'POST',
        url: `/v1/migrations/runs/${runId}/stop`,
        traceId: '7ef92f3577b34da6a3ce929d0e0e4742',
      },
      // A dry run that ended has no failed batches to retry: refused, and named all the same.
      {
        method: 'POST',
        url: `/v1/migrations/runs/${runId}/retry-failed`,
        traceId: '7ef92f3577b34da6a3ce929d0e0e4743',
      },
    ] as const;
    for (const { method, url, traceId } of asked) {
      const res = await inject(f.app, {
        method,
        url,
        headers: { ...AS_ADMIN, traceparent: `00-${traceId}-${CALLER_SPAN}-01` },
      });
      // A stop may find the dry run ended already (409): the line names the run either way.
      expect(res.statusCode, res.body).to.be.oneOf([200, 409]);
      const access = await waitUntil(`the access line of ${method} ${url}`, async () =>
        (await t.consoleRecords()).find((r) => r.trace_id === traceId && r.message === 'request'),
      );
      expect(access.run_id, `${method} ${url}`).to.equal(runId);
    }
  });

  it("names the answer's error code on the access line of a refused request, as an info line without an error", async () => {
    const cases = [
      { method: 'DELETE', url: '/v1/documents/abc', headers: AS_ADMIN, code: 'invalid_id' },
      { method: 'DELETE', url: '/v1/documents/1', headers: {}, code: 'unauthorized' },
      { method: 'DELETE', url: '/v1/documents/1', headers: AS_READ, code: 'forbidden' },
      { method: 'DELETE', url: '/v1/nothing/1', headers: AS_ADMIN, code: 'unknown_entity' },
      { method: 'DELETE', url: '/v1/documents/999999999', headers: AS_ADMIN, code: 'not_found' },
    ] as const;
    for (const [i, c] of cases.entries()) {
      const traceId = `8af92f3577b34da6a3ce929d0e0e47${String(40 + i)}`;
      const res = await inject(f.app, {
        method: c.method,
        url: c.url,
        headers: { ...c.headers, traceparent: `00-${traceId}-${CALLER_SPAN}-01` },
      });
      expect((res.json() as { error: { code: string } }).error.code, res.body).to.equal(c.code);
      await t.telemetry.forceFlush();
      const records = (await t.consoleRecords()).filter((r) => r.trace_id === traceId);
      // Before: the line said status_code 400 for every refusal, whichever code the client got.
      expect(records.map((r) => [r.message, r.level, r.error_code])).to.deep.equal([
        ['request', 'info', c.code],
      ]);
      expect(records[0]).to.not.have.property('error');
      const otlp = (await t.logs()).filter((r) => r.spanContext?.traceId === traceId);
      expect(otlp.map((r) => r.attributes.error_code)).to.deep.equal([c.code]);
    }
  });

  it('writes one line for a request that fails with a 5xx: the access line, a warning with the error', async () => {
    // The database answers but refuses everything: the list fails inside the handler.
    const refused = Object.assign(new Error('permission denied for table orders'), { code: '42501' });
    const app = await buildServer({ db: refusingDatabase(refused), tokens: TOKENS });
    try {
      const traceId = '6df92f3577b34da6a3ce929d0e0e4738';
      const res = await inject(app, {
        method: 'GET',
        url: '/v1/orders',
        headers: { ...AS_ADMIN, traceparent: `00-${traceId}-${CALLER_SPAN}-01` },
      });
      expect(res.statusCode, res.body).to.be.at.least(500);
      await t.telemetry.forceFlush();
      // Before: the access line and a second line, "request failed" at error level.
      const records = (await t.consoleRecords()).filter((r) => r.trace_id === traceId);
      expect(records.map((r) => [r.message, r.level])).to.deep.equal([['request', 'warn']]);
      expect(records[0]).to.include({
        route: '/v1/:entity',
        status_code: res.statusCode,
        error_code: 'internal_error',
      });
      expect(records[0]?.error).to.include({ message: 'permission denied for table orders', code: '42501' });
    } finally {
      await app.close();
    }
  });

  it('warns once for a run of requests answered 503 because the database is unreachable, the others are info lines with the error', async () => {
    const db = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/gone', poolSize: 1 });
    const app = await buildServer({ db, tokens: TOKENS });
    try {
      const traceIds = [
        '6df92f3577b34da6a3ce929d0e0e4731',
        '6df92f3577b34da6a3ce929d0e0e4732',
        '6df92f3577b34da6a3ce929d0e0e4733',
      ];
      for (const traceId of traceIds) {
        const res = await inject(app, {
          method: 'GET',
          url: '/v1/orders',
          headers: { ...AS_READ, traceparent: `00-${traceId}-${CALLER_SPAN}-01` },
        });
        expect(res.statusCode, res.body).to.equal(503);
      }
      await t.telemetry.forceFlush();
      const records = (await t.consoleRecords()).filter((r) => traceIds.includes(String(r.trace_id)));
      // Before: a warning per request (1,593 in a 15 s database restart under load).
      expect(records.map((r) => r.level)).to.deep.equal(['warn', 'info', 'info']);
      for (const r of records) expect(r.error).to.include({ code: 'database_unavailable' });
    } finally {
      await app.close();
      await db.close();
    }
  });

  /** The fixture's database, its statements failing with what `failure` gives while it gives one. */
  /** This process's connections all busy (row locks): the database itself answers. */
  const allBusy = () =>
    databaseError(
      Object.assign(new Error('all 4 connections of this process stayed busy for 5 s'), {
        code: 'ETIMEDOUT',
        [ALL_CONNECTIONS_BUSY]: true,
      }),
    );
  /** A database refusing connections, as the driver's error says it. */
  const refused = () =>
    databaseError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
  const failingWhile = (failure: () => unknown) =>
    new Proxy(f.db, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        if (prop !== 'query' && prop !== 'transaction') return value.bind(target);
        return (...args: unknown[]) => {
          const error = failure();
          return error === undefined ? value.apply(target, args) : Promise.reject(error);
        };
      },
    });

  it('writes no "reachable again" line after 503s of its own busy connections: the database answered', async () => {
    let busy = true;
    // What postgres.ts rejects a checkout with when every connection stayed busy (row locks).
    const db = failingWhile(() => (busy ? allBusy() : undefined));
    const app = await buildServer({ db, tokens: TOKENS });
    try {
      const get = () => inject(app, { method: 'GET', url: '/v1/orders?limit=1', headers: AS_READ });
      expect((await get()).statusCode).to.equal(503);
      // Nor the readiness probes' 503s of the same busy connections (a re-check probe: a line
      // "reachable again" after row locks, with /readyz probed every second).
      expect((await inject(app, { method: 'GET', url: '/readyz' })).statusCode).to.equal(503);
      busy = false;
      expect((await inject(app, { method: 'GET', url: '/readyz' })).statusCode).to.equal(200);
      expect((await get()).statusCode).to.equal(200);
      await t.telemetry.forceFlush();
      const lines = (await t.consoleRecords()).filter(
        (r) => r.message === 'database reachable again; the API answers',
      );
      // Before: "database reachable again" with the time since the first busy 503, though the
      // database never went away (an API probe: durations of 42 and 5 s after a locked row).
      expect(lines).to.have.lengthOf(0);
    } finally {
      await app.close();
    }
  });

  it('says once when the database answers again after 503s of an outage, with how long they went on', async () => {
    let down = true;
    const db = failingWhile(() => (down ? refused() : undefined));
    const app = await buildServer({ db, tokens: TOKENS });
    try {
      const get = () => inject(app, { method: 'GET', url: '/v1/orders?limit=1', headers: AS_READ });
      expect((await get()).statusCode).to.equal(503);
      expect((await get()).statusCode).to.equal(503);
      expect((await inject(app, { method: 'GET', url: '/healthz' })).statusCode).to.equal(200);
      down = false;
      expect((await get()).statusCode).to.equal(200);
      expect((await get()).statusCode).to.equal(200);
      await t.telemetry.forceFlush();
      const lines = (await t.consoleRecords()).filter(
        (r) => r.message === 'database reachable again; the API answers',
      );
      // Before: no line; only the access lines turning back to 200 showed when the outage ended.
      expect(
        lines,
        'one line, after the first answer from the database, not after /healthz',
      ).to.have.lengthOf(1);
      expect(lines[0]?.level).to.equal('info');
      expect(lines[0]?.duration).to.be.a('number').and.to.be.greaterThan(0);
    } finally {
      await app.close();
    }
  });

  it('opens and ends an outage that only readiness probes saw, counted from the first probe answered 503', async () => {
    let down = true;
    const db = failingWhile(() => (down ? refused() : undefined));
    const app = await buildServer({ db, tokens: TOKENS });
    await t.telemetry.forceFlush();
    const before = t.console.lines.length;
    try {
      const probe = () => inject(app, { method: 'GET', url: '/readyz' });
      expect((await probe()).statusCode).to.equal(503);
      const firstProbe = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await probe()).statusCode).to.equal(503);
      down = false;
      expect((await probe()).statusCode).to.equal(200);
      const since = (performance.now() - firstProbe) / 1000;
      await t.telemetry.forceFlush();
      const lines = t.console.lines
        .slice(before)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((r) => r.message === 'database reachable again; the API answers');
      // Before: no line at all (a runbook probe: compose's probe every 10 s, no client traffic).
      expect(lines).to.have.lengthOf(1);
      expect(lines[0]?.duration)
        .to.be.a('number')
        .and.to.be.at.least(0.2)
        .and.at.most(since + 0.1);
    } finally {
      await app.close();
    }
  });

  it('counts an outage that began as busy connections (a frozen database) from its first 503', async () => {
    const reachable = async () =>
      (await t.consoleRecords()).filter((r) => r.message === 'database reachable again; the API answers');
    const before = (await reachable()).length;
    let failure: (() => unknown) | undefined = allBusy;
    const app = await buildServer({ db: failingWhile(() => failure?.()), tokens: TOKENS });
    try {
      const get = () => inject(app, { method: 'GET', url: '/v1/orders?limit=1', headers: AS_READ });
      const first = performance.now();
      expect((await get()).statusCode).to.equal(503);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The stall watch closed the frozen connections: now the database reads unreachable.
      failure = refused;
      expect((await get()).statusCode).to.equal(503);
      failure = undefined;
      expect((await get()).statusCode).to.equal(200);
      const elapsed = (performance.now() - first) / 1000;
      await t.telemetry.forceFlush();
      const lines = (await reachable()).slice(before);
      expect(lines).to.have.lengthOf(1);
      // Counted from the first (busy) 503, not from the first unreachable one (a probe: 8.7 s for a
      // 25 s freeze, and no line at all after its "busy" first part was left out).
      expect(lines[0]?.duration).to.be.at.least(0.3).and.at.most(elapsed);
    } finally {
      await app.close();
    }
  });

  it('names no route for a path under a fixed word that no route serves, as for any 404 of the router', async () => {
    const traceId = '7df92f3577b34da6a3ce929d0e0e4739';
    const res = await inject(f.app, {
      method: 'GET',
      url: '/v1/migrations/runs',
      headers: { ...AS_ADMIN, traceparent: `00-${traceId}-${CALLER_SPAN}-01` },
    });
    expect(res.statusCode).to.equal(404);
    await t.telemetry.forceFlush();
    const line = (await t.consoleRecords()).find((r) => r.trace_id === traceId);
    // Before: route "/v1/:entity/:id", counted with the real row-not-found 404s of that route.
    expect(line).to.include({ status_code: 404, path: '/v1/migrations/runs' });
    // Absent, as over OTLP (the console wrote null).
    expect(line).to.not.have.property('route');
    const span = (await t.spans()).find((x) => x.spanContext().traceId === traceId && x.kind === 1);
    expect(span?.name).to.equal('GET');
    expect(span?.attributes).to.not.have.property('http.route');
  });

  it('writes the access line, span and metric point of a request refused before routing (a malformed path, a parameter over its limit)', async () => {
    const cases = [
      { url: '/v1/documents/%zz', status: 400, code: 'invalid_params' },
      { url: `/v1/documents/${'9'.repeat(120)}`, status: 414, code: 'uri_too_long' },
    ] as const;
    for (const [i, c] of cases.entries()) {
      const traceId = `6cf92f3577b34da6a3ce929d0e0e47${String(50 + i)}`;
      const res = await inject(f.app, {
        method: 'DELETE',
        url: c.url,
        headers: { ...AS_ADMIN, traceparent: `00-${traceId}-${CALLER_SPAN}-01` },
      });
      expect([res.statusCode, (res.json() as { error: { code: string } }).error.code]).to.deep.equal([
        c.status,
        c.code,
      ]);
      await t.telemetry.forceFlush();
      // Before: no line, span or point at all; a fuzzer's requests left no trace an operator could see.
      const lines = (await t.consoleRecords()).filter((r) => r.trace_id === traceId);
      expect(lines.map((r) => [r.message, r.status_code, r.error_code, r.path])).to.deep.equal([
        ['request', c.status, c.code, c.url],
      ]);
      expect(lines[0]).to.not.have.property('route');
      const span = (await t.spans()).find((x) => x.spanContext().traceId === traceId && x.kind === 1);
      expect(span?.name).to.equal('DELETE');
      expect(span?.attributes['http.response.status_code']).to.equal(c.status);
    }
    const points = ((await t.metrics()).get('http.server.request.duration')?.dataPoints ?? []) as {
      attributes: Record<string, unknown>;
    }[];
    const refused = points.filter(
      (p) => p.attributes['http.request.method'] === 'DELETE' && p.attributes['http.route'] === undefined,
    );
    expect(refused.map((p) => p.attributes['http.response.status_code']).sort()).to.include.members([
      400, 414,
    ]);
  });

  it("writes a body that did not arrive in time as the 408 request_timeout the client got, not as its route's invalid_body", async () => {
    const traceId = '6cf92f3577b34da6a3ce929d0e0e4790';
    await f.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = f.app.server.address() as { port: number };
    const serverSocket = new Promise<Duplex>((resolve) =>
      f.app.server.once('request', (r) => resolve(r.socket)),
    );
    const client = connect(port, '127.0.0.1');
    let answer = '';
    client.on('data', (d: Buffer) => {
      answer += d.toString('utf8');
    });
    const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
    client.on('error', () => undefined);
    client.write(
      `POST /v1/documents/bulk-delete HTTP/1.1\r\nHost: x\r\nAuthorization: ${AS_ADMIN.authorization}\r\n` +
        `traceparent: 00-${traceId}-${CALLER_SPAN}-01\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"`,
    );
    // What Node's request timeout does to a request whose body stalls (every 30 s it checks, after
    // 2 minutes it fires): a clientError with ERR_HTTP_REQUEST_TIMEOUT on the connection's socket.
    const socket = await serverSocket;
    f.app.server.emit(
      'clientError',
      Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }),
      socket,
    );
    await closed;
    expect(answer).to.match(/^HTTP\/1\.1 408 /);
    expect(answer).to.include('"request_timeout"');
    await t.telemetry.forceFlush();
    const lines = await waitUntil('the access line', async () => {
      const found = (await t.consoleRecords()).filter((r) => r.trace_id === traceId);
      return found.length > 0 ? found : undefined;
    });
    // Before: "request aborted", error_code invalid_body (the route's body parse), no status.
    expect(lines.map((r) => [r.message, r.status_code, r.error_code])).to.deep.equal([
      ['request', 408, 'request_timeout'],
    ]);
    const span = (await t.spans()).find((x) => x.spanContext().traceId === traceId && x.kind === 1);
    expect(span?.attributes).to.include({ 'http.response.status_code': 408 });
    expect(span?.attributes).to.not.have.property('error.type');
    const points = ((await t.metrics()).get('http.server.request.duration')?.dataPoints ?? []) as {
      attributes: Record<string, unknown>;
    }[];
    expect(
      points.filter(
        (p) =>
          p.attributes['http.route'] === '/v1/:entity/bulk-delete' &&
          p.attributes['http.response.status_code'] === 408,
      ),
    ).to.have.lengthOf(1);
  });

  it('records http.server.request.duration by route template and status', async () => {
    await inject(f.app, { method: 'GET', url: '/v1/orders/1', headers: AS_ADMIN });
    const metrics = await t.metrics();
    const duration = metrics.get('http.server.request.duration');
    expect(duration, [...metrics.keys()].join(', ')).to.not.equal(undefined);
    const points = (duration?.dataPoints ?? []) as { attributes: Record<string, unknown> }[];
    expect(points.map((p) => p.attributes['http.route'])).to.include('/v1/:entity/:id');
    for (const p of points) expect(String(p.attributes['http.route'] ?? '')).to.not.match(/\/\d+/);
  });

  it('keeps a token the client put in its user agent out of the span', async () => {
    const traceId = '9af92f3577b34da6a3ce929d0e0e4731';
    const res = await inject(f.app, {
      method: 'DELETE',
      url: '/v1/documents/1',
      headers: { 'user-agent': `curl ${ADMIN_TOKEN}`, traceparent: `00-${traceId}-${CALLER_SPAN}-01` },
    });
    expect(res.statusCode).to.equal(401);
    await t.telemetry.forceFlush();
    const span = (await t.spans()).find((s) => s.spanContext().traceId === traceId && s.kind === 1);
    // Before: "curl admin-token-..." in Tempo (an API probe sent its token as curl's -A).
    expect(span?.attributes['user_agent.original']).to.equal('curl [REDACTED]');
  });

  it("leaves out a caller's tracestate that holds a token, and keeps one that does not", async () => {
    const cases = [
      {
        traceId: '9af92f3577b34da6a3ce929d0e0e4732',
        tracestate: `vendor=abc,leak=${ADMIN_TOKEN}`,
        kept: undefined,
      },
      { traceId: '9af92f3577b34da6a3ce929d0e0e4733', tracestate: 'vendor=abc', kept: 'vendor=abc' },
    ];
    for (const c of cases) {
      await inject(f.app, {
        method: 'GET',
        url: '/v1/documents/1',
        headers: { ...AS_ADMIN, traceparent: `00-${c.traceId}-${CALLER_SPAN}-01`, tracestate: c.tracestate },
      });
    }
    await t.telemetry.forceFlush();
    for (const c of cases) {
      const spans = (await t.spans()).filter((s) => s.spanContext().traceId === c.traceId);
      expect(spans.length, c.tracestate).to.be.greaterThan(0);
      // Before: the token rode on every span of the request's trace, into Tempo.
      for (const span of spans)
        expect(span.spanContext().traceState?.serialize(), span.name).to.equal(c.kept);
    }
  });
});
