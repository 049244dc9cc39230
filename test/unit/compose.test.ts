import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parse } from 'yaml';

/**
 * compose.yaml and the collector manifests checked without a Docker engine (neither the compose
 * plugin nor a daemon is available in CI): structure, mounts, pinned versions, and that the ocb
 * manifest builds exactly the components the collector configs use.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface HealthCheck {
  test: string[] | string;
}
interface ComposeService {
  image?: string;
  profiles?: string[];
  build?: string | { context: string; dockerfile?: string };
  command?: string[];
  restart?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: HealthCheck;
  depends_on?: string[] | Record<string, { condition: string }>;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

function readYaml<T>(relative: string): T {
  // merge: true resolves the x-app anchors (<<:) the way Compose does.
  return parse(readFileSync(`${ROOT}${relative}`, 'utf8'), { merge: true }) as T;
}

const compose = readYaml<ComposeFile>('compose.yaml');
const services = Object.entries(compose.services);

function dependencies(service: ComposeService): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d.condition]));
}

function bindMountSources(service: ComposeService): string[] {
  return (service.volumes ?? [])
    .map((volume) => volume.split(':')[0] ?? '')
    .filter((source) => source.startsWith('./') || source.startsWith('/'));
}

describe('compose.yaml', () => {
  it('defines the whole stack', () => {
    expect(Object.keys(compose.services)).to.include.members([
      'postgres',
      'sdops-api',
      'sdops-worker',
      'sdops-traffic',
      'otel-collector',
      'prometheus',
      'tempo',
      'loki',
      'grafana',
    ]);
  });

  it('pins every image to an explicit version or builds it from the Dockerfile', () => {
    for (const [name, service] of services) {
      if (service.build !== undefined) {
        expect(existsSync(`${ROOT}Dockerfile`), `${name} builds from ./Dockerfile`).to.equal(true);
        continue;
      }
      expect(service.image, `${name} has an image`).to.be.a('string');
      expect(service.image, `${name} pins a version tag`).to.match(/:v?\d+\.\d+(\.\d+)?$/);
    }
  });

  it('mounts only files and folders that exist in the repository', () => {
    const missing = services.flatMap(([name, service]) =>
      bindMountSources(service)
        .filter((source) => !existsSync(`${ROOT}${source.replace(/^\.\//, '')}`))
        .map((source) => `${name}: ${source}`),
    );
    expect(missing, 'bind mounts whose source is missing').to.deep.equal([]);
  });

  it('declares every named volume it uses', () => {
    const named = services.flatMap(([, service]) =>
      (service.volumes ?? [])
        .map((volume) => volume.split(':')[0] ?? '')
        .filter((source) => !source.startsWith('.') && !source.startsWith('/')),
    );
    expect(named.length).to.be.greaterThan(0);
    for (const volume of named) expect(Object.keys(compose.volumes ?? {})).to.include(volume);
  });

  it('waits only on services that can report the awaited condition', () => {
    for (const [name, service] of services) {
      for (const [dependency, condition] of Object.entries(dependencies(service))) {
        const target = compose.services[dependency];
        expect(target, `${name} depends on unknown service ${dependency}`).to.not.equal(undefined);
        if (condition === 'service_healthy') {
          expect(target?.healthcheck, `${name} waits for ${dependency} to be healthy`).to.not.equal(
            undefined,
          );
        }
        if (condition === 'service_completed_successfully') {
          expect(target?.restart, `${dependency} is a one-shot`).to.equal('no');
        }
      }
    }
  });

  it('publishes each host port once', () => {
    const hostPorts = services.flatMap(([, service]) => (service.ports ?? []).map((p) => p.split(':')[0]));
    expect(new Set(hostPorts).size).to.equal(hostPorts.length);
  });

  it('points the app at the collector and runs Prometheus with exemplar storage', () => {
    for (const name of ['sdops-api', 'sdops-worker', 'sdops-traffic']) {
      const env = compose.services[name]?.environment ?? {};
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT, name).to.equal('http://otel-collector:4318');
      expect(env.DATABASE_URL, name).to.match(/^postgres:\/\/.+@postgres:5432\//);
      expect(env.SDOPS_API_TOKENS, name).to.match(/admin:.+,read:.+/);
    }
    expect(compose.services.prometheus?.command).to.include('--enable-feature=exemplar-storage');
  });

  it('runs the same collector release the ocb manifest builds, in every collector service', () => {
    const manifest = readYaml<{ dist: { version: string } }>('otel-collector/builder-config.yaml');
    const collectors = services.filter(([, s]) => s.image?.startsWith('otel/opentelemetry-collector'));
    expect(collectors.map(([name]) => name).sort()).to.deep.equal([
      'otel-agent-1',
      'otel-agent-2',
      'otel-collector',
      'otel-gateway-1',
      'otel-gateway-2',
    ]);
    for (const [name, service] of collectors) {
      expect(service.image, name).to.equal(`otel/opentelemetry-collector-contrib:${manifest.dist.version}`);
    }
  });

  it('adds two agents, two gateways and app services spread over the agents only in the scale profile', () => {
    const scale = services.filter(([, s]) => s.profiles?.includes('scale')).map(([name]) => name);
    expect(scale.sort()).to.deep.equal([
      'otel-agent-1',
      'otel-agent-2',
      'otel-gateway-1',
      'otel-gateway-2',
      'sdops-api-scale',
      'sdops-worker-scale',
    ]);
    const gateways = ['otel-gateway-1:4317', 'otel-gateway-2:4317'];
    for (const name of ['otel-agent-1', 'otel-agent-2']) {
      const agent = compose.services[name];
      expect(agent?.command, name).to.deep.equal(['--config=/etc/otelcol/agent.yaml']);
      expect(parse(agent?.environment?.OTELCOL_GATEWAYS ?? ''), name).to.deep.equal(gateways);
    }
    for (const name of ['otel-gateway-1', 'otel-gateway-2']) {
      expect(compose.services[name]?.command, name).to.deep.equal([
        '--config=/etc/otelcol/config.yaml',
        '--config=/etc/otelcol/gateway.yaml',
      ]);
    }
    const endpoints = ['sdops-api-scale', 'sdops-worker-scale'].map(
      (name) => compose.services[name]?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT,
    );
    expect(endpoints).to.deep.equal(['http://otel-agent-1:4318', 'http://otel-agent-2:4318']);
  });

  it('has Prometheus discover the gateways and every tier collector by their compose names', () => {
    interface Job {
      job_name: string;
      dns_sd_configs?: { names: string[]; port: number }[];
    }
    const jobs = readYaml<{ scrape_configs: Job[] }>('prometheus/prometheus.yml').scrape_configs;
    const names = (job: string, port: number) =>
      (jobs.find((j) => j.job_name === job)?.dns_sd_configs ?? [])
        .filter((d) => d.port === port)
        .flatMap((d) => d.names)
        .sort();
    const tier = services.filter(([, s]) => s.profiles?.includes('scale') && s.image?.includes('collector'));
    expect(names('otel-collector', 8888)).to.deep.equal(tier.map(([name]) => name).sort());
    expect(names('otel-collector-exporter', 8889)).to.deep.equal(['otel-gateway-1', 'otel-gateway-2']);
    expect(names('otel-collector-span-metrics', 8890)).to.deep.equal(['otel-gateway-1', 'otel-gateway-2']);
  });
});

/** Component type (as written in a collector config) -> the Go module that provides it. */
const COMPONENT_MODULES: Record<string, string> = {
  otlp: 'go.opentelemetry.io/collector/receiver/otlpreceiver',
  memory_limiter: 'go.opentelemetry.io/collector/processor/memorylimiterprocessor',
  batch: 'go.opentelemetry.io/collector/processor/batchprocessor',
  tail_sampling: 'github.com/open-telemetry/opentelemetry-collector-contrib/processor/tailsamplingprocessor',
  transform: 'github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor',
  span_metrics: 'github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector',
  prometheus: 'github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter',
  otlp_http: 'go.opentelemetry.io/collector/exporter/otlphttpexporter',
  load_balancing: 'github.com/open-telemetry/opentelemetry-collector-contrib/exporter/loadbalancingexporter',
  health_check: 'github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension',
};

const SECTIONS = ['receivers', 'processors', 'connectors', 'exporters', 'extensions'] as const;
type Section = (typeof SECTIONS)[number];
type CollectorConfig = Partial<Record<Section, Record<string, unknown>>>;
type Manifest = { dist: { version: string } } & Partial<Record<Section, { gomod: string }[]>>;

describe('otel-collector/builder-config.yaml', () => {
  const manifest = readYaml<Manifest>('otel-collector/builder-config.yaml');
  const configs = [
    'otel-collector/config.yaml',
    'otel-collector/agent.yaml',
    'otel-collector/gateway.yaml',
    'test/pipeline/collector-overlay.yaml',
    'test/pipeline/gateway-overlay.yaml',
  ].map((file) => readYaml<CollectorConfig>(file));

  it('builds exactly the components the production configs (single, agent, gateway) and the test overlays use', () => {
    for (const section of SECTIONS) {
      const used = new Set(
        configs.flatMap((config) => Object.keys(config[section] ?? {}).map((id) => id.split('/')[0] ?? '')),
      );
      const unknown = [...used].filter((type) => COMPONENT_MODULES[type] === undefined);
      expect(unknown, `${section} types missing from COMPONENT_MODULES`).to.deep.equal([]);
      const wanted = [...used].map((type) => COMPONENT_MODULES[type]).sort();
      const built = (manifest[section] ?? []).map((m) => m.gomod.split(' ')[0]).sort();
      expect(built, section).to.deep.equal(wanted);
    }
  });

  it('uses one collector release for every component', () => {
    const versions = SECTIONS.flatMap((section) =>
      (manifest[section] ?? []).map((m) => m.gomod.split(' ')[1]),
    );
    expect(new Set(versions)).to.deep.equal(new Set([`v${manifest.dist.version}`]));
  });
});

describe('otel-collector/config.yaml keeps no series of a gone process for long', () => {
  type Config = {
    connectors: { span_metrics: { metrics_expiration?: string } };
    exporters: { prometheus: { metric_expiration?: string } };
  };
  const config = readYaml<Config>('otel-collector/config.yaml');
  const minutes = (d: string | undefined) => {
    const m = /^(\d+)(s|m)$/.exec(d ?? '');
    return m ? Number(m[1]) / (m[2] === 's' ? 60 : 1) : Number.NaN;
  };

  it('expires span metrics of a process with no span for 5 minutes (the connector default keeps them forever)', () => {
    expect(minutes(config.connectors.span_metrics.metrics_expiration)).to.equal(5);
  });

  it('drops idle series from the scrape after 5 minutes, well above the 10 s export interval of long-running processes', () => {
    expect(minutes(config.exporters.prometheus.metric_expiration)).to.equal(5);
  });
});
