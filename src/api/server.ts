import type { IncomingMessage, ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { type Database, withLockWaitLimit } from '../db/index.ts';
import { getLogger } from '../observability/index.ts';
import { SoftDeleteService } from '../soft-delete/index.ts';
import { type Access, type ApiToken, refusedByOpenServer, TokenVerifier } from './auth.ts';
import { ApiError, answerExpectation, forbidden, mapError, writeClientError } from './errors.ts';
import {
  isUnrouted,
  markUnrouted,
  onAbortTelemetry,
  onRefusedBeforeRouting,
  onRequestTelemetry,
  onResponseTelemetry,
  recordErrorAnswer,
  inRequest,
  requestContext,
} from './http-telemetry.ts';
import { OpenApiCollector } from './openapi.ts';
import type { ApiMigrations, ApiQueue, BulkLimits, RouteContext } from './ports.ts';
import { registerEntityRoutes } from './routes/entities.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerMigrationRoutes } from './routes/migrations.ts';
import { registerQueueRoutes } from './routes/queue.ts';
import { validatorCompiler } from './validation.ts';
import { readJsonBodies, refuseUnframedBody } from './body-parsing.ts';
import { entityActionOf, fixedSegmentOf, wellEncodedQuery, withoutFragment } from './request-target.ts';

/** How long a request's statement waits for a lock another session holds: then 409 `row_locked`. */
const API_LOCK_WAIT_SECONDS = 5;

const DEFAULT_BODY_LIMIT = 1024 * 1024;

const DEFAULT_BULK_LIMITS: BulkLimits = { maxIds: 10_000, syncIds: 1_000 };

/** How often a header occurs in the raw request (rawHeaders alternates names and values). */
function headerCount(rawHeaders: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === name) n++;
  return n;
}

export interface ApiServerOptions {
  readonly db: Database;
  /** Bearer tokens (parseApiTokens(SDOPS_API_TOKENS)); empty = unauthenticated, loopback only. */
  readonly tokens: readonly ApiToken[];
  /** Default: new SoftDeleteService(db). */
  readonly softDelete?: SoftDeleteService;
  /** Cleanup queue: cascades and large bulk operations become jobs. Without it they run in the request. */
  readonly queue?: ApiQueue;
  /** Migration runner operations; without it the /v1/migrations routes are not registered. */
  readonly migrations?: ApiMigrations;
  /** Default 1 MiB. */
  readonly bodyLimit?: number;
  readonly bulk?: Partial<BulkLimits>;
  /** Recorded as deleted_by. Default 'sdops-api'. */
  readonly actor?: string;
  /** OpenAPI info.version. Default '0.0.0'. */
  readonly version?: string;
}

declare module 'fastify' {
  /** OpenAPI-only keys; fastify ignores them, openapi.ts reads them. */
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: readonly string[];
    hide?: boolean;
    /** The body may be omitted entirely (DELETE with only a query string). */
    bodyOptional?: boolean;
  }
  interface FastifyContextConfig {
    /** Who may call the route; routes without it are treated as admin-only. */
    access?: Access;
  }
}

const log = getLogger('api');
const RETRY_AFTER_SECONDS = 5;

function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): void {
  const mapped = mapError(error);
  // The access line carries the error; a request without telemetry state gets a line of its own.
  const answered = recordErrorAnswer(request, mapped.body.error.code, mapped.internal);
  if (mapped.internal !== undefined && !answered) {
    context.with(requestContext(request), () =>
      log.error(
        'request failed',
        { method: request.method, route: request.routeOptions?.url ?? null },
        mapped.internal,
      ),
    );
  }
  // The database is down or restarting: worth retrying shortly, and the caller is told when.
  if (mapped.status === 503) void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  // RFC 9110: a 401 names the scheme that would be accepted.
  if (mapped.status === 401) void reply.header('www-authenticate', 'Bearer realm="sdops"');
  void reply.code(mapped.status).type('application/json').send(mapped.body);
}

function routeNotFound(request: FastifyRequest): ApiError {
  return new ApiError(
    'route_not_found',
    `no route ${request.method} ${request.url.split('?')[0]}`,
    'not_found',
  );
}

/** At least Node's headersTimeout (60 s), which it must not exceed; long enough for a 10 MB body on a slow link. */
const REQUEST_TIMEOUT_MS = 120_000;

/**
 * The API as a fastify instance, not yet listening: tests drive it with inject(), `sdops serve`
 * calls listen() through startApiServer.
 */
export async function buildServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const verifier = new TokenVerifier(options.tokens);
  const openapi = new OpenApiCollector();
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = fastify({
    logger: false,
    bodyLimit,
    // HEAD answers for every GET route (load balancers probe /healthz and /readyz with it).
    exposeHeadRoutes: true,
    // While closing, a request that reaches the server on a kept-alive connection gets our 503 below
    // (fastify's own had no code and no Retry-After). Connections idle when the close starts are
    // closed by Node at once: a request sent on one at that instant sees the connection close with
    // no answer, and was never read (README, API).
    return503OnClosing: false,
    // The whole request, body included, must arrive within this (fastify's default is no limit): a
    // client that stalls mid-body gets 408 request_timeout and its connection closed, instead of
    // holding it open for ever. Node checks every 30 s, so it ends between 2 and 2.5 minutes.
    requestTimeout: REQUEST_TIMEOUT_MS,
    // A fragment is the client's own (RFC 9110: not part of the request target); one sent anyway was
    // read as the query (`/v1/orders#limit=0`) or into a query value (`?scope=all#x`).
    rewriteUrl: withoutFragment,
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      onRefusedBeforeRouting(request, reply, (text) => verifier.withoutTokens(text));
      sendError(request, reply, error);
    },
    clientErrorHandler: writeClientError,
  });
  // A client that closes its sending side after the request (HTTP/1.0 clients, `nc -N`, scripts)
  // still gets its answer: by default Node aborted the request at the client's FIN and sent nothing,
  // while the handler went on and its write landed. Node's own switch (a Server property since its
  // first releases, not in its typings); test/integration/api pins it.
  (app.server as { httpAllowHalfOpen?: boolean }).httpAllowHalfOpen = true;
  // Expect: anything but 100-continue gets 417 expectation_failed, not Node's bare 417.
  app.server.on('checkExpectation', answerExpectation);
  // A client that asks before sending its body learns of a body over the limit at once: no 100, and
  // the request goes on to fastify's 413 without its body ever being sent.
  app.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (!(Number(request.headers['content-length']) > bodyLimit)) response.writeContinue();
    app.server.emit('request', request, response);
  });
  readJsonBodies(app);
  // Strict JSON types in bodies, text conversion only in query strings and paths; unknown properties
  // fail instead of being dropped (a typo in "reason" must not turn into a delete without a reason).
  app.setValidatorCompiler(validatorCompiler());

  const fixedSegments = new Set<string>();
  const entityActions = new Set<string>();
  app.addHook('onRoute', (route) => {
    const fixed = fixedSegmentOf(route.url);
    if (fixed !== undefined) fixedSegments.add(fixed);
    const action = entityActionOf(route.url);
    if (action !== undefined) entityActions.add(action);
    const access = route.config?.access ?? 'admin';
    // Written back, so the auth hook checks what OpenAPI documents: a route that forgot its access
    // level was documented admin-only and let anyone through (probe K).
    route.config = { ...route.config, access };
    // Unknown query parameters are refused, not ignored, on routes that take none.
    if (route.schema && route.schema.querystring === undefined) {
      route.schema = { ...route.schema, querystring: { type: 'object', additionalProperties: false } };
    }
    openapi.add(route, access);
    const handler = route.handler;
    // Run the handler inside the request's server span, whatever context fastify's body parsing
    // left active, so the core's spans and enqueued jobs join the request's trace. Its statements
    // wait at most API_LOCK_WAIT_SECONDS for another session's lock: one open transaction holding a
    // row must not fill the pool every other request needs.
    route.handler = function traced(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      return withLockWaitLimit(API_LOCK_WAIT_SECONDS, () =>
        inRequest(request, () => handler.call(this, request, reply)),
      );
    };
  });
  // Before the telemetry starts, so the span and the access line name no route for such a request.
  app.addHook('onRequest', (request, _reply, done) => {
    const params = (request.params ?? {}) as Record<string, unknown>;
    const { entity, id } = params;
    // An empty path parameter is a trailing slash (GET /v1/documents/): no route, not a bad id.
    const empty = Object.values(params).some((value) => value === '');
    const fixedWord =
      (typeof entity === 'string' && fixedSegments.has(entity)) ||
      (typeof id === 'string' && entityActions.has(id));
    if (empty || fixedWord) markUnrouted(request);
    done();
  });
  app.addHook('onRequest', (request, _reply, done) => {
    onRequestTelemetry(request, (text) => verifier.withoutTokens(text));
    done();
  });
  // Before the token check and any route (body-parsing.ts: refuseUnframedBody).
  app.addHook('onRequest', (request, reply, done) => done(refuseUnframedBody(request, reply)));
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, _reply, done) => {
    if (closing)
      done(
        new ApiError(
          'unavailable',
          'the server is shutting down; retry, another instance answers',
          'unavailable',
        ),
      );
    else done();
  });
  app.addHook('onRequest', (request, _reply, done) => {
    // Every route has its access (onRoute); none here is a request no route matched (its 404).
    const access = request.routeOptions.config?.access;
    if (access === undefined || access === 'public') {
      done();
      return;
    }
    try {
      // Node keeps the first of two Authorization headers: a proxy that checks the other one would
      // see another caller than this server does.
      if (headerCount(request.raw.rawHeaders, 'authorization') > 1)
        throw new ApiError('malformed_request', 'send one Authorization header, not several');
      if (verifier.open) {
        const refused = refusedByOpenServer(request.headers.host, request.headers.origin);
        if (refused) throw forbidden(refused);
      }
      verifier.authorize(request.headers.authorization, access);
      done();
    } catch (error) {
      done(error as FastifyError);
    }
  });
  app.addHook('preValidation', (request, _reply, done) => {
    if (!wellEncodedQuery(request.url)) {
      done(new ApiError('invalid_query', 'the query string is not valid percent-encoded UTF-8'));
      return;
    }
    if (isUnrouted(request)) {
      done(routeNotFound(request));
      return;
    }
    // An omitted optional body (DELETE with ?reason=, restore without options) validates as {}.
    if (request.body === undefined && request.routeOptions.schema?.bodyOptional === true) request.body = {};
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    onResponseTelemetry(request, reply);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    onAbortTelemetry(request);
    done();
  });
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler((request, reply) => sendError(request, reply, routeNotFound(request)));

  const ctx: RouteContext = {
    db: options.db,
    softDelete: options.softDelete ?? new SoftDeleteService(options.db),
    queue: options.queue,
    migrations: options.migrations,
    bulk: { ...DEFAULT_BULK_LIMITS, ...options.bulk },
    actor: options.actor ?? 'sdops-api',
  };
  registerHealthRoutes(app, ctx, () =>
    openapi.document({ title: 'soft-delete-ops API', version: options.version ?? '0.0.0' }),
  );
  registerEntityRoutes(app, ctx);
  if (ctx.migrations) registerMigrationRoutes(app, ctx.migrations);
  if (ctx.queue) registerQueueRoutes(app, ctx.queue);
  return app;
}
