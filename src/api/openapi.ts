import type { RouteOptions } from 'fastify';
import type { Access } from './auth.ts';
import { ERROR_CODES } from '../errors.ts';
import { errorSchema } from './schemas.ts';

/**
 * A small OpenAPI 3.1 generator fed by fastify's onRoute hook: the route schemas fastify validates
 * and serialises with are the document, so the two cannot drift. (Written here instead of taking a
 * plugin dependency: the document needs only paths, parameters, bodies and responses.)
 */

type JsonSchema = Record<string, unknown>;

interface CollectedRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: JsonSchema;
  readonly access: Access;
}

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
}

const STATUS_TEXT: Readonly<Record<string, string>> = {
  '200': 'OK',
  '202':
    'Accepted: the work goes on in the background (a queued job, or a migration session in this server); follow it with the job or run returned',
  '400': 'Bad request',
  '401': 'Missing or invalid bearer token',
  '403':
    'The token lacks the needed role or, on a server without tokens, the request is addressed to a name that is not loopback (Host) or sent by a web page of another origin (Origin)',
  '404': 'Not found',
  '409':
    'Conflict: the data or the state of a run or job refuses the request (the code says which), or another database session held a lock the request needs for 5 s (row_locked, reads too: retry)',
  '413': 'Body too large',
  '414': 'A path parameter is too long (uri_too_long)',
  '415': 'Unsupported media type',
  '500':
    'internal_error: the server failed (a database error that is no data rule, such as a trigger raising P0001, or a bug); the change was not made (a bulk request: its committed batches stay)',
  '503':
    'The database is unreachable or the server is shutting down (unavailable; while it shuts down every route, /healthz too, answers so) or, on /readyz, the schema is not ready: retry after Retry-After',
};

/** Every 503 carries it (server.ts sendError). */
const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds to wait before retrying',
    schema: { type: 'integer', minimum: 1 },
  },
} as const;

/** Every 202 carries it: where the job or run it started is followed (RFC 9110's status monitor). */
const LOCATION = {
  Location: {
    description: 'The job (/v1/queue/jobs/{jobId}) or run (/v1/migrations/runs/{runId}) to follow',
    schema: { type: 'string' },
  },
} as const;

/** Every 401 carries it (server.ts sendError), as RFC 6750 asks. */
const WWW_AUTHENTICATE = {
  'WWW-Authenticate': {
    description: 'The bearer scheme the API expects: Bearer realm="sdops"',
    schema: { type: 'string' },
  },
} as const;

const STATUS_HEADERS: Readonly<Record<string, JsonSchema>> = {
  '202': LOCATION,
  '401': WWW_AUTHENTICATE,
  '503': RETRY_AFTER,
};

/** The shared error shape (schemas.ts) with its closed set of codes, as the document's one component. */
function errorComponent(): JsonSchema {
  const { error } = errorSchema.properties;
  const code = {
    ...error.properties.code,
    enum: [...ERROR_CODES],
    description: 'Stable code, shared with the CLI; docs/errors.md says what each means',
  };
  return { ...errorSchema, properties: { error: { ...error, properties: { ...error.properties, code } } } };
}

/** The shared error shape is one component, with its codes; a route's error responses point to it. */
function contentSchema(schema: JsonSchema): JsonSchema {
  return schema === errorSchema ? { $ref: '#/components/schemas/Error' } : schema;
}

function toOpenApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(schema: JsonSchema | undefined, where: 'path' | 'query' | 'header'): JsonSchema[] {
  const props = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema?.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

export class OpenApiCollector {
  private readonly routes: CollectedRoute[] = [];

  /** Call from an onRoute hook. HEAD twins of GET routes are left out. */
  add(route: RouteOptions, access: Access): void {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const schema = (route.schema ?? {}) as JsonSchema;
    if (schema.hide === true) return;
    for (const method of methods) {
      if (method === 'HEAD') continue;
      this.routes.push({ method: method.toLowerCase(), url: route.url, schema, access });
    }
  }

  document(info: OpenApiInfo): JsonSchema {
    const paths: Record<string, Record<string, JsonSchema>> = {};
    for (const r of this.routes) {
      const path = toOpenApiPath(r.url);
      paths[path] ??= {};
      const s = r.schema;
      const responses: Record<string, JsonSchema> = {};
      for (const [status, schema] of Object.entries((s.response ?? {}) as Record<string, JsonSchema>)) {
        responses[status] = {
          description: (schema.description as string | undefined) ?? STATUS_TEXT[status] ?? 'Response',
          ...(STATUS_HEADERS[status] ? { headers: STATUS_HEADERS[status] } : {}),
          content: { 'application/json': { schema: contentSchema(schema) } },
        };
      }
      // Any route may fail: a client generated from the document must expect it.
      responses['500'] ??= {
        description: STATUS_TEXT['500'],
        content: { 'application/json': { schema: contentSchema(errorSchema) } },
      };
      const op: JsonSchema = {
        operationId: `${r.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ? c.toUpperCase() : ''))}`,
        ...(s.summary ? { summary: s.summary } : {}),
        ...(s.description ? { description: s.description } : {}),
        ...(s.tags ? { tags: s.tags } : {}),
        parameters: [
          ...parameters(s.params as JsonSchema | undefined, 'path'),
          ...parameters(s.querystring as JsonSchema | undefined, 'query'),
          ...parameters(s.headers as JsonSchema | undefined, 'header'),
        ],
        ...(s.body
          ? {
              requestBody: {
                required: !(s.bodyOptional === true),
                content: { 'application/json': { schema: s.body } },
              },
            }
          : {}),
        responses,
        security: r.access === 'public' ? [] : [{ bearerAuth: [] }],
        'x-required-role': r.access,
      };
      paths[path][r.method] = op;
    }
    return {
      openapi: '3.1.0',
      info: {
        ...info,
        description:
          'Soft delete, restore, migrations and cleanup queue over HTTP. Errors are always ' +
          '{"error":{"code","message"}} with one of the codes in components.schemas.Error. ' +
          'Integer query parameters are plain decimal digits (no sign, exponent, hex or spaces). ' +
          'Any request may also get 417 expectation_failed (an Expect header other than 100-continue), ' +
          '431 headers_too_large, 408 request_timeout or 400 malformed_request from below the routes. ' +
          'A string of `format: text` is free text: no NUL character, no unpaired surrogate, no U+FFFD ' +
          '(JSON Schema leaves an unknown format to the validator; with Ajv, `ajv.addFormat("text", true)`).',
      },
      paths,
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
        schemas: {
          Error: errorComponent(),
        },
      },
    };
  }
}
