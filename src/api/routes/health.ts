import type { FastifyInstance, FastifyRequest } from 'fastify';
import { allConnectionsBusy, isDatabaseUnavailable, schemaStatus, sqlState } from '../../db/index.ts';
import { markDatabaseUnreachable } from '../http-telemetry.ts';
import { ApiError } from '../errors.ts';
import { doneWithin } from '../../timing.ts';
import { errorSchema } from '../schemas.ts';
import type { RouteContext } from '../ports.ts';

const PUBLIC = { access: 'public' } as const;

/**
 * How long the readiness check may take. A database that stops answering without closing its
 * connections (a frozen or partitioned server) held a probe on a pooled connection for as long as
 * the freeze lasted, 50 s in a test, while a load balancer needs its answer in seconds.
 */
export const READINESS_DEADLINE_MS = 3000;

async function withinDeadline<T>(work: Promise<T>): Promise<T> {
  // The check may still fail after the deadline answered for it: nobody waits for it then.
  work.catch(() => undefined);
  if (!(await doneWithin(work, READINESS_DEADLINE_MS))) {
    throw new ApiError(
      'unavailable',
      `the database did not answer within ${READINESS_DEADLINE_MS / 1000} s`,
      'unavailable',
    );
  }
  return work;
}

/**
 * The database answers and says which schema versions it has. An unreachable database is the
 * expected way to be unready (503 `unavailable`, nothing logged: the probe says it all); any other
 * failure (permissions, a damaged schema table) is a fault to look into: 503 `not_ready` whose
 * message says so, with the error itself logged and recorded on the request's span.
 */
async function readiness(
  ctx: RouteContext,
  request: FastifyRequest,
): Promise<Awaited<ReturnType<typeof schemaStatus>>> {
  let answered = false;
  try {
    return await withinDeadline(
      (async () => {
        await ctx.db.query('SELECT 1');
        answered = true;
        return schemaStatus(ctx.db);
      })(),
    );
  } catch (error) {
    // The database answered, then the schema read waited: a lock on the schema table (an upgrade
    // applying schema versions, or a session holding it), not an outage the runbook would chase.
    if (error instanceof ApiError && answered)
      throw new ApiError(
        'not_ready',
        `the database answers, but reading its schema versions took over ${READINESS_DEADLINE_MS / 1000} s: ` +
          'a lock on sdops_schema_migrations (schema versions being applied, or a session holding it)',
        'unavailable',
      );
    if (error instanceof ApiError) throw error;
    if (isDatabaseUnavailable(error)) {
      // The access line counts it as an outage of the database (http-telemetry.ts); its own busy
      // connections are none.
      if (!allConnectionsBusy(error)) markDatabaseUnreachable(request);
      throw new ApiError('unavailable', 'the database is not reachable', 'unavailable');
    }
    const sqlstate = sqlState(error);
    const which = sqlstate ? ` (SQLSTATE ${sqlstate})` : '';
    throw new ApiError(
      'not_ready',
      `the database is reachable but the readiness check failed${which}; see the server log`,
      'unavailable',
      { cause: error },
    );
  }
}

/**
 * Probes may add a query string (a load balancer's cache-buster): ignored, not refused. Every other
 * route refuses parameters it does not know.
 */
const PROBE_QUERY = { type: 'object', additionalProperties: true } as const;

/** Liveness, readiness and the OpenAPI document: public, so probes and clients need no token. */
export function registerHealthRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  openapi: () => Record<string, unknown>,
): void {
  app.get(
    '/healthz',
    {
      config: PUBLIC,
      schema: {
        summary: 'The process is alive (503 unavailable once it shuts down)',
        tags: ['health'],
        querystring: PROBE_QUERY,
        response: {
          200: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
          503: errorSchema,
        },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: PUBLIC,
      schema: {
        summary: 'The database is reachable and its schema is current',
        tags: ['health'],
        querystring: PROBE_QUERY,
        response: {
          200: {
            type: 'object',
            required: ['status', 'schema'],
            properties: { status: { const: 'ready' }, schema: { type: 'string' } },
          },
          503: errorSchema,
        },
      },
    },
    async (request) => {
      const status = await readiness(ctx, request);
      if (status.pending.length > 0 || status.current === undefined) {
        throw new ApiError(
          'not_ready',
          `schema versions pending: ${status.pending.join(', ')}`,
          'unavailable',
        );
      }
      return { status: 'ready' as const, schema: status.current };
    },
  );

  let document: Record<string, unknown> | undefined;
  app.get(
    '/openapi.json',
    {
      config: PUBLIC,
      schema: {
        summary: 'This document: every route with its parameters, bodies and answers (OpenAPI 3.1)',
        tags: ['health'],
        response: {
          200: { type: 'object', additionalProperties: true },
          500: errorSchema,
        },
      },
    },
    async () => {
      // Built on first request: every route is registered by then.
      document ??= openapi();
      return document;
    },
  );
}
