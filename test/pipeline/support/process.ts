import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Ports freePort gave out in this process: the OS hands a just-closed port out again. */
const handedOut = new Set<number>();

/**
 * A port the OS just handed out, never one this process was given before: a collector's health
 * check and its OTLP receiver were once given the same port, and the collector would not start.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await osPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function osPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not obtain a free port'));
      });
    });
  });
}

/** Resolves true when GET url answers 2xx. */
export async function httpOk(url: string): Promise<true | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await response.arrayBuffer();
  return response.ok ? true : undefined;
}

export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Last lines of the process output, for failure messages. */
  logTail(lines?: number): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/** Spawns a long-running binary with its output captured to logFile. */
export function startProcess(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; logFile: string },
): ManagedProcess {
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let exitedFlag = false;
  // 'close' comes after the child's output is drained; 'exit' can come before it.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exitedFlag = true;
      resolve();
    });
    child.once('error', (error) => {
      log.write(`spawn error: ${error.message}\n`);
      exitedFlag = true;
      resolve();
    });
  });
  const logTail = (lines = 30): string => {
    try {
      return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no output)';
    }
  };
  return {
    child,
    logFile: options.logFile,
    logTail,
    exited: () => exitedFlag,
    async stop() {
      if (!exitedFlag) {
        child.kill('SIGTERM');
        const killed = await Promise.race([
          exitPromise.then(() => true),
          new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000)),
        ]);
        if (!killed) {
          child.kill('SIGKILL');
          await exitPromise;
        }
      }
      // Output that arrived after 'exit' was piped into an ended log: ERR_STREAM_WRITE_AFTER_END
      // ended the test run (a gateway printing as it stopped). A grandchild holding the pipes open
      // must not hold the test, hence the bound.
      await Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref())]);
      child.stdout?.unpipe(log);
      child.stderr?.unpipe(log);
      log.end();
    },
  };
}
