import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { CollectorPorts } from './collector.ts';
import { composePrometheusFlags, prometheusTool, promtool } from '../../support/prometheus-bin.ts';
import { PROMETHEUS_CONFIG } from './paths.ts';
import { freePort, httpOk, type ManagedProcess, startProcess } from './process.ts';
import { giveUp, waitUntil } from '../../support/wait.ts';

interface ScrapeConfig {
  job_name: string;
  scrape_interval?: string;
  scrape_timeout?: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  [key: string]: unknown;
}
interface PrometheusConfig {
  global?: Record<string, unknown>;
  rule_files?: string[];
  scrape_configs?: ScrapeConfig[];
  [key: string]: unknown;
}

/** Which local address replaces the compose target of each job in prometheus/prometheus.yml. */
export type TargetOverrides = Readonly<Record<string, readonly string[]>>;

export function collectorTargets(ports: CollectorPorts, prometheusPort: number): TargetOverrides {
  return {
    'otel-collector-exporter': [`127.0.0.1:${ports.metrics}`],
    // The single collector serves span metrics with the rest; only gateways use this job.
    'otel-collector-span-metrics': [],
    'otel-collector': [`127.0.0.1:${ports.telemetry}`],
    prometheus: [`127.0.0.1:${prometheusPort}`],
  };
}

/**
 * The production prometheus/prometheus.yml with only targets and intervals overridden, so the
 * tests exercise its scrape settings (honor_labels, job names, rule files). A job without an
 * override fails loudly: a new production job must be wired into the tests deliberately.
 */
export function deriveTestConfig(
  targets: TargetOverrides,
  {
    interval = '1s',
    sourceFile = PROMETHEUS_CONFIG,
    extraRuleFiles = [],
  }: { interval?: string; sourceFile?: string; extraRuleFiles?: readonly string[] } = {},
): PrometheusConfig {
  const config = parse(readFileSync(sourceFile, 'utf8')) as PrometheusConfig;
  config.global = { ...config.global, scrape_interval: interval, evaluation_interval: interval };
  config.rule_files = [
    ...(config.rule_files ?? []).map((pattern) =>
      isAbsolute(pattern) ? pattern : join(dirname(sourceFile), pattern),
    ),
    ...extraRuleFiles,
  ];
  for (const job of config.scrape_configs ?? []) {
    const override = targets[job.job_name];
    if (override === undefined) {
      throw new Error(`prometheus.yml job '${job.job_name}' has no test target; add it to the overrides`);
    }
    job.static_configs = [{ targets: [...override] }];
    // Compose's DNS names (the two-tier collectors) do not exist here.
    delete job.dns_sd_configs;
    delete job.scrape_interval;
    delete job.scrape_timeout;
  }
  return config;
}

export interface TestPrometheus {
  readonly url: string;
  readonly port: number;
  readonly configFile: string;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/**
 * Starts Prometheus on a free port with compose.yaml's flags (feature flags included) and a temp
 * TSDB, scraping the given targets every second, and waits for /-/ready.
 */
export async function startPrometheus(
  targets: (port: number) => TargetOverrides,
  { interval = '1s', extraRuleFiles = [] }: { interval?: string; extraRuleFiles?: readonly string[] } = {},
): Promise<TestPrometheus> {
  const binary = await prometheusTool('prometheus');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sdops-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, stringify(deriveTestConfig(targets(port), { interval, extraRuleFiles })));
  mkdirSync(join(dir, 'data'));
  const proc: ManagedProcess = startProcess(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...composePrometheusFlags(),
      '--log.level=warn',
    ],
    { logFile: join(dir, 'prometheus.log') },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(`Prometheus /-/ready on :${port}`, async () => {
      if (proc.exited()) giveUp('prometheus exited');
      return httpOk(`${url}/-/ready`);
    });
  } catch (error) {
    await proc.stop();
    throw new Error(`${(error as Error).message}\n--- prometheus log ---\n${proc.logTail()}`);
  }
  return {
    url,
    port,
    configFile,
    logTail: (lines) => proc.logTail(lines),
    async stop() {
      await proc.stop();
      if (process.env.SDOPS_KEEP_TEST_DIRS !== '1') rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function promtoolCheckConfig(file: string): Promise<{ code: number; output: string }> {
  return promtool(['check', 'config', file]);
}
