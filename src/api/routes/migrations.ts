import type { FastifyInstance } from 'fastify';
import { addToCanonicalLine, getLogger } from '../../observability/index.ts';
import { MIGRATIONS, RUN_STATES, type RunState, runStatus } from '../../migration/index.ts';
import { entityNames } from '../../soft-delete/index.ts';
import type { ApiMigrations } from '../ports.ts';
import {
  MAX_BATCH_SIZE,
  MAX_FAILED_BATCHES,
  DEFAULT_RUN_LIST_LIMIT,
  MAX_LIST_LIMIT,
  MAX_OLDER_THAN_DAYS,
  MAX_ROWS_PER_SECOND,
} from '../../validation/index.ts';
import { errorResponses, noFields, uuidSchema } from '../schemas.ts';

const TAGS = ['migrations'];
const log = getLogger('api');

const runSchema = {
  type: 'object',
  required: ['runId', 'migration', 'state'],
  additionalProperties: true,
  properties: {
    runId: { type: 'string' },
    migration: { type: 'string' },
    state: { type: 'string', enum: [...RUN_STATES] },
    rowsProcessed: { type: 'integer' },
    rowsFailed: { type: 'integer' },
    batchesDone: { type: 'integer' },
    batchesFailed: { type: 'integer' },
  },
} as const;

const runBody = { type: 'object', required: ['run'], properties: { run: runSchema } } as const;
/** The run actions take no fields: a body, if sent, must be empty, not quietly ignored. */
const batchSizeField = { type: 'integer', minimum: 1, maximum: MAX_BATCH_SIZE } as const;
const rateField = { type: 'integer', minimum: 1, maximum: MAX_ROWS_PER_SECOND } as const;
/** What the CLI's `migrate resume` takes: left out, the run keeps its own. */
const resumeFields = {
  type: 'object',
  additionalProperties: false,
  properties: {
    batchSize: { ...batchSizeField, description: "Rows per batch from now on (left out: the run's)" },
    maxRowsPerSecond: {
      anyOf: [rateField, { type: 'null' }],
      description: "Throttle from now on, in rows per second; null lifts it (left out: the run's)",
    },
  },
  description: 'Optional changes for the rest of the run (the body may be left out)',
} as const;
const runIdParams = {
  type: 'object',
  required: ['runId'],
  additionalProperties: false,
  properties: { runId: uuidSchema },
} as const;

interface RunIdParams {
  runId: string;
}

/**
 * The migration runner over HTTP with the CLI's semantics. start/resume/retry-failed launch a
 * session in this process and answer 202 with the run as persisted; follow it with GET .../runs/:runId.
 * Sessions still running when the server closes are stopped (parked `stopped`, resumable).
 */
export function registerMigrationRoutes(app: FastifyInstance, runner: ApiMigrations): void {
  // A set, not a map by run id: a resume may start a run's new session while its old one still
  // winds down (it ends on its lost lease), and the server's close stops and awaits both.
  const running = new Set<{ stop(): void; done: Promise<unknown> }>();
  const track = (handle: Awaited<ReturnType<ApiMigrations['start']>>) => {
    // The access line names the run it started, resumed or retried: from a 202 to the run's trace.
    addToCanonicalLine({ run_id: handle.runId });
    running.add(handle);
    handle.done.then(
      () => running.delete(handle),
      (error: unknown) => {
        running.delete(handle);
        log.error('migration session failed', { run_id: handle.runId }, error);
      },
    );
    return { run: handle.run };
  };
  app.addHook('onClose', async () => {
    for (const handle of running) handle.stop();
    await Promise.allSettled([...running].map((h) => h.done));
  });

  app.get<{ Querystring: { limit: number; state?: RunState } }>(
    '/v1/migrations',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Known migrations and the most recent runs',
        tags: TAGS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: MAX_LIST_LIMIT, default: DEFAULT_RUN_LIST_LIMIT },
            state: { type: 'string', enum: [...RUN_STATES] },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['migrations', 'runs'],
            properties: {
              migrations: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    name: { type: 'string' },
                    version: { type: 'integer' },
                    description: { type: 'string' },
                    params: { type: 'array', items: { type: 'string' } },
                  },
                },
              },
              runs: { type: 'array', items: runSchema },
            },
          },
          ...errorResponses(409, 503),
        },
      },
    },
    async (request) => ({
      migrations: MIGRATIONS.map((m) => ({
        name: m.name,
        version: m.version,
        description: m.description,
        params: [...m.paramNames],
      })),
      runs: await runner.list({
        limit: request.query.limit,
        ...(request.query.state ? { states: [request.query.state] } : {}),
      }),
    }),
  );

  app.post<{
    Params: { name: string };
    Body: {
      params?: Record<string, unknown>;
      batchSize?: number;
      maxRowsPerSecond?: number | null;
      dryRun?: boolean;
      maxFailedBatches?: number;
    };
  }>(
    '/v1/migrations/:name/start',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Start a run of a migration in the background',
        tags: TAGS,
        params: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string', enum: MIGRATIONS.map((m) => m.name) } },
        },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            params: {
              type: 'object',
              description: 'Parameters of the migration (each migration says which it takes)',
              additionalProperties: false,
              properties: {
                entities: {
                  type: 'array',
                  minItems: 1,
                  maxItems: 16,
                  items: { type: 'string', enum: entityNames() },
                },
                olderThanDays: { type: 'number', minimum: 0, maximum: MAX_OLDER_THAN_DAYS },
              },
            },
            batchSize: batchSizeField,
            maxRowsPerSecond: {
              anyOf: [rateField, { type: 'null' }],
              description: 'Throttle, in rows per second; null (or left out) runs unthrottled',
            },
            dryRun: { type: 'boolean' },
            maxFailedBatches: { type: 'integer', minimum: 0, maximum: MAX_FAILED_BATCHES },
          },
        },
        bodyOptional: true,
        response: { 202: runBody, ...errorResponses(404, 409, 413, 414, 415, 503) },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const handle = await runner.start(request.params.name, body);
      return reply.code(202).header('location', `/v1/migrations/runs/${handle.runId}`).send(track(handle));
    },
  );

  app.get<{ Params: RunIdParams }>(
    '/v1/migrations/runs/:runId',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Status of one run, with its failed batches',
        tags: TAGS,
        params: runIdParams,
        response: {
          200: {
            type: 'object',
            required: ['run', 'progress', 'failedBatches'],
            properties: {
              run: runSchema,
              progress: {
                type: 'object',
                additionalProperties: true,
                description: 'as `sdops migrate status`',
              },
              failedBatches: { type: 'array', items: { type: 'object', additionalProperties: true } },
            },
          },
          ...errorResponses(404, 409, 414, 503),
        },
      },
    },
    async (request) => {
      addToCanonicalLine({ run_id: request.params.runId });
      const run = await runner.get(request.params.runId);
      const failedBatches = await runner.batches(run.runId, { status: 'failed', limit: 100 });
      return { run, progress: runStatus(run), failedBatches };
    },
  );

  app.post<{ Params: RunIdParams }>(
    '/v1/migrations/runs/:runId/stop',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Ask the run to stop after its batch in flight (state stopping, then stopped)',
        tags: TAGS,
        params: runIdParams,
        body: noFields,
        bodyOptional: true,
        response: { 200: runBody, ...errorResponses(404, 409, 413, 414, 415, 503) },
      },
    },
    async (request) => {
      addToCanonicalLine({ run_id: request.params.runId });
      return { run: await runner.stop(request.params.runId) };
    },
  );

  for (const action of ['resume', 'retry-failed'] as const) {
    app.post<{
      Params: RunIdParams;
      Body: { batchSize?: number; maxRowsPerSecond?: number | null } | undefined;
    }>(
      `/v1/migrations/runs/:runId/${action}`,
      {
        config: { access: 'admin' },
        schema: {
          summary:
            action === 'resume'
              ? 'Continue a run from its checkpoint in the background'
              : 'Reprocess only the batches of a run recorded as failed',
          tags: TAGS,
          params: runIdParams,
          body: action === 'resume' ? resumeFields : noFields,
          bodyOptional: true,
          response: { 202: runBody, ...errorResponses(404, 409, 413, 414, 415, 503) },
        },
      },
      async (request, reply) => {
        const { runId } = request.params;
        // Named also when the run refuses (409): who asked what of the run is on its line either way.
        addToCanonicalLine({ run_id: runId });
        const handle =
          action === 'resume'
            ? await runner.resume(runId, request.body ?? {})
            : await runner.retryFailed(runId);
        return reply.code(202).header('location', `/v1/migrations/runs/${handle.runId}`).send(track(handle));
      },
    );
  }
}
