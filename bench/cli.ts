import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childNodeArgs, median, printRows } from './support.ts';

/**
 * `npm run bench -- cli [runs]`: how long an operator waits for `sdops`, end to end, as medians of
 * `runs` (default 10) invocations: `sdops --version`, and `sdops delete documents <id>` on the
 * embedded database with telemetry on and the collector unreachable (the CLI's worst ordinary
 * case: it must not wait for exports that cannot succeed). Targets: 0.3 s and 1.5 s. Each run is a
 * fresh process, as for an operator; Node's compile cache is warm after the untimed first run.
 */

const SDOPS = fileURLToPath(new URL('../bin/sdops.js', import.meta.url));
const TARGETS = { version: 0.3, delete: 1.5 } as const;

function timed(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [...childNodeArgs(), SDOPS, ...args], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code === 0) resolve(seconds);
      else reject(new Error(`sdops ${args.join(' ')} exited ${code}:\n${stderr}`));
    });
  });
}

export default async function cliBench(args: string[]): Promise<void> {
  const runs = Number(args[0] ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'sdops-bench-cli-'));
  // An address nothing listens on: every export fails, as with a collector that is down.
  const { DATABASE_URL: _ignored, ...rest } = process.env;
  const env = {
    ...rest,
    OTEL_SDK_DISABLED: 'false',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
    SDOPS_DATA_DIR: join(dir, 'data'),
  };
  try {
    await timed(['seed', '--rows', String(Math.max(runs, 10) * 2)], env);
    await timed(['--version'], env);
    const version: number[] = [];
    const del: number[] = [];
    for (let i = 1; i <= runs; i++) {
      version.push(await timed(['--version'], env));
      del.push(await timed(['delete', 'documents', String(i)], env));
    }
    const row = (name: keyof typeof TARGETS, values: number[]) => ({
      command: name === 'version' ? 'sdops --version' : 'sdops delete documents <id>',
      'median s': median(values).toFixed(3),
      'min s': Math.min(...values).toFixed(3),
      'max s': Math.max(...values).toFixed(3),
      'target s': TARGETS[name],
      meets: median(values) <= TARGETS[name] ? 'yes' : 'NO',
    });
    printRows(
      `CLI start-up, ${runs} runs each (${process.version}, embedded database, collector unreachable)`,
      [row('version', version), row('delete', del)],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
