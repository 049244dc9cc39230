import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'chai';
import type { ApiToken } from '../../../src/api/auth.ts';
import { buildServer } from '../../../src/api/server.ts';
import type { ApiQueue } from '../../../src/api/ports.ts';
import { type Database, openDatabase } from '../../../src/db/index.ts';
import { MigrationRunner } from '../../../src/migration/index.ts';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const TOKENS: ApiToken[] = [{ role: 'admin', token: ADMIN_TOKEN }];
export const AS_ADMIN = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** What a request that got past validation answers: the database is unreachable. */
export const REACHED_DATABASE = 503;

export interface OfflineApi {
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * The API with every route registered over a database nothing listens for (no PostgreSQL needed): a
 * request the edge refuses answers 400, one that gets through answers 503 unavailable. The queue's
 * methods ask the same database, as CleanupQueue's do.
 */
export async function offlineApi(): Promise<OfflineApi> {
  const db: Database = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/gone', poolSize: 1 });
  const ask = async () => {
    await db.query('SELECT 1');
    throw new Error('unreachable: the database is gone');
  };
  const queue: ApiQueue = {
    jobTypes: [],
    enqueue: ask,
    status: ask,
    job: ask,
    retry: ask,
    retryDead: ask,
    cancel: ask,
    queuedPayload: ask,
    normalisedPayload: (_type, payload) => payload,
  };
  const app = await buildServer({ db, tokens: TOKENS, queue, migrations: new MigrationRunner(db) });
  return {
    app,
    async close() {
      await app.close();
      await db.close();
    },
  };
}

/** One offline API for the tests of the calling describe: registers its before and after hooks. */
export function offlineApiForSuite(): () => OfflineApi {
  let api: OfflineApi | undefined;
  before(async () => {
    api = await offlineApi();
  });
  after(async () => {
    await api?.close();
  });
  return () => {
    if (!api) throw new Error('the offline API is not up yet (use it inside a test)');
    return api;
  };
}

export function inject(app: FastifyInstance, opts: InjectOptions): Promise<LightMyRequestResponse> {
  return app.inject({
    ...opts,
    headers: { ...AS_ADMIN, ...opts.headers },
  }) as Promise<LightMyRequestResponse>;
}

export function expectError(res: LightMyRequestResponse, status: number, code: string): string {
  expect(res.statusCode, res.body).to.equal(status);
  const body = res.json() as { error: { code: string; message: string } };
  expect(Object.keys(body), res.body).to.deep.equal(['error']);
  expect(body.error.code, res.body).to.equal(code);
  return body.error.message;
}

export interface OpenApiOperation {
  description?: string;
  parameters: { name: string; in: string; schema: Record<string, unknown> }[];
  requestBody?: unknown;
  responses: Record<
    string,
    { headers?: Record<string, unknown>; content?: Record<string, { schema: unknown }> }
  >;
}

export async function openApiOperations(
  app: FastifyInstance,
): Promise<{ method: string; path: string; op: OpenApiOperation }[]> {
  const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, OpenApiOperation>>;
  };
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}

/** A documented path with each parameter filled with a valid value (or `override`). */
export function concretePath(path: string, override?: { name: string; value: string }): string {
  const samples: Record<string, string> = {
    entity: 'customers',
    id: '1',
    name: 'backfill-deleted-at',
    runId: '00000000-0000-4000-8000-000000000000',
    jobId: '00000000-0000-4000-8000-000000000000',
  };
  return path.replace(/\{([A-Za-z]+)\}/g, (_m, name: string) => {
    if (override?.name === name) return override.value;
    const value = samples[name];
    if (value === undefined) throw new Error(`no sample value for path parameter ${name}`);
    return value;
  });
}
