import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { allConnectionsBusy, isDatabaseUnavailable } from '../db/index.ts';
import { toError } from '../errors.ts';
import {
  CanonicalLine,
  currentTracer,
  getLogger,
  httpMetrics,
  type SpanAttributes,
  withCanonicalLine,
} from '../observability/index.ts';
import { socketAnswerOf } from './socket-answers.ts';

/**
 * HTTP server telemetry done by hand in fastify hooks rather than by require-hook instrumentation,
 * which does not see ESM imports: one SERVER span per request (HTTP semantic conventions, named by
 * route template), the caller's W3C traceparent honoured, the span made active around the handler
 * so the core's spans and any job it enqueues belong to the request's trace, an
 * http.server.request.duration histogram and one canonical log line per request: the access line,
 * which also carries the fields of the soft-delete operation the request ran (entity, operation,
 * count, status), so the core does not write a line of its own inside a request.
 */

const log = getLogger('api');

interface RequestTelemetry {
  readonly span: Span;
  readonly context: Context;
  readonly started: bigint;
  readonly line: CanonicalLine;
  /** The path as the span and the access line give it (without its query, tokens taken out). */
  readonly path: string;
  ended: boolean;
}

const state = new WeakMap<FastifyRequest, RequestTelemetry>();

/** Requests a route pattern matched that no route serves (server.ts): no route, like any 404 of the router. */
const unrouted = new WeakSet<FastifyRequest>();

export function markUnrouted(request: FastifyRequest): void {
  unrouted.add(request);
}

/** Readiness checks that found the database unreachable (health.ts): their 503 carries no error. */
const unreachableProbes = new WeakSet<FastifyRequest>();

export function markDatabaseUnreachable(request: FastifyRequest): void {
  unreachableProbes.add(request);
}

export function isUnrouted(request: FastifyRequest): boolean {
  return unrouted.has(request);
}

function routeOf(request: FastifyRequest): string | undefined {
  // routeOptions.url is the template (/v1/:entity/:id); undefined when no route matched (404).
  return unrouted.has(request) ? undefined : request.routeOptions?.url;
}

/** The request's path without its query, which the telemetry never records. */
function requestPath(request: FastifyRequest): string {
  const q = request.url.indexOf('?');
  return q === -1 ? request.url : request.url.slice(0, q);
}

function spanName(method: string, route: string | undefined): string {
  return route ? `${method} ${route}` : method;
}

/**
 * The caller's trace context, its `tracestate` left out when it holds a token: the state is carried
 * on every span of the trace, and so stored in Tempo.
 */
function withoutSecretTraceState(parent: Context, hideSecrets: (text: string) => string): Context {
  const caller = trace.getSpanContext(parent);
  const state = caller?.traceState?.serialize();
  if (caller === undefined || state === undefined || hideSecrets(state) === state) return parent;
  return trace.setSpanContext(parent, { ...caller, traceState: undefined });
}

/**
 * Starts the request's span. `hideSecrets` takes API tokens out of what the client wrote (the path,
 * the user agent): a client that put one there must not have it stored in Tempo and Loki.
 */
export function onRequestTelemetry(request: FastifyRequest, hideSecrets: (text: string) => string): void {
  const parent = withoutSecretTraceState(propagation.extract(ROOT_CONTEXT, request.headers), hideSecrets);
  const route = routeOf(request);
  const path = hideSecrets(requestPath(request));
  const userAgent = request.headers['user-agent'];
  const span = currentTracer().startSpan(
    spanName(request.method, route),
    {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': request.method,
        ...(route ? { 'http.route': route } : {}),
        'url.path': path,
        'url.scheme': request.protocol,
        'network.protocol.version': request.raw.httpVersion,
        ...(request.ip ? { 'client.address': request.ip } : {}),
        ...(typeof userAgent === 'string' ? { 'user_agent.original': hideSecrets(userAgent) } : {}),
      } satisfies SpanAttributes,
    },
    parent,
  );
  const line = new CanonicalLine();
  state.set(request, {
    span,
    context: trace.setSpan(parent, span),
    started: process.hrtime.bigint(),
    line,
    path,
    ended: false,
  });
}

/**
 * Telemetry for a request fastify refused before routing (a path that is not valid percent-encoding,
 * a path parameter over its length limit), for which no hook runs: its span starts here, with no
 * route, and it ends, with its metric point and access line, when the answer has been sent.
 */
export function onRefusedBeforeRouting(
  request: FastifyRequest,
  reply: FastifyReply,
  hideSecrets: (text: string) => string,
): void {
  if (state.has(request)) return;
  markUnrouted(request);
  onRequestTelemetry(request, hideSecrets);
  reply.raw.once('finish', () => finish(request, reply.statusCode, false));
  // After a finish this is a no-op (finish ends once); before one, the client went away.
  reply.raw.once('close', () => finish(request, 0, true));
}

/** The context handlers run in: the request's server span (ROOT_CONTEXT if none was started). */
export function requestContext(request: FastifyRequest): Context {
  return state.get(request)?.context ?? context.active();
}

/** Runs a route's handler in its request's server span, with the request's access line open to its operations. */
export function inRequest<T>(request: FastifyRequest, fn: () => T): T {
  const t = state.get(request);
  if (!t) return fn();
  return context.with(t.context, () => withCanonicalLine(t.line, fn));
}

/**
 * Records an error answer on the request's access line: its `error_code` (the body's code, so an
 * operator can tell `invalid_body` from `invalid_id` without the client's response) and, for a 5xx,
 * the error behind it, also on the server span; the caller only sees a generic body then. False
 * when the request has no telemetry state.
 */
export function recordErrorAnswer(request: FastifyRequest, code: string, internal?: unknown): boolean {
  const t = state.get(request);
  if (!t) return false;
  if (internal !== undefined) t.span.recordException(toError(internal));
  t.line.add({ error_code: code }, internal);
  return true;
}

function finish(request: FastifyRequest, replyStatus: number, replyAborted: boolean): void {
  const t = state.get(request);
  if (!t || t.ended) return;
  t.ended = true;
  // A request the route never answered may have had its answer from below (a 408 for a body that
  // stalled): that answer is what the client got.
  const below = replyAborted ? socketAnswerOf(request.raw.socket) : undefined;
  if (below) t.line.add({ error_code: below.code });
  const aborted = replyAborted && below === undefined;
  const status = below?.status ?? replyStatus;
  const seconds = Number(process.hrtime.bigint() - t.started) / 1e9;
  const route = routeOf(request);
  const errorType = aborted ? 'aborted' : status >= 500 ? String(status) : undefined;
  if (!aborted) t.span.setAttributes({ 'http.response.status_code': status } satisfies SpanAttributes);
  if (errorType) {
    t.span.setAttributes({ 'error.type': errorType } satisfies SpanAttributes);
    t.span.setStatus({ code: SpanStatusCode.ERROR });
  }
  t.span.end();
  httpMetrics.requestFinished({
    method: request.method,
    route,
    statusCode: aborted ? undefined : status,
    durationSeconds: seconds,
  });
  const operation = t.line.close();
  const fields = {
    ...operation.fields,
    method: request.method,
    // Left out when there is none (no route matched, no answer sent), on the console as over OTLP.
    ...(route === undefined ? {} : { route }),
    path: t.path,
    ...(aborted ? {} : { status_code: status }),
    duration: Math.round(seconds * 1e6) / 1e6,
  };
  const message = aborted ? 'request aborted' : 'request';
  const outage = outageOf(request);
  const unavailable = status === 503 && isDatabaseUnavailable(operation.error);
  context.with(t.context, () => {
    // The error behind a 5xx (an operation's, or the request's own) is worth a warning; a 4xx is the caller's.
    const failed = operation.error !== undefined && (aborted || status >= 500);
    if (!failed) log.info(message, fields);
    else if (!unavailable || warnsNow(outage)) log.warn(message, fields, operation.error);
    else log.info(message, fields, operation.error);
  });
  if (!aborted) noteDatabaseState(outage, databaseState(request, operation.error, status), status, route);
}

/**
 * What an answer says of the database: a 503 for it unreachable (an operation's, or the readiness
 * check's, which carries no error: a probe's answer says it all), or for this process's connections
 * all busy; undefined when it says nothing. A server with only probes and no traffic in an outage
 * wrote no "reachable again" line, and one whose first client 503 came late counted from there.
 */
function databaseState(
  request: FastifyRequest,
  error: unknown,
  status: number,
): 'unreachable' | 'busy' | undefined {
  if (status !== 503) return undefined;
  if (isDatabaseUnavailable(error)) return allConnectionsBusy(error) ? 'busy' : 'unreachable';
  // A check that timed out is no proof of an outage (this process's connections may all be busy on
  // row locks: a re-check probe got "reachable again" with no outage); a frozen database soon fails
  // the checks outright (db/stall-watch.ts).
  return unreachableProbes.has(request) ? 'unreachable' : undefined;
}

/** What each server (its Node HTTP server) knows of an outage of the database. */
interface Outage {
  /** Since when it answers 503 for the database; undefined while the database answers. */
  since: number | undefined;
  /**
   * One of those 503s said the database was unreachable, not only that this process's connections
   * were all busy: a frozen database starts as "busy" (statements out, none answered) until the
   * stall watch closes its connections, so the outage counts from the first 503 either way; one
   * whose 503s all said busy (row locks) is no outage and ends without a line.
   */
  unreachable: boolean;
  /** When it last warned of such a 503. */
  warnedAt: number;
}

const outages = new WeakMap<object, Outage>();

function outageOf(request: FastifyRequest): Outage {
  const server = request.server.server;
  const known = outages.get(server);
  if (known) return known;
  const outage: Outage = { since: undefined, unreachable: false, warnedAt: Number.NEGATIVE_INFINITY };
  outages.set(server, outage);
  return outage;
}

/** Routes whose 2xx answer proves the database answered: the readiness check and the entity routes. */
const reachesDatabase = (route: string | undefined): boolean =>
  route === '/readyz' || route?.startsWith('/v1/:entity') === true;

/**
 * The end of an outage, as the worker and a migration run say it: the first answer after 503s of an
 * unreachable database that proves the database answered again, one line with the outage's
 * duration (before, only the access lines turning back to 200 showed when it ended).
 */
function noteDatabaseState(
  outage: Outage,
  database: 'unreachable' | 'busy' | undefined,
  status: number,
  route: string | undefined,
): void {
  if (database !== undefined) {
    outage.since ??= performance.now();
    if (database === 'unreachable') outage.unreachable = true;
    return;
  }
  const { since, unreachable } = outage;
  if (since === undefined || status < 200 || status >= 300 || !reachesDatabase(route)) return;
  outage.since = undefined;
  outage.unreachable = false;
  if (!unreachable) return;
  const duration = Math.round(performance.now() - since) / 1000;
  log.info('database reachable again; the API answers', { duration });
}

/** At most one warning line this often for requests answered 503 because the database is unreachable. */
const UNAVAILABLE_WARN_EVERY_MS = 10_000;

/**
 * Whether a 503 for an unreachable database is a warning line. An outage answers every request 503
 * (one warning line each: 1,593 in a 15 s restart under load, burying everything else): the first
 * of them in a while warns, the rest are `info` with the same error.
 */
function warnsNow(outage: Outage): boolean {
  const now = performance.now();
  if (now - outage.warnedAt < UNAVAILABLE_WARN_EVERY_MS) return false;
  outage.warnedAt = now;
  return true;
}

export function onResponseTelemetry(request: FastifyRequest, reply: FastifyReply): void {
  finish(request, reply.statusCode, false);
}

export function onAbortTelemetry(request: FastifyRequest): void {
  finish(request, 0, true);
}
