import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ExportedLogRecord, type ExportedSpan, type OtlpSink, startOtlpSink } from './otlp-sink.ts';
import { COLLECTOR_CONFIG, COLLECTOR_OVERLAY, REPO_ROOT } from './paths.ts';
import { freePort, httpOk, type ManagedProcess, startProcess } from './process.ts';
import { giveUp, waitUntil } from '../../support/wait.ts';

const execFileAsync = promisify(execFile);

let binaryPromise: Promise<string> | undefined;

/**
 * Path of the otelcol-sdops binary: SDOPS_OTELCOL_BIN, or whatever scripts/collector-build.sh
 * prints last (it builds on a cold cache, minutes; callers need a generous timeout).
 */
export function collectorBinary(): Promise<string> {
  binaryPromise ??= (async () => {
    const fromEnv = process.env.SDOPS_OTELCOL_BIN;
    if (fromEnv !== undefined && fromEnv !== '') {
      if (!existsSync(fromEnv)) throw new Error(`SDOPS_OTELCOL_BIN=${fromEnv} does not exist`);
      return fromEnv;
    }
    try {
      const { stdout } = await execFileAsync('bash', [join(REPO_ROOT, 'scripts/collector-build.sh')], {
        cwd: REPO_ROOT,
        maxBuffer: 64 * 1024 * 1024,
      });
      const path = stdout.trim().split('\n').at(-1) ?? '';
      if (!existsSync(path)) throw new Error(`collector-build.sh printed '${path}', which does not exist`);
      return path;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(
        `building the collector failed (npm run collector:build):\n${stderr.split('\n').slice(-15).join('\n')}`,
      );
    }
  })();
  return binaryPromise;
}

export interface CollectorPorts {
  readonly otlpGrpc: number;
  readonly otlpHttp: number;
  /** The `prometheus` exporter (application metrics, and span metrics on the single collector). */
  readonly metrics: number;
  /** The `prometheus/span_metrics` exporter (a gateway's span metrics). */
  readonly spanMetrics: number;
  /** The collector's own telemetry (service.telemetry.metrics). */
  readonly telemetry: number;
  readonly health: number;
}

export interface TestCollector {
  readonly binary: string;
  /** What the collector is called in failure messages (`collector`, `agent-1`, `gateway-2` ...). */
  readonly name: string;
  readonly ports: CollectorPorts;
  /** OTLP/HTTP base URL for SDK exporters (append /v1/traces, /v1/metrics, /v1/logs). */
  readonly otlpHttpEndpoint: string;
  /** Env the app under test needs to send its telemetry here. */
  readonly appEnv: Record<string, string>;
  readonly dir: string;
  readonly sink: OtlpSink;
  readSpans(): ExportedSpan[];
  readLogs(): ExportedLogRecord[];
  logTail(lines?: number): string;
  isRunning(): boolean;
  /** Process id while running (for /proc CPU and memory readings). */
  pid(): number | undefined;
  /** Starts the collector again on the same ports after stop(). */
  start(): Promise<void>;
  /** Stops the collector process; the sink and temp dir stay (use close() for everything). */
  stop(): Promise<void>;
  close(): Promise<void>;
}

/** The single collector as the tests run it: config.yaml + the test overlay. */
export const SINGLE_COLLECTOR_CONFIGS: readonly string[] = [COLLECTOR_CONFIG, COLLECTOR_OVERLAY];

export interface CollectorOptions {
  /** Config files layered in this order (default: SINGLE_COLLECTOR_CONFIGS). */
  readonly configs?: readonly string[];
  /** Env beside the ports, e.g. OTELCOL_GATEWAYS for an agent. */
  readonly env?: Record<string, string>;
  readonly name?: string;
}

/** Args and env that make a binary run the configs (default: the single collector) on the given ports. */
export function collectorRunSpec(
  ports: CollectorPorts,
  sinkEndpoint: string,
  configs: readonly string[] = SINGLE_COLLECTOR_CONFIGS,
): { args: string[]; env: Record<string, string> } {
  return {
    args: configs.flatMap((config) => ['--config', config]),
    env: {
      OTELCOL_OTLP_GRPC_ENDPOINT: `127.0.0.1:${ports.otlpGrpc}`,
      OTELCOL_OTLP_HTTP_ENDPOINT: `127.0.0.1:${ports.otlpHttp}`,
      OTELCOL_PROMETHEUS_ENDPOINT: `127.0.0.1:${ports.metrics}`,
      OTELCOL_SPAN_METRICS_ENDPOINT: `127.0.0.1:${ports.spanMetrics}`,
      OTELCOL_TELEMETRY_HOST: '127.0.0.1',
      OTELCOL_TELEMETRY_PORT: String(ports.telemetry),
      OTELCOL_HEALTH_ENDPOINT: `127.0.0.1:${ports.health}`,
      SDOPS_TEST_SINK_ENDPOINT: sinkEndpoint,
    },
  };
}

/**
 * Runs the real collector on free ports (default: otel-collector/config.yaml +
 * test/pipeline/collector-overlay.yaml), with traces and logs going to its own local OTLP JSON sink,
 * and waits for its health check.
 */
export async function startCollector(options: CollectorOptions = {}): Promise<TestCollector> {
  const name = options.name ?? 'collector';
  const binary = await collectorBinary();
  const dir = mkdtempSync(join(tmpdir(), `sdops-otelcol-${name}-`));
  const sink = await startOtlpSink(dir);
  const ports: CollectorPorts = {
    otlpGrpc: await freePort(),
    otlpHttp: await freePort(),
    metrics: await freePort(),
    spanMetrics: await freePort(),
    telemetry: await freePort(),
    health: await freePort(),
  };
  const spec = collectorRunSpec(ports, sink.endpoint, options.configs);
  const env = { ...process.env, ...spec.env, ...options.env };
  const logFile = join(dir, 'collector.log');
  let proc: ManagedProcess | undefined;

  const start = async (): Promise<void> => {
    if (proc !== undefined && !proc.exited()) throw new Error('the test collector is already running');
    const current = startProcess(binary, spec.args, { env, logFile });
    proc = current;
    try {
      await waitUntil(
        `the ${name} health check on :${ports.health}`,
        async () => {
          if (current.exited()) giveUp(`the ${name} exited`);
          return httpOk(`http://127.0.0.1:${ports.health}/`);
        },
        { timeoutMs: 30_000 },
      );
    } catch (error) {
      await current.stop();
      throw new Error(`${(error as Error).message}\n--- ${name} log (${logFile}) ---\n${current.logTail()}`);
    }
  };
  const stop = async (): Promise<void> => {
    await proc?.stop();
  };

  await start();
  return {
    binary,
    name,
    ports,
    otlpHttpEndpoint: `http://127.0.0.1:${ports.otlpHttp}`,
    appEnv: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${ports.otlpHttp}` },
    dir,
    sink,
    readSpans: () => sink.readSpans(),
    readLogs: () => sink.readLogs(),
    logTail: (lines) => proc?.logTail(lines) ?? '',
    isRunning: () => proc !== undefined && !proc.exited(),
    pid: () => (proc !== undefined && !proc.exited() ? proc.child.pid : undefined),
    start,
    stop,
    async close() {
      await stop();
      await sink.close();
      if (process.env.SDOPS_KEEP_TEST_DIRS !== '1') rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `otelcol-sdops validate` on the given configs; resolves with the exit code and output. */
export async function validateCollectorConfig(
  configs: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const binary = await collectorBinary();
  const args = ['validate', ...configs.flatMap((config) => ['--config', config])];
  try {
    const { stdout, stderr } = await execFileAsync(binary, args, { env: { ...process.env, ...env } });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? 1, output: (failure.stdout ?? '') + (failure.stderr ?? '') };
  }
}
