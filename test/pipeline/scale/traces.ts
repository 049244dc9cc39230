import {
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';

/**
 * Synthetic traces shaped like the ones sdops emits (names, kinds and attributes from
 * docs/telemetry.md), so the gateway's keep rules and span-metrics dimensions see what they see in
 * production. Durations are set through explicit start/end times: a "slow" request costs no wall time.
 */

export type Role = 'api' | 'worker' | 'migrate' | 'cli';
export const SERVICE_NAMES: Record<Role, string> = {
  api: 'sdops-api',
  worker: 'sdops-worker',
  migrate: 'sdops-migrate',
  cli: 'sdops-cli',
};

/** Traces a role emits per API trace: API traffic dominates, as in production. */
export const ROLE_WEIGHT: Record<Role, number> = { api: 1, worker: 0.1, migrate: 0.05, cli: 0.05 };

/** ok = ok and fast (the only class the gateway samples); every other class must always be kept. */
export type TraceClass =
  | 'ok'
  | 'error'
  | 'slow'
  | 'enqueue'
  | 'start-run'
  | 'resume-run'
  | 'job'
  | 'migration'
  | 'cli';

export interface LedgerSpan {
  readonly spanId: string;
  readonly name: string;
  readonly error: boolean;
}

export interface LedgerTrace {
  readonly traceId: string;
  readonly cls: TraceClass;
  readonly service: string;
  readonly instance: string;
  readonly phase: string;
  /** When it was emitted (epoch ms). */
  readonly at: number;
  readonly spans: readonly LedgerSpan[];
}

/** The class of the i-th trace a role emits: 1 in 20 API traces fails, 1 in 20 is slow (1.5 s). */
export function traceClass(role: Role, i: number): TraceClass {
  if (role === 'worker') return 'job';
  if (role === 'migrate') return 'migration';
  if (role === 'cli') return 'cli';
  if (i % 20 === 0) return 'error';
  if (i % 20 === 10) return 'slow';
  // A delete whose cascade is a job: the job's trace links back to it.
  if (i % 20 === 5) return 'enqueue';
  // A migration run started or resumed over the API: the session's trace links back to it.
  if (i % 40 === 15) return 'start-run';
  if (i % 40 === 35) return 'resume-run';
  return 'ok';
}

interface SpanSpec {
  readonly name: string;
  readonly kind: SpanKind;
  readonly ms: number;
  readonly error?: boolean;
  readonly attributes: Record<string, string | number>;
  readonly children?: readonly SpanSpec[];
}

const ENTITY = { entity: 'documents', operation: 'delete' } as const;

function shape(cls: TraceClass): SpanSpec {
  switch (cls) {
    case 'ok':
    case 'error':
    case 'slow': {
      const error = cls === 'error';
      return {
        name: 'DELETE /v1/:entity/:id',
        kind: SpanKind.SERVER,
        ms: cls === 'slow' ? 1500 : 12,
        error,
        attributes: {
          'http.request.method': 'DELETE',
          'http.route': '/v1/:entity/:id',
          'http.response.status_code': error ? 500 : 200,
        },
        children: [
          {
            name: 'soft_delete.delete',
            kind: SpanKind.INTERNAL,
            ms: 5,
            error,
            attributes: { ...ENTITY, status: error ? 'failure' : 'success', count: error ? 0 : 1 },
          },
        ],
      };
    }
    case 'enqueue':
      return {
        name: 'DELETE /v1/:entity/:id',
        kind: SpanKind.SERVER,
        ms: 12,
        attributes: {
          'http.request.method': 'DELETE',
          'http.route': '/v1/:entity/:id',
          'http.response.status_code': 200,
        },
        children: [
          {
            name: 'soft_delete.delete',
            kind: SpanKind.INTERNAL,
            ms: 5,
            attributes: { entity: 'customers', operation: 'delete', status: 'success', count: 1 },
            children: [
              {
                // What src/db/traced.ts names pg-boss's insert of the cascade job.
                name: 'INSERT pgboss.job_common',
                kind: SpanKind.CLIENT,
                ms: 1,
                attributes: {
                  'db.system.name': 'postgresql',
                  'db.namespace': 'postgres',
                  'db.operation.name': 'INSERT',
                  'db.collection.name': 'pgboss.job_common',
                },
              },
            ],
          },
        ],
      };
    case 'start-run':
      return {
        name: 'POST /v1/migrations/:name/start',
        kind: SpanKind.SERVER,
        ms: 15,
        attributes: {
          'http.request.method': 'POST',
          'http.route': '/v1/migrations/:name/start',
          'http.response.status_code': 202,
        },
        children: [
          {
            // What src/db/traced.ts names the runner's insert of the run row (src/migration/store.ts).
            name: 'INSERT sdops_migration_runs',
            kind: SpanKind.CLIENT,
            ms: 2,
            attributes: {
              'db.system.name': 'postgresql',
              'db.namespace': 'postgres',
              'db.operation.name': 'INSERT',
              'db.collection.name': 'sdops_migration_runs',
            },
          },
        ],
      };
    case 'resume-run':
      return {
        name: 'POST /v1/migrations/runs/:runId/resume',
        kind: SpanKind.SERVER,
        ms: 15,
        attributes: {
          'http.request.method': 'POST',
          'http.route': '/v1/migrations/runs/:runId/resume',
          'http.response.status_code': 202,
        },
        children: [
          {
            // A resume writes the run's row, it inserts none (src/migration/lease-store.ts).
            name: 'UPDATE sdops_migration_runs',
            kind: SpanKind.CLIENT,
            ms: 2,
            attributes: {
              'db.system.name': 'postgresql',
              'db.namespace': 'postgres',
              'db.operation.name': 'UPDATE',
              'db.collection.name': 'sdops_migration_runs',
            },
          },
        ],
      };
    case 'job': {
      const batch = { name: 'soft_delete.batch', kind: SpanKind.INTERNAL, ms: 3, attributes: { ...ENTITY } };
      return {
        name: 'cleanup.job',
        kind: SpanKind.CONSUMER,
        ms: 20,
        attributes: { job_type: 'purge_expired', status: 'success', count: 2, entity: 'documents' },
        children: [
          {
            name: 'soft_delete.purge',
            kind: SpanKind.INTERNAL,
            ms: 10,
            attributes: { entity: 'documents', operation: 'purge', status: 'success', count: 2 },
            children: [batch, batch],
          },
        ],
      };
    }
    case 'migration': {
      const batch = {
        name: 'migration.batch',
        kind: SpanKind.INTERNAL,
        ms: 4,
        attributes: { migration: 'backfill-deleted-at', status: 'success', count: 100 },
      };
      return {
        name: 'migration.run',
        kind: SpanKind.INTERNAL,
        ms: 30,
        attributes: { migration: 'backfill-deleted-at', status: 'success', count: 300 },
        children: [batch, batch, batch],
      };
    }
    case 'cli':
      return {
        name: 'soft_delete.bulk',
        kind: SpanKind.INTERNAL,
        ms: 8,
        attributes: { ...ENTITY, status: 'success', count: 10 },
        children: [{ name: 'soft_delete.batch', kind: SpanKind.INTERNAL, ms: 4, attributes: { ...ENTITY } }],
      };
  }
}

/** Emits one trace of the class, ended at `now`; returns its spans (ids as exported). */
export function emitTrace(
  tracer: Tracer,
  cls: TraceClass,
  now = Date.now(),
): { root: Span; spans: LedgerSpan[] } {
  const spans: LedgerSpan[] = [];
  const toEnd: { span: Span; end: number }[] = [];
  const start = (spec: SpanSpec, parent: Context | undefined, begin: number): Span => {
    const span = tracer.startSpan(
      spec.name,
      { kind: spec.kind, attributes: spec.attributes, startTime: begin },
      parent ?? context.active(),
    );
    if (spec.error) span.setStatus({ code: SpanStatusCode.ERROR, message: 'synthetic failure' });
    spans.push({ spanId: span.spanContext().spanId, name: spec.name, error: spec.error === true });
    const ctx = trace.setSpan(parent ?? context.active(), span);
    for (const child of spec.children ?? []) start(child, ctx, begin + 1);
    toEnd.push({ span, end: begin + spec.ms });
    return span;
  };
  const spec = shape(cls);
  const root = start(spec, undefined, now - spec.ms);
  // Children were pushed before their parent: they end first, as in the app.
  for (const { span, end } of toEnd) span.end(end);
  return { root, spans };
}
