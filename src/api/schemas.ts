/**
 * JSON schemas shared by the routes. fastify validates requests and serialises responses with them,
 * and the OpenAPI document is generated from them.
 */

import {
  ID_PATTERN,
  MAX_ID_LENGTH,
  MAX_TEXT_LENGTH,
  NOT_BLANK_PATTERN,
  UUID_LENGTH,
  UUID_PATTERN,
} from '../validation/index.ts';

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

/**
 * Error responses every authenticated route can give (400, 401, 403), plus the route's own: among
 * them 414 uri_too_long on a route with path parameters (one over 100 characters is refused before
 * the route runs) and 503 unavailable, with Retry-After, on a route that works on the database.
 */
export function errorResponses(...statuses: number[]): Record<string, typeof errorSchema> {
  const out: Record<string, typeof errorSchema> = {};
  for (const s of [400, 401, 403, ...statuses]) out[String(s)] = errorSchema;
  return out;
}

export const idSchema = {
  type: 'string',
  pattern: ID_PATTERN,
  maxLength: MAX_ID_LENGTH,
  description: 'Row id (positive 64-bit integer, decimal)',
} as const;

/** Job and run ids, and opIds. */
export const uuidSchema = { type: 'string', pattern: UUID_PATTERN, maxLength: UUID_LENGTH } as const;

/** The body of an action that takes none: left out or `{}` (with `bodyOptional`); a field is a 400. */
export const noFields = {
  type: 'object',
  additionalProperties: false,
  properties: {},
  description: 'No fields (the body may be left out)',
} as const;

export function entityParam(names: readonly string[]) {
  return { type: 'string', enum: [...names], description: 'Entity name' } as const;
}

/** Rows differ per entity; ids and bigints are strings, timestamps ISO strings. */
export const rowSchema = { type: 'object', additionalProperties: true } as const;

const countsSchema = {
  type: 'object',
  required: ['success', 'noop', 'failure'],
  properties: { success: { type: 'integer' }, noop: { type: 'integer' }, failure: { type: 'integer' } },
} as const;

const jobRefSchema = {
  type: 'object',
  required: ['id', 'type'],
  properties: { id: { type: 'string' }, type: { type: 'string' } },
} as const;

export const operationResultSchema = {
  type: 'object',
  required: ['entity', 'operation', 'counts', 'cascaded'],
  properties: {
    entity: { type: 'string' },
    operation: { type: 'string' },
    counts: countsSchema,
    cascaded: { type: 'object', additionalProperties: { type: 'integer' } },
    batches: { type: 'integer' },
    durationMs: { type: 'number' },
    opId: {
      type: 'string',
      description:
        'delete: the delete_op_id stamped on every row the call deleted; absent when it deleted none',
    },
    runId: {
      type: 'string',
      description:
        "bulk, purge and archive: the call's own run id (UUIDv7), the run_id on its spans and log lines",
    },
    job: jobRefSchema,
    notFoundIds: {
      type: 'array',
      items: { type: 'string' },
      description: 'bulk: up to 100 of the ids that do not exist (counted in counts.failure)',
    },
    conflictIds: {
      type: 'array',
      items: { type: 'string' },
      description:
        'bulk restore: up to 100 of the ids left deleted because a live row holds the same unique value (counted in counts.failure)',
    },
  },
} as const;

export const acceptedSchema = {
  type: 'object',
  required: ['job'],
  description: 'The work was queued; follow it with GET /v1/queue/jobs/{jobId} (the job id answered here)',
  properties: {
    job: jobRefSchema,
    opId: {
      type: 'string',
      description:
        'A queued bulk delete: the delete_op_id its rows are stamped with, on every attempt; restore by it to undo the delete',
    },
  },
} as const;

/** Free text: no NUL character, no unpaired surrogate, no U+FFFD (format `text`, see validation.ts). */
export function textSchema(maxLength: number) {
  return { type: 'string', format: 'text', maxLength } as const;
}

/**
 * A reason must say something: empty and white space only are refused alike, here at the edge, as
 * a malformed body field (invalid_body) or query parameter (invalid_query), like a NUL in it.
 */
export const reasonSchema = { ...textSchema(MAX_TEXT_LENGTH), pattern: NOT_BLANK_PATTERN } as const;
