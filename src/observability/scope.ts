/**
 * The instrumentation scope of everything this product records, one name for its tracer, meters and
 * logger: `otel_scope_name` in Prometheus, the scope of its spans in Tempo and of its records in Loki.
 */
export const SCOPE_NAME = 'soft-delete-ops';
