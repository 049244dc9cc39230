import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { REPO_ROOT } from './cli.ts';

const execFileAsync = promisify(execFile);

let binDir: Promise<string> | undefined;

/**
 * The folder holding the `prometheus` and `promtool` of the release compose.yaml runs:
 * SDOPS_PROMETHEUS_BIN_DIR (scripts/test.sh sets it), else whatever scripts/prometheus-build.sh
 * prints (a cache hit is instant; a cold build takes 10-16 minutes).
 */
export function prometheusBinDir(): Promise<string> {
  binDir ??= (async () => {
    const fromEnv = process.env.SDOPS_PROMETHEUS_BIN_DIR;
    if (fromEnv) return fromEnv;
    try {
      const { stdout } = await execFileAsync('bash', [join(REPO_ROOT, 'scripts/prometheus-build.sh')], {
        cwd: REPO_ROOT,
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout.trim().split('\n').at(-1) ?? '';
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(
        `building Prometheus failed (bash scripts/prometheus-build.sh):\n${stderr.slice(-2000)}`,
      );
    }
  })();
  return binDir;
}

export async function prometheusTool(name: 'prometheus' | 'promtool'): Promise<string> {
  const path = join(await prometheusBinDir(), name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run bash scripts/prometheus-build.sh`);
  return path;
}

/** Flags of compose.yaml's Prometheus that say where its files live: each test sets its own. */
const PLACE_FLAGS = ['--config.file', '--storage.tsdb.path', '--web.listen-address'];

/**
 * The flags compose.yaml runs Prometheus with (feature flags, receivers, lifecycle), minus where its
 * files live. compose.yaml is their single source: every Prometheus the tests start gets exactly
 * these, so what the tests prove holds for the stack.
 */
export function composePrometheusFlags(): string[] {
  const compose = parse(readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8')) as {
    services: { prometheus: { command: string[] } };
  };
  return compose.services.prometheus.command.filter(
    (flag) => !PLACE_FLAGS.some((place) => flag.startsWith(`${place}=`)),
  );
}

/** The compose Prometheus's PromQL feature flags, which promtool evaluates rules and tests with. */
export function promtoolFeatureFlags(): string[] {
  const features = composePrometheusFlags()
    .filter((flag) => flag.startsWith('--enable-feature='))
    .flatMap((flag) => flag.slice('--enable-feature='.length).split(','))
    .filter((feature) => feature.startsWith('promql-'));
  return features.length === 0 ? [] : [`--enable-feature=${features.join(',')}`];
}

/**
 * Runs promtool with the compose Prometheus's PromQL features; resolves with its exit code and
 * combined output, never rejects on a non-zero exit.
 */
export async function promtool(
  args: readonly string[],
  { input }: { input?: string } = {},
): Promise<{ code: number; output: string }> {
  const binary = await prometheusTool('promtool');
  return new Promise((resolve, reject) => {
    const child = execFile(
      binary,
      [...promtoolFeatureFlags(), ...args],
      { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? Number(error.code) : 0, output: stdout + stderr });
      },
    );
    child.stdin?.end(input ?? '');
  });
}
