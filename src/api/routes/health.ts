import type { FastifyInstance } from 'fastify';
import { schemaStatus } from '../../db/index.ts';
import { errorSchema } from '../schemas.ts';
import type { RouteContext } from '../server.ts';

const PUBLIC = { access: 'public' } as const;

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
        summary: 'The process is alive',
        tags: ['health'],
        response: { 200: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } } },
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
    async (_request, reply) => {
      let status: Awaited<ReturnType<typeof schemaStatus>>;
      try {
        await ctx.db.query('SELECT 1');
        status = await schemaStatus(ctx.db);
      } catch {
        return reply
          .code(503)
          .send({ error: { code: 'unavailable', message: 'the database is not reachable' } });
      }
      if (status.pending.length > 0 || status.current === undefined) {
        return reply.code(503).send({
          error: { code: 'not_ready', message: `schema versions pending: ${status.pending.join(', ')}` },
        });
      }
      return { status: 'ready' as const, schema: status.current };
    },
  );

  let document: Record<string, unknown> | undefined;
  app.get('/openapi.json', { config: PUBLIC, schema: { hide: true } }, async () => {
    // Built on first request: every route is registered by then.
    document ??= openapi();
    return document;
  });
}
