import { type ChildProcess, spawn } from 'node:child_process';
import { REPO_ROOT, SDOPS_BIN } from './cli.ts';

/** A long-running `sdops` process (worker, serve, migrate start) as an operator would start it. */
export interface SdopsProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Resolves once the output contains `text`; rejects when the process exits first or after timeoutMs. */
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Sends the signal and resolves with the exit code and how long the exit took (ms). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; ms: number }>;
  /** SIGKILL if still running (for after() hooks). */
  kill(): void;
}

export function startSdops(args: readonly string[], env: Record<string, string | undefined>): SdopsProcess {
  const child = spawn(process.execPath, [SDOPS_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const collect = (d: Buffer) => {
    out += d.toString('utf8');
    for (const l of listeners) l();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      done = true;
      for (const l of listeners) l();
      resolve(code);
    }),
  );
  const running = () => !done && child.exitCode === null && child.signalCode === null;
  return {
    child,
    pid: child.pid ?? 0,
    output: () => out,
    exited,
    waitForOutput(text, timeoutMs = 30_000) {
      const seen = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (seen()) finish();
          else if (done) finish(new Error(`sdops ${args.join(' ')} exited before printing ${text}:\n${out}`));
        };
        const timer = setTimeout(
          () => finish(new Error(`sdops ${args.join(' ')}: no ${text} within ${timeoutMs} ms:\n${out}`)),
          timeoutMs,
        );
        const finish = (error?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 60_000) {
      const t0 = performance.now();
      if (running()) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(new Error(`sdops ${args.join(' ')} did not exit within ${timeoutMs} ms of ${signal}`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      return { code, ms: performance.now() - t0 };
    },
    kill() {
      if (running()) child.kill('SIGKILL');
    },
  };
}
