import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface WorkerChild {
  readonly child: ChildProcess;
  readonly pid: number;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Resolves once the child printed its ready line. */
  readonly ready: Promise<void>;
}

const FIXTURE = fileURLToPath(new URL('./fixtures/worker-child.ts', import.meta.url));

/** Starts a worker child process (fixtures/worker-child.ts) with the given environment. */
export function spawnWorker(env: Record<string, string>): WorkerChild {
  const child = spawn(process.execPath, [FIXTURE], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  const collect = (d: Buffer) => {
    out += d.toString('utf8');
    if (out.includes('worker-child ready')) onReady();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, pid: child.pid ?? 0, output: () => out, exited, ready };
}

/** Rejects if the promise does not settle within ms (so a hung child fails the test clearly). */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}
