import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SDOPS_BIN = fileURLToPath(new URL('../../bin/sdops.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `sdops` binary in a child process, the way an operator would. */
export function runCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 120_000,
): Promise<CliResult> {
  return runCommand(process.execPath, [SDOPS_BIN, ...args], {
    env: { ...process.env, OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'warn', ...env },
    timeoutMs,
  });
}

/**
 * Runs any command to its end (in the repository root unless `cwd` says otherwise) and collects its
 * output; SIGKILL after timeoutMs.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  {
    env = process.env,
    timeoutMs = 120_000,
    cwd = REPO_ROOT,
  }: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
