import type { FastifyInstance } from 'fastify';
import type { ApiQueue } from '../ports.ts';
import { errorResponses, noFields, uuidSchema } from '../schemas.ts';

const TAGS = ['queue'];

const statusRowSchema = {
  type: 'object',
  required: [
    'jobType',
    'waiting',
    'retrying',
    'active',
    'completed',
    'failed',
    'dead',
    'oldestWaitingSeconds',
  ],
  properties: {
    jobType: { type: 'string' },
    waiting: { type: 'integer' },
    retrying: { type: 'integer' },
    active: { type: 'integer' },
    completed: { type: 'integer' },
    failed: { type: 'integer' },
    dead: { type: 'integer' },
    oldestWaitingSeconds: { type: 'number' },
  },
} as const;

/**
 * A job as an API client sees it: its error's code only (the message may quote SQL or row values; the
 * worker's log and `sdops queue show` have it).
 */
const jobSchema = {
  type: 'object',
  required: ['job'],
  properties: {
    job: {
      type: 'object',
      required: [
        'jobId',
        'jobType',
        'state',
        'retryCount',
        'retryLimit',
        'createdAt',
        'startedAt',
        'endedAt',
      ],
      properties: {
        jobId: { type: 'string' },
        jobType: { type: 'string' },
        state: {
          type: 'string',
          enum: ['waiting', 'retrying', 'active', 'completed', 'failed', 'cancelled'],
        },
        retryCount: { type: 'integer' },
        retryLimit: { type: 'integer' },
        createdAt: { type: 'string' },
        startedAt: {
          type: ['string', 'null'],
          description:
            "When its attempt started; null while it waits (a job handed back at a worker's shutdown too: rowsCommitted says what it did)",
        },
        endedAt: { type: ['string', 'null'] },
        leaseEndsAt: { type: 'string' },
        heartbeatAt: { type: 'string' },
        heartbeatSeconds: { type: 'integer' },
        rowsCommitted: { type: 'integer' },
        result: { type: 'object', additionalProperties: true },
        error: { type: 'object', properties: { code: { type: 'string' } } },
      },
    },
  },
} as const;

const jobIdParams = {
  type: 'object',
  required: ['jobId'],
  additionalProperties: false,
  properties: { jobId: uuidSchema },
} as const;

/** The cleanup queue, as `sdops queue status` and `sdops queue retry` show and do it. */
export function registerQueueRoutes(app: FastifyInstance, queue: ApiQueue): void {
  app.get(
    '/v1/queue',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Jobs per type and state, dead-letter copies and the oldest waiting job',
        tags: TAGS,
        response: {
          200: {
            type: 'object',
            required: ['jobTypes'],
            properties: { jobTypes: { type: 'array', items: statusRowSchema } },
          },
          ...errorResponses(409, 503),
        },
      },
    },
    async () => ({ jobTypes: await queue.status() }),
  );

  app.get<{ Params: { jobId: string } }>(
    '/v1/queue/jobs/:jobId',
    {
      config: { access: 'read' },
      schema: {
        summary: 'One job by the id a 202 gave: its state, and its result or the code of its last error',
        tags: TAGS,
        params: jobIdParams,
        response: { 200: jobSchema, ...errorResponses(400, 404, 409, 414, 503) },
      },
    },
    async (request) => ({ job: await queue.job(request.params.jobId) }),
  );

  app.post<{ Params: { jobId: string } }>(
    '/v1/queue/jobs/:jobId/cancel',
    {
      config: { access: 'admin' },
      schema: {
        summary:
          'Cancel a waiting job (it runs no more: a bulk delete cancelled before its first attempt changes nothing; rowsCommitted says what an earlier attempt changed, which stays), or the dead-letter copies of a failed one',
        tags: TAGS,
        params: jobIdParams,
        // `{"dryRun": true}` was taken, ignored, and the job cancelled: `sdops queue cancel --dry-run` has no API form.
        body: noFields,
        bodyOptional: true,
        response: {
          200: {
            type: 'object',
            required: ['count', 'jobs'],
            properties: {
              count: {
                type: 'integer',
                description: 'Jobs cancelled (a failed job: its dead-letter copies)',
              },
              jobs: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['jobId', 'jobType', 'state', 'createdAt'],
                  properties: {
                    jobId: { type: 'string' },
                    jobType: { type: 'string' },
                    state: { type: 'string', description: 'cancelled' },
                    createdAt: { type: 'string' },
                    copyOf: {
                      type: 'string',
                      description:
                        'A dead-letter copy (jobId is its own id): the id of the failed job it copies',
                    },
                    rowsCommitted: {
                      type: 'integer',
                      description:
                        "Rows its attempts had already changed in committed batches (a retrying job, or one handed back at a worker's shutdown): they stay; a bulk_soft_delete's are restored by its op id",
                    },
                    opId: {
                      type: 'string',
                      description:
                        'With rowsCommitted, of a bulk_soft_delete: the delete_op_id its rows carry (POST /v1/{entity}/bulk-restore with {"filter": {"delete_op_id": opId}} restores them)',
                    },
                  },
                },
              },
            },
          },
          ...errorResponses(400, 404, 409, 413, 414, 415, 503),
        },
      },
    },
    async (request) => {
      const { count, jobs } = await queue.cancel({ jobId: request.params.jobId, dryRun: false });
      return {
        count,
        jobs: jobs.map(({ jobId, jobType, state, createdAt, copyOf, rowsCommitted, opId }) => ({
          jobId,
          jobType,
          state,
          createdAt,
          ...(copyOf ? { copyOf } : {}),
          ...(rowsCommitted !== undefined ? { rowsCommitted } : {}),
          ...(opId ? { opId } : {}),
        })),
      };
    },
  );

  app.post<{ Body: { jobId?: string; dead?: boolean } }>(
    '/v1/queue/retry',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Retry one failed or dead job by id, or every dead job with {"dead": true}',
        tags: TAGS,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            jobId: uuidSchema,
            dead: { type: 'boolean', const: true },
          },
          oneOf: [{ required: ['jobId'] }, { required: ['dead'] }],
        },
        response: {
          200: {
            type: 'object',
            properties: {
              jobId: { type: 'string' },
              jobType: { type: 'string' },
              action: { type: 'string', enum: ['revived', 'requeued', 'already_waiting'] },
              retried: { type: 'integer' },
              skipped: {
                type: 'array',
                description:
                  'Dead-letter entries that cannot be retried (left in place), with the error code and reason',
                items: {
                  type: 'object',
                  required: ['jobId', 'code', 'reason'],
                  properties: {
                    jobId: { type: 'string' },
                    code: { type: 'string', description: 'Stable error code (docs/errors.md)' },
                    reason: { type: 'string' },
                  },
                },
              },
            },
          },
          ...errorResponses(404, 409, 413, 415, 503),
        },
      },
    },
    async (request) => {
      if (request.body.jobId) return queue.retry(request.body.jobId);
      return queue.retryDead();
    },
  );
}
