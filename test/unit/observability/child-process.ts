import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface ChildResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a fixture with extra env; fails (rejects) when it outlives timeoutMs. With readAfterMs, its
 * stdout is not read for that long at first (a stalled reader: the pipe fills up); with stdoutTo,
 * its stdout is that descriptor instead of a pipe.
 */
export function runFixture(
  name: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
  readAfterMs = 0,
  stdoutTo: 'pipe' | number = 'pipe',
): Promise<ChildResult> {
  const file = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', file], {
      env: { ...process.env, LOG_LEVEL: '', ...env },
      stdio: ['ignore', stdoutTo, 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    if (readAfterMs > 0) {
      child.stdout?.pause();
      setTimeout(() => child.stdout?.resume(), readAfterMs);
    }
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fixture ${name} did not finish within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A port nothing listens on: bound, then released. */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
