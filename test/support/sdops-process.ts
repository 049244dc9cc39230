import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { RELAYED_SIGNAL_MS } from '../../src/cli/stop-signals.ts';
import { REPO_ROOT, SDOPS_BIN } from './cli.ts';

/**
 * A person's second Ctrl-C (or a second SIGTERM): sent once the first one's relay window has passed,
 * since the same signal sooner is taken for the first one relayed by npm.
 */
export async function signalAgain(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  await delay(RELAYED_SIGNAL_MS + 50);
  child.kill(signal);
}

/** A long-running `sdops` child (serve, worker, migrate start ...) whose output the test can watch. */
export interface SdopsProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  output(): string;
  /** True while the process runs. */
  alive(): boolean;
  /** Resolves with the exit code (null after a signal). */
  readonly exited: Promise<number | null>;
  /** Resolves with the first match of `pattern` in the output; rejects if the process ends first or after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM (or `signal`), then SIGKILL after 15 s; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnSdops(args: readonly string[], env: Record<string, string | undefined>): SdopsProcess {
  const child = spawn(process.execPath, [SDOPS_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let running = true;
  const watchers = new Set<() => void>();
  const collect = (d: Buffer) => {
    out += d.toString('utf8');
    for (const w of watchers) w();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      running = false;
      for (const w of watchers) w();
      resolve(code);
    }),
  );
  const waitFor = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => {
        watchers.delete(check);
        reject(
          new Error(`sdops ${args.join(' ')}: no ${pattern} within ${timeoutMs} ms\n${out.slice(-3000)}`),
        );
      }, timeoutMs);
      function check() {
        const m = out.match(pattern);
        if (m || !running) {
          clearTimeout(timer);
          watchers.delete(check);
          if (m) resolve(m);
          else reject(new Error(`sdops ${args.join(' ')} exited before ${pattern}\n${out.slice(-3000)}`));
        }
      }
      watchers.add(check);
      check();
    });
  return {
    child,
    pid: child.pid ?? 0,
    output: () => out,
    alive: () => running,
    exited,
    waitFor,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!running) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** The JSON log lines among a process's output (a line a chunk boundary cut is skipped). */
export function jsonRecords(output: string): Record<string, unknown>[] {
  return output.split('\n').flatMap((line) => {
    try {
      return line.startsWith('{') ? [JSON.parse(line) as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}
