import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SdopsError } from '../../src/errors.ts';
import { PROMETHEUS_RULES_FILE, REPO_ROOT } from './generate.ts';

/**
 * Runs pint (https://github.com/cloudflare/pint) on prometheus/rules/: offline with the repo's
 * .pint.hcl policy (runbook_url, severity, summary, description, dashboard link), or online
 * against a live Prometheus for the checks that need real series (promql/series, promql/rate).
 */

export const PINT_VERSION = 'v0.73.7';
export const PINT_CONFIG = '.pint.hcl';
export const PINT_ONLINE_CHECKS = ['promql/series', 'promql/rate'] as const;

export class PintUnavailableError extends SdopsError {
  constructor(message: string, cause?: unknown) {
    super('pint_unavailable', message, 'unavailable', { cause });
  }
}

export interface PintResult {
  readonly ok: boolean;
  readonly exitCode: number;
  /** pint's report (it writes problems to stderr). */
  readonly output: string;
  readonly args: readonly string[];
}

function run(file: string, args: readonly string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? Number(error.code) : 0, output });
    });
  });
}

/** Installs (or reuses) the pinned pint via scripts/ensure-pint.sh and returns its path. */
export async function ensurePint(root: string = REPO_ROOT): Promise<string> {
  try {
    const { code, output } = await run('bash', ['scripts/ensure-pint.sh'], root);
    const last = output.trim().split('\n').at(-1) ?? '';
    if (code !== 0) throw new PintUnavailableError(`scripts/ensure-pint.sh failed:\n${output}`);
    return last;
  } catch (error) {
    if (error instanceof PintUnavailableError) throw error;
    throw new PintUnavailableError('could not run scripts/ensure-pint.sh', error);
  }
}

async function lint(
  pint: string,
  config: string,
  extra: readonly string[],
  root: string,
): Promise<PintResult> {
  const args = ['--no-color', '--config', config, ...extra, 'lint', PROMETHEUS_RULES_FILE];
  const { code, output } = await run(pint, args, root);
  return { ok: code === 0, exitCode: code, output, args };
}

/** `pint --offline lint` with .pint.hcl: syntax, templates, and the label/annotation policy. */
export async function runPintOffline(opts: { pint?: string; root?: string } = {}): Promise<PintResult> {
  const root = opts.root ?? REPO_ROOT;
  const pint = opts.pint ?? (await ensurePint(root));
  return lint(pint, PINT_CONFIG, ['--offline'], root);
}

/**
 * pint's online checks (promql/series: every selector has series; promql/rate: rate() only on
 * counters, windows long enough for the scrape interval) against `prometheusUrl`, using
 * .pint.hcl plus a `prometheus` block for that server. Meant for the pipeline test, after its
 * workload has produced every metric the rules use.
 */
export async function runPintOnline(
  prometheusUrl: string,
  opts: { pint?: string; root?: string; timeout?: string } = {},
): Promise<PintResult> {
  const root = opts.root ?? REPO_ROOT;
  const pint = opts.pint ?? (await ensurePint(root));
  const dir = await mkdtemp(join(tmpdir(), 'sdops-pint-'));
  try {
    const base = await readFile(join(root, PINT_CONFIG), 'utf8');
    const config = join(dir, 'pint.hcl');
    const server = [
      'prometheus "pipeline" {',
      `  uri     = ${JSON.stringify(prometheusUrl)}`,
      `  timeout = ${JSON.stringify(opts.timeout ?? '30s')}`,
      '  include = ["prometheus/rules/.*"]',
      '}',
      // Only the online checks: the offline ones already ran in the unit tests.
      `checks {\n  enabled = ${JSON.stringify(PINT_ONLINE_CHECKS)}\n}`,
    ].join('\n');
    await writeFile(config, `${base}\n${server}\n`);
    return await lint(pint, config, [], root);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
