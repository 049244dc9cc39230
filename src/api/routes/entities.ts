import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { assertUndoAllowed } from '../../cleanup/index.ts';
import { InvalidInputError, NotFoundError } from '../../errors.ts';
import { addToCanonicalLine } from '../../observability/index.ts';
import {
  entityNames,
  type Filter,
  getEntity,
  type OperationResult,
  parseId,
  type Target,
} from '../../soft-delete/index.ts';
import {
  CURSOR_PATTERN,
  DEFAULT_LIST_LIMIT,
  DEFAULT_SCOPE,
  MAX_ID_LENGTH,
  MAX_LIST_LIMIT,
  MAX_TEXT_LENGTH,
  SCOPES,
  type Scope,
} from '../../validation/index.ts';
import {
  acceptedSchema,
  entityParam,
  errorResponses,
  idSchema,
  operationResultSchema,
  reasonSchema,
  rowSchema,
  textSchema,
} from '../schemas.ts';
import { assertSameRequest, IDEMPOTENCY_HEADER, idempotencyHeaders, keyedUuid } from '../idempotency.ts';
import { ApiError } from '../errors.ts';
import type { RouteContext } from '../ports.ts';

const READ = { access: 'read' } as const;
const ADMIN = { access: 'admin' } as const;
const TAGS = ['entities'];

interface EntityParams {
  entity: string;
}
interface RowParams extends EntityParams {
  id: string;
}
interface BulkBody {
  ids?: string[];
  filter?: Filter;
  reason?: string;
  cascade?: boolean;
}

function toBody(result: OperationResult, job?: { id: string; type: string }) {
  return job ? { ...result, job } : result;
}

export function registerEntityRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const names = entityNames();
  const entityParams = {
    type: 'object',
    required: ['entity'],
    additionalProperties: false,
    properties: { entity: entityParam(names) },
  } as const;
  const rowParams = {
    type: 'object',
    required: ['entity', 'id'],
    additionalProperties: false,
    properties: { entity: entityParam(names), id: idSchema },
  } as const;
  const scopeQuery = { type: 'string', enum: [...SCOPES], default: DEFAULT_SCOPE } as const;

  app.get<{ Params: EntityParams; Querystring: { scope: Scope; after?: string; limit: number } }>(
    '/v1/:entity',
    {
      config: READ,
      schema: {
        summary: 'List rows in keyset pages (pass nextCursor back as after)',
        tags: TAGS,
        params: entityParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            scope: scopeQuery,
            after: {
              type: 'string',
              pattern: CURSOR_PATTERN,
              maxLength: MAX_ID_LENGTH,
              description: 'cursor',
            },
            limit: { type: 'integer', minimum: 1, maximum: MAX_LIST_LIMIT, default: DEFAULT_LIST_LIMIT },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['rows'],
            properties: { rows: { type: 'array', items: rowSchema }, nextCursor: { type: 'string' } },
          },
          ...errorResponses(404, 409, 414, 503),
        },
      },
    },
    async (request) => {
      const { scope, after, limit } = request.query;
      return ctx.softDelete.list(request.params.entity, { scope, limit, ...(after ? { after } : {}) });
    },
  );

  app.get<{ Params: RowParams; Querystring: { scope: Scope } }>(
    '/v1/:entity/:id',
    {
      config: READ,
      schema: {
        summary: 'One row; scope=all also finds soft-deleted rows',
        tags: TAGS,
        params: rowParams,
        querystring: { type: 'object', additionalProperties: false, properties: { scope: scopeQuery } },
        response: { 200: rowSchema, ...errorResponses(404, 409, 414, 503) },
      },
    },
    async (request) => {
      const { entity, id } = request.params;
      const row = await ctx.softDelete.get(entity, parseId(id), { scope: request.query.scope });
      if (!row) throw notFound(entity, id, request.query.scope);
      return row;
    },
  );

  app.delete<{ Params: RowParams; Querystring: { reason?: string }; Body: { reason?: string } | undefined }>(
    '/v1/:entity/:id',
    {
      config: ADMIN,
      schema: {
        summary: 'Soft-delete one row; its children are soft-deleted by a cascade_soft_delete job',
        description:
          'Already deleted rows answer 200 with counts.noop = 1. With a cleanup queue, the children of ' +
          'customers and orders are deleted by a cascade_soft_delete job (returned as job), enqueued in ' +
          'the transaction that deletes the row: both commit, or neither does, so repeating a DELETE that got a 503 is safe. ' +
          'Without a queue, the children are deleted in the same request. ' +
          'The reason may be given in the body or as the reason query parameter, not both (400 invalid_query).',
        tags: TAGS,
        params: rowParams,
        querystring: { type: 'object', additionalProperties: false, properties: { reason: reasonSchema } },
        body: { type: 'object', additionalProperties: false, properties: { reason: reasonSchema } },
        bodyOptional: true,
        response: { 200: operationResultSchema, ...errorResponses(404, 409, 413, 414, 415, 503) },
      },
    },
    async (request) => {
      const { entity, id } = request.params;
      if (request.body?.reason !== undefined && request.query.reason !== undefined) {
        // Neither may quietly win: the two could say different things.
        throw new ApiError(
          'invalid_query',
          'reason is given both in the query string and in the body: give it once',
        );
      }
      const reason = request.body?.reason ?? request.query.reason;
      const def = getEntity(entity);
      const queue = def.children.length > 0 ? ctx.queue : undefined;
      // The row and its cascade job commit in one transaction: a row is never deleted without the
      // job that deletes its children, whatever fails (and a repeated DELETE is a plain noop).
      let job: string | undefined;
      const result = await ctx.softDelete.softDelete(
        entity,
        { id: parseId(id) },
        {
          deletedBy: ctx.actor,
          ...(reason ? { reason } : {}),
          cascade: queue === undefined,
          ...(queue && {
            inTransaction: async (transaction, opId) => {
              const payload = { entity, id, opId, deletedBy: ctx.actor, ...(reason ? { reason } : {}) };
              job = await queue.enqueue('cascade_soft_delete', payload, { transaction });
            },
          }),
        },
      );
      // A transaction retried after a deadlock may find the row deleted by then: its first attempt's
      // job was rolled back with it, so only a delete that changed the row names its job.
      const committed = result.counts.success > 0 ? job : undefined;
      // The access line names the job, so a request found in the logs leads to it.
      if (committed !== undefined) addToCanonicalLine({ job_id: committed, job_type: 'cascade_soft_delete' });
      return toBody(
        result,
        committed === undefined ? undefined : { id: committed, type: 'cascade_soft_delete' },
      );
    },
  );

  app.post<{ Params: RowParams; Body: { cascade?: boolean } | undefined }>(
    '/v1/:entity/:id/restore',
    {
      config: ADMIN,
      schema: {
        summary: 'Restore one soft-deleted row and the children its delete took with it',
        tags: TAGS,
        params: rowParams,
        body: { type: 'object', additionalProperties: false, properties: { cascade: { type: 'boolean' } } },
        bodyOptional: true,
        response: { 200: operationResultSchema, ...errorResponses(404, 409, 413, 414, 415, 503) },
      },
    },
    async (request) => {
      const { entity, id } = request.params;
      const target = { id: parseId(id) };
      // A row a bulk delete's job took, restored while the job has not ended, was deleted again by it.
      await assertUndoAllowed(ctx.db, entity, target);
      return ctx.softDelete.restore(entity, target, { cascade: request.body?.cascade ?? true });
    },
  );

  for (const operation of ['delete', 'restore'] as const) {
    app.post<{ Params: EntityParams; Body: BulkBody }>(
      `/v1/:entity/bulk-${operation}`,
      {
        config: ADMIN,
        schema: {
          summary: `${operation === 'delete' ? 'Soft-delete' : 'Restore'} rows by ids or by a filter`,
          description:
            `Give ids (at most ${ctx.bulk.maxIds}) or a filter of registry columns (null = IS NULL). ` +
            'Children are included unless cascade is false. With a cleanup queue, a filter or more than ' +
            `${ctx.bulk.syncIds} ids become a bulk_${operation === 'delete' ? 'soft_delete' : 'restore'} ` +
            'job (202 with the job); otherwise the work runs in the request (200).',
          tags: TAGS,
          params: entityParams,
          headers: idempotencyHeaders,
          body: bulkBodySchema(ctx.bulk.maxIds, operation === 'delete'),
          response: {
            200: operationResultSchema,
            202: acceptedSchema,
            ...errorResponses(404, 409, 413, 414, 415, 503),
          },
        },
      },
      async (request, reply) => {
        const { entity } = request.params;
        const body = request.body;
        const target = bulkTarget(body);
        const cascade = body.cascade ?? true;
        const large = 'filter' in target || ('ids' in target && target.ids.length > ctx.bulk.syncIds);
        if (large && ctx.queue) {
          // Bad filters answer 400 now, not as a failed job later.
          await ctx.softDelete.checkTarget(entity, target);
          const type = operation === 'delete' ? 'bulk_soft_delete' : 'bulk_restore';
          // A keyed request names its job and op id by its key: a retry finds what the first queued.
          const key = request.headers[IDEMPOTENCY_HEADER] as string | undefined;
          const keyed = key === undefined ? undefined : keyedUuid(`bulk-${operation}`, entity, key);
          // One op id for every attempt of the job, so a retried delete is still one operation; the
          // answer gives it, so the caller can undo the delete by it.
          const opId = operation === 'delete' ? (keyed ? keyedUuid('op', keyed) : randomUUID()) : undefined;
          const payload = {
            entity,
            ...target,
            cascade,
            ...(opId ? { opId, deletedBy: ctx.actor, ...(body.reason ? { reason: body.reason } : {}) } : {}),
          };
          // A repeat is answered from its job before anything is checked again: the checks of the
          // first request passed (an undo guard asked now could refuse a restore already queued).
          let id: string;
          if (key === undefined || keyed === undefined) id = await ctx.queue.enqueue(type, payload);
          else {
            const queued = await ctx.queue.queuedPayload(type, keyed);
            id = queued === undefined ? await ctx.queue.enqueue(type, payload, { id: keyed }) : keyed;
            // Read again after an enqueue: two first requests at once both found nothing, one queued.
            const stored = queued ?? (await ctx.queue.queuedPayload(type, id));
            // Gone (completed and deleted since the enqueue found it): nothing left to compare.
            if (stored !== undefined)
              assertSameRequest(key, stored, ctx.queue.normalisedPayload(type, payload));
          }
          addToCanonicalLine({ job_id: id, job_type: type, ...(opId ? { op_id: opId } : {}) });
          return reply
            .code(202)
            .header('location', `/v1/queue/jobs/${id}`)
            .send({ job: { id, type }, ...(opId ? { opId } : {}) });
        }
        if (operation === 'delete') {
          return ctx.softDelete.softDelete(entity, target, {
            deletedBy: ctx.actor,
            ...(body.reason ? { reason: body.reason } : {}),
            cascade,
          });
        }
        // Enqueued, a bulk_restore checks this itself (CleanupQueue.enqueue). Its ids are checked
        // first: the undo check sends them to the database, which refused one past int8 with a 500.
        await ctx.softDelete.checkTarget(entity, target);
        await assertUndoAllowed(ctx.db, entity, target);
        return ctx.softDelete.restore(entity, target, { cascade });
      },
    );
  }
}

function bulkBodySchema(maxIds: number, withReason: boolean) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      ids: { type: 'array', minItems: 1, maxItems: maxIds, items: idSchema },
      filter: {
        type: 'object',
        minProperties: 1,
        maxProperties: 16,
        propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' },
        additionalProperties: {
          anyOf: [textSchema(MAX_TEXT_LENGTH), { type: 'number' }, { type: 'boolean' }, { type: 'null' }],
        },
      },
      ...(withReason ? { reason: reasonSchema } : {}),
      cascade: { type: 'boolean' },
    },
  } as const;
}

function bulkTarget(body: BulkBody): Target {
  if (body.ids && body.filter) throw new InvalidInputError('invalid_target', 'give ids or filter, not both');
  if (body.ids) return { ids: body.ids };
  if (body.filter) return { filter: body.filter };
  throw new InvalidInputError('invalid_target', 'give ids or filter');
}

/** What else a miss under a scope may mean: a row of the other state is there but out of scope. */
const SCOPE_MISS: Readonly<Record<Scope, string>> = {
  live: ' or is deleted',
  deleted: ' or is not deleted',
  all: '',
};

function notFound(entity: string, id: string, scope: Scope): NotFoundError {
  return new NotFoundError('not_found', `${entity} ${id} does not exist${SCOPE_MISS[scope]}`);
}
