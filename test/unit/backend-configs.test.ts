import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../grafana/src/index.ts';

/**
 * Tempo and Loki only run as images in compose (AGPL: never built or vendored here), so their
 * configs are checked against the pinned releases' config structs, kept as data with the source
 * named: every top-level key of tempo/tempo.yaml and loki/loki.yaml must exist in the release
 * compose.yaml pins, and the Tempo 2.x blocks Tempo 3 removed must be gone.
 */

/** grafana/tempo v3.0.3, cmd/tempo/app/config.go `type Config` (yaml tags of its fields). */
const TEMPO_3_0_3_TOP_LEVEL = [
  'target',
  'auth_enabled',
  'multitenancy_enabled',
  'shutdown_delay',
  'stream_over_http_enabled',
  'http_api_prefix',
  'enable_go_runtime_metrics',
  'span_profiling',
  'memory',
  'server',
  'internal_server',
  'distributor',
  'metrics_generator_client',
  'live_store_client',
  'querier',
  'query_frontend',
  'metrics_generator',
  'ingest',
  'block_builder',
  'storage',
  'overrides',
  'memberlist',
  'usage_report',
  'cache',
  'backend_scheduler',
  'backend_scheduler_client',
  'backend_worker',
  'live_store',
];
/**
 * Removed by Tempo 3.0 (docs/sources/tempo/set-up-for-tracing/setup-tempo/upgrade.md, v3.0.3).
 * `metrics_generator_client` is still parsed, deprecated and ignored: it is in the list above.
 */
const TEMPO_3_REMOVED = ['ingester', 'ingester_client', 'compactor'];

/** grafana/loki v3.7.6, pkg/loki/loki.go `type Config` (yaml tags of its fields). */
const LOKI_3_7_6_TOP_LEVEL = [
  'target',
  'auth_enabled',
  'http_prefix',
  'ballast_bytes',
  'server',
  'internal_server',
  'ui',
  'distributor',
  'querier',
  'query_engine',
  'query_scheduler',
  'frontend',
  'query_range',
  'ruler',
  'ruler_storage',
  'ingester_client',
  'ingester',
  'pattern_ingester',
  'index_gateway',
  'bloom_build',
  'bloom_gateway',
  'storage_config',
  'chunk_store_config',
  'schema_config',
  'compactor',
  'compactor_client',
  'compactor_grpc_client',
  'limits_config',
  'frontend_worker',
  'table_manager',
  'memberlist',
  'kafka_config',
  'dataobj',
  'ingest_limits',
  'ingest_limits_frontend',
  'ingest_limits_frontend_client',
  'runtime_config',
  'operational_config',
  'tracing',
  'analytics',
  'profiling',
  'tenant_limits_allow_publish',
  'legacy_read_target',
  'common',
  'shutdown_delay',
  'metrics_namespace',
];

const yamlFile = (path: string) =>
  parse(readFileSync(join(REPO_ROOT, path), 'utf8')) as Record<string, unknown>;
const compose = yamlFile('compose.yaml') as {
  services: Record<string, { image: string; command?: string[] }>;
};

describe('Tempo and Loki configs against their pinned releases', () => {
  it('pins the releases whose config structs the key lists come from', () => {
    expect(compose.services.tempo?.image).to.equal('grafana/tempo:3.0.3');
    expect(compose.services.loki?.image).to.equal('grafana/loki:3.7.6');
    expect(compose.services.grafana?.image).to.equal('grafana/grafana:12.4.10');
  });

  it('uses only top-level keys Tempo 3.0.3 knows, none of the blocks Tempo 3 removed', () => {
    const keys = Object.keys(yamlFile('tempo/tempo.yaml'));
    expect(keys.filter((k) => !TEMPO_3_0_3_TOP_LEVEL.includes(k))).to.deep.equal([]);
    expect(keys.filter((k) => TEMPO_3_REMOVED.includes(k))).to.deep.equal([]);
  });

  it('keeps traces 7 days, links service-graph exemplars by trace_id and reports no usage', () => {
    const tempo = yamlFile('tempo/tempo.yaml') as {
      backend_worker: { compaction: { block_retention: string } };
      overrides: { defaults: { metrics_generator: { processors: string[]; trace_id_label_name: string } } };
      usage_report: { reporting_enabled: boolean };
      stream_over_http_enabled: boolean;
    };
    expect(tempo.backend_worker.compaction.block_retention).to.equal('168h');
    expect(tempo.overrides.defaults.metrics_generator).to.deep.equal({
      processors: ['service-graphs'],
      trace_id_label_name: 'trace_id',
    });
    expect(tempo.usage_report.reporting_enabled).to.equal(false);
    expect(tempo.stream_over_http_enabled).to.equal(true);
    const loki = yamlFile('loki/loki.yaml') as {
      limits_config: { retention_period: string };
      analytics: unknown;
    };
    expect(loki.limits_config.retention_period).to.equal('168h');
    expect(loki.analytics).to.deep.equal({ reporting_enabled: false });
  });

  it('uses only top-level keys Loki 3.7.6 knows', () => {
    const keys = Object.keys(yamlFile('loki/loki.yaml'));
    expect(keys.filter((k) => !LOKI_3_7_6_TOP_LEVEL.includes(k))).to.deep.equal([]);
  });

  it('gives every collector container a memory limit and derives the memory_limiter from it', () => {
    // The gateways layer gateway.yaml on config.yaml, so config.yaml's memory_limiter is theirs too.
    const collectors = {
      'otel-collector': 'config.yaml',
      'otel-gateway-1': 'config.yaml',
      'otel-agent-1': 'agent.yaml',
    };
    for (const [name, file] of Object.entries(collectors)) {
      const svc = compose.services[name] as unknown as {
        mem_limit: string;
        environment: Record<string, string>;
      };
      const limitMib = Number(/^(\d+)m$/.exec(svc.mem_limit)?.[1]);
      expect(limitMib, name).to.equal(512);
      const hard = Number(svc.environment.OTELCOL_MEMORY_LIMIT_MIB);
      const spike = Number(svc.environment.OTELCOL_MEMORY_SPIKE_LIMIT_MIB);
      expect(hard, name).to.equal(Math.round(limitMib * 0.8));
      expect(spike, name).to.be.within(Math.floor(hard * 0.15), Math.ceil(hard * 0.3));
      expect(svc.environment.GOMEMLIMIT, name).to.equal(`${hard}MiB`);
      const config = readFileSync(join(REPO_ROOT, 'otel-collector', file), 'utf8');
      expect(config, file).to.include(`limit_mib: \${env:OTELCOL_MEMORY_LIMIT_MIB:-${hard}}`);
      expect(config, file).to.include(`spike_limit_mib: \${env:OTELCOL_MEMORY_SPIKE_LIMIT_MIB:-${spike}}`);
      expect(config, file).to.not.match(/limit_percentage/);
    }
  });
});
