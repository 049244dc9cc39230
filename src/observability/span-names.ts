/**
 * Span names and attribute keys as data: tracing.ts types its API with them and
 * test/unit/telemetry-catalog.test.ts compares them with docs/telemetry.md.
 */

/** Database client span attributes (semantic conventions), in the catalog's order. */
const DB_ATTRS = [
  'db.system.name',
  'db.namespace',
  'db.operation.name',
  'db.collection.name',
  'db.query.text',
  'server.address',
  'server.port',
  'db.response.status_code',
] as const;

/** HTTP server span attributes (semantic conventions), in the catalog's order. */
const HTTP_ATTRS = [
  'http.request.method',
  'http.route',
  'http.response.status_code',
  'url.path',
  'url.scheme',
  'network.protocol.version',
  'client.address',
  'user_agent.original',
] as const;

const SPAN_ATTRIBUTE_KEYS = [
  'entity',
  'operation',
  'status',
  'count',
  'batch.size',
  'run_id',
  'job_type',
  'migration',
  'migration.state',
  'migration.batch.result',
  'migration.mode',
  'migration.session',
  'migration.batch_no',
  'dry_run',
  'cursor.from',
  'cursor.to',
  'job.id',
  'attempt',
  'error.type',
  ...DB_ATTRS,
  ...HTTP_ATTRS,
] as const;
type SpanAttributeKey = (typeof SPAN_ATTRIBUTE_KEYS)[number];

/**
 * The closed set of the span `status` attribute, which the span_metrics connector turns into a
 * label: success, noop (nothing needed changing) or failure. A run's or batch's own state goes in
 * `migration.state` / `migration.batch.result`, never here.
 */
const SPAN_STATUSES = ['success', 'noop', 'failure'] as const;
type SpanStatus = (typeof SPAN_STATUSES)[number];

/** What a migration.batch attempt did besides failing (a failure is status=failure). */
const MIGRATION_BATCH_RESULTS = ['committed', 'exhausted', 'stopped'] as const;
type MigrationBatchResult = (typeof MIGRATION_BATCH_RESULTS)[number];

export type SpanAttributes = {
  readonly [K in Exclude<SpanAttributeKey, 'status' | 'migration.batch.result'>]?: string | number | boolean;
} & {
  readonly status?: SpanStatus;
  readonly 'migration.batch.result'?: MigrationBatchResult;
};

export interface SpanDefinition {
  /** Literal name, or a pattern with {placeholders} for names built from attributes. */
  readonly name: string;
  readonly kind: 'internal' | 'server' | 'client' | 'consumer';
  readonly attributes: readonly SpanAttributeKey[];
  readonly description: string;
}

const OP_ATTRS = ['entity', 'operation', 'status', 'count'] as const;
const BATCHED_OP_ATTRS = ['entity', 'operation', 'status', 'count', 'batch.size', 'run_id'] as const;

const SPANS = {
  delete: {
    name: 'soft_delete.delete',
    kind: 'internal',
    attributes: OP_ATTRS,
    description: 'One soft-delete core call for a single row (id lists and filters: soft_delete.bulk).',
  },
  restore: {
    name: 'soft_delete.restore',
    kind: 'internal',
    attributes: OP_ATTRS,
    description: 'One restore core call for a single row (id lists and filters: soft_delete.bulk).',
  },
  purge: {
    name: 'soft_delete.purge',
    kind: 'internal',
    attributes: BATCHED_OP_ATTRS,
    description:
      'One purge (hard delete of rows soft-deleted past retention); parent of its soft_delete.batch spans.',
  },
  archive: {
    name: 'soft_delete.archive',
    kind: 'internal',
    attributes: BATCHED_OP_ATTRS,
    description:
      'One archival call (move old soft-deleted rows to the archive table); parent of its soft_delete.batch spans.',
  },
  bulk: {
    name: 'soft_delete.bulk',
    kind: 'internal',
    attributes: ['entity', 'operation', 'status', 'count', 'batch.size', 'run_id'],
    description: 'A bulk operation; parent of one soft_delete.batch span per batch.',
  },
  batch: {
    name: 'soft_delete.batch',
    kind: 'internal',
    attributes: ['entity', 'operation', 'status', 'batch.size', 'run_id'],
    description:
      'One batch (one transaction) of a bulk, purge or archive call; child of that call. `status` is `success` once it committed, `failure` when it rolled back.',
  },
  migrationRun: {
    name: 'migration.run',
    kind: 'internal',
    attributes: [
      'migration',
      'run_id',
      'status',
      'migration.state',
      'count',
      'migration.mode',
      'migration.session',
      'dry_run',
    ],
    description: 'One migration run; a resumed run links to the trace of the run it resumes.',
  },
  migrationBatch: {
    name: 'migration.batch',
    kind: 'internal',
    attributes: [
      'migration',
      'run_id',
      'status',
      'migration.batch.result',
      'count',
      'batch.size',
      'entity',
      'attempt',
      'migration.batch_no',
      'cursor.from',
      'cursor.to',
      'dry_run',
    ],
    description: 'One migration batch (child of migration.run).',
  },
  cleanupJob: {
    name: 'cleanup.job',
    kind: 'consumer',
    attributes: ['job_type', 'job.id', 'attempt', 'status', 'count', 'entity'],
    description: 'One cleanup job attempt; links to the trace that enqueued the job.',
  },
  httpServer: {
    name: '{http.request.method} {http.route}',
    kind: 'server',
    attributes: HTTP_ATTRS,
    description: 'One HTTP request handled by the API (semantic conventions for HTTP server spans).',
  },
  dbQuery: {
    name: '{db.operation.name} {db.collection.name}',
    kind: 'client',
    attributes: DB_ATTRS,
    description:
      "One SQL statement run inside an operation's span, its child (semantic conventions for database client spans; no parameter values).",
  },
} as const satisfies Record<string, SpanDefinition>;

export const SPAN_DEFINITIONS: readonly SpanDefinition[] = Object.values(SPANS);

type LiteralSpan = Exclude<keyof typeof SPANS, 'httpServer' | 'dbQuery'>;
export type SpanName = (typeof SPANS)[LiteralSpan]['name'];
