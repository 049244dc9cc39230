import { execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import semver from 'semver';
import { REPO_ROOT, SDOPS_BIN } from '../support/cli.ts';
import { waitUntil } from '../support/wait.ts';

/**
 * The project pins its runtime: the `node` dev dependency puts Node 24 in node_modules/.bin, which
 * `npm run`, `npm test` and `npx` put first on PATH, whatever the system Node is. These tests fail
 * when anything runs on another Node, and they stand in for npm's engine-strict (off, because npm
 * itself may run on an older system Node): every installed package must accept the pinned Node.
 */

const execFileAsync = promisify(execFile);

interface PackageJson {
  engines?: { node?: string };
  devDependencies?: Record<string, string>;
}
interface LockFile {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; dev?: boolean }>;
}

const pkg = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, 'utf8')) as PackageJson;
const lock = JSON.parse(readFileSync(`${REPO_ROOT}/package-lock.json`, 'utf8')) as LockFile;
const pinned = pkg.devDependencies?.node ?? '';

function runtimeOf(output: string): string {
  const match = /\(Node\.js (v[\d.]+)\)/.exec(output);
  if (!match?.[1]) throw new Error(`no runtime in: ${output}`);
  return match[1];
}

describe('the pinned runtime', () => {
  it('pins one exact Node version in package.json, the Dockerfile and the engines range', () => {
    expect(semver.valid(pinned), 'devDependencies.node is an exact version').to.equal(pinned);
    expect(semver.satisfies(pinned, pkg.engines?.node ?? '')).to.equal(true);
    const dockerfile = readFileSync(`${REPO_ROOT}/Dockerfile`, 'utf8');
    expect(dockerfile).to.match(new RegExp(`^FROM node:${pinned.replaceAll('.', '\\.')}-slim$`, 'm'));
  });

  it('runs this suite on the pinned Node', () => {
    expect(process.version, 'mocha runs on node_modules/.bin/node (npm test puts it first on PATH)').to.equal(
      `v${pinned}`,
    );
  });

  it('satisfies the engines range of every installed package', () => {
    const refused = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && !Array.isArray(entry.engines) && entry.engines?.node)
      .filter(([, entry]) => {
        const range = (entry.engines as { node: string }).node;
        return !semver.satisfies(pinned, range, { includePrerelease: true });
      })
      .map(
        ([path, entry]) => `${path}@${entry.version} needs node ${(entry.engines as { node: string }).node}`,
      );
    expect(refused).to.deep.equal([]);
  });

  it('runs `sdops` on the pinned Node through npm and npx, with an older system Node first on PATH', async () => {
    const system = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p));
    const path = `${system ? `${system.replace(/\/node$/, '')}:` : ''}${process.env.PATH ?? ''}`;
    const env = { ...process.env, PATH: path, OTEL_SDK_DISABLED: 'true' };
    const viaNpm = await execFileAsync('npm', ['run', '--silent', 'sdops', '--', '--version'], {
      cwd: REPO_ROOT,
      env,
    });
    expect(runtimeOf(viaNpm.stdout)).to.equal(`v${pinned}`);
    const viaNpx = await execFileAsync('npx', ['--no-install', 'sdops', '--version'], {
      cwd: REPO_ROOT,
      env,
    });
    expect(runtimeOf(viaNpx.stdout)).to.equal(`v${pinned}`);
  });

  it('answers a refused argument and --help without loading the OpenTelemetry SDK', async () => {
    // A hook records every module the CLI resolves; the SDK is most of a command's start-up time
    // and only a command that starts telemetry needs it.
    const dir = mkdtempSync(join(tmpdir(), 'sdops-imports-'));
    const hook = join(dir, 'hook.mjs');
    const seen = join(dir, 'seen.txt');
    writeFileSync(
      hook,
      `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ resolve(specifier, context, next) {
  appendFileSync(${JSON.stringify(seen)}, specifier + '\\n');
  return next(specifier, context);
} });
`,
    );
    try {
      for (const args of [['delete', 'documents', 'not-an-id'], ['--help']]) {
        writeFileSync(seen, '');
        await execFileAsync(process.execPath, ['--import', hook, SDOPS_BIN, ...args], {
          env: { ...process.env, OTEL_SDK_DISABLED: 'false' },
        }).catch((error: { code?: number }) => expect(error.code, args.join(' ')).to.equal(2));
        const resolved = readFileSync(seen, 'utf8').split('\n');
        expect(resolved, 'the CLI ran under the hook').to.include('../src/cli/main.ts');
        expect(
          resolved.filter((s) => s.startsWith('@opentelemetry/sdk-')),
          args.join(' '),
        ).to.deep.equal([]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('re-runs bin/sdops.js on the pinned Node when the system Node starts it', async () => {
    const system = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p)) ?? process.execPath;
    const { stdout } = await execFileAsync(system, [SDOPS_BIN, '--version'], {
      env: { ...process.env, OTEL_SDK_DISABLED: 'true' },
    });
    expect(runtimeOf(stdout)).to.equal(`v${pinned}`);
  });

  it('re-runs bin/sdops.js on the pinned Node when another Node of a supported version starts it', async function () {
    this.timeout(60_000);
    // Another binary of a supported version: the pinned one under another path (a system Node 24).
    const dir = mkdtempSync(join(tmpdir(), 'other-node-'));
    const other = join(dir, 'node');
    const pinnedBinary = realpathSync(`${REPO_ROOT}/node_modules/node/bin/node`);
    try {
      linkSync(pinnedBinary, other);
    } catch {
      copyFileSync(pinnedBinary, other); // another file system: a copy (126 MB) instead
    }
    const wrapper = spawn(other, [SDOPS_BIN, '--memory', 'worker', '--no-schedule'], {
      env: { ...process.env, OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'info', DATABASE_URL: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let exited = false;
    wrapper.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    wrapper.on('close', () => {
      exited = true;
    });
    try {
      await waitUntil('the worker to start', () => out.includes('worker started'));
      // Before, it ran in the other binary's process: the project ran on a Node it does not pin.
      const { stdout } = await execFileAsync('pgrep', ['-P', String(wrapper.pid)]);
      const child = Number(stdout.trim().split('\n')[0]);
      expect(realpathSync(`/proc/${child}/exe`)).to.equal(pinnedBinary);
      wrapper.kill('SIGTERM');
      await waitUntil('the worker to exit', () => exited, { timeoutMs: 30_000 });
    } finally {
      wrapper.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /**
   * `sdops --memory worker` started by the system Node: the wrapper re-runs it on the pinned Node as
   * its child. Its own process group, so the cleanup also reaches a child the wrapper left behind.
   */
  function workerUnderSystemNode() {
    const system = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p)) ?? process.execPath;
    const wrapper = spawn(system, [SDOPS_BIN, '--memory', 'worker', '--no-schedule'], {
      env: { ...process.env, OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'info', DATABASE_URL: undefined },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run = { wrapper, out: '', exitCode: undefined as number | null | undefined };
    let child = 0;
    for (const stream of [wrapper.stdout, wrapper.stderr]) {
      stream.on('data', (d: Buffer) => {
        run.out += d.toString();
      });
    }
    // 'close' waits for every holder of the output pipes: the worker child too.
    wrapper.on('close', (code) => {
      run.exitCode = code;
    });
    const groupAlive = () => {
      try {
        process.kill(-(wrapper.pid as number), 0);
        return true;
      } catch {
        return false;
      }
    };
    return {
      run,
      groupAlive,
      childPid: () => child,
      started: async () => {
        await waitUntil('the worker to start', () => run.out.includes('worker started'));
        // The re-run command has a session of its own: its pid, to clean up after a failed test.
        const { stdout } = await execFileAsync('pgrep', ['-P', String(wrapper.pid)]);
        child = Number(stdout.trim().split('\n')[0]);
      },
      cleanUp: () => {
        for (const pid of [-(wrapper.pid as number), child]) {
          try {
            if (pid) process.kill(pid, 'SIGKILL');
          } catch {
            // gone already
          }
        }
      },
    };
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`passes a ${signal} on to the re-run command, so a worker started by the system Node stops gracefully`, async function () {
      this.timeout(60_000);
      const worker = workerUnderSystemNode();
      try {
        await worker.started();
        // SIGINT without a terminal: a `kill -INT` of the wrapper alone (a terminal's Ctrl-C reaches both).
        worker.run.wrapper.kill(signal);
        // Before, the wrapper died at once and its child, the real worker, went on running.
        await waitUntil('the wrapper and its worker to exit', () => worker.run.exitCode !== undefined, {
          timeoutMs: 30_000,
        });
        expect(worker.run.exitCode, worker.run.out).to.equal(0);
        expect(worker.run.out).to.include('worker exiting');
      } finally {
        worker.cleanUp();
      }
    });
  }

  /** The one-letter state of /proc/<pid>/stat: T while stopped. */
  function stateOf(pid: number): string {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] ?? '?';
  }

  it('stops the re-run command with the wrapper on Ctrl-Z (SIGTSTP) and wakes it with the wrapper (SIGCONT)', async function () {
    this.timeout(60_000);
    const worker = workerUnderSystemNode();
    try {
      await worker.started();
      const pids = [worker.run.wrapper.pid as number, worker.childPid()];
      // Before, only the wrapper stopped: the command ran on, unseen, while the shell said "Stopped".
      worker.run.wrapper.kill('SIGTSTP');
      await waitUntil('both processes to stop', () => pids.every((pid) => stateOf(pid) === 'T'));
      worker.run.wrapper.kill('SIGCONT');
      await waitUntil('both processes to run again', () => pids.every((pid) => stateOf(pid) !== 'T'));
      worker.run.wrapper.kill('SIGTERM');
      await waitUntil('the worker to exit', () => worker.run.exitCode !== undefined, { timeoutMs: 30_000 });
      expect(worker.run.exitCode, worker.run.out).to.equal(0);
    } finally {
      worker.cleanUp();
    }
  });

  it('stops the re-run command gracefully when the system Node wrapper is killed with SIGKILL', async function () {
    this.timeout(60_000);
    const worker = workerUnderSystemNode();
    try {
      await worker.started();
      worker.run.wrapper.kill('SIGKILL');
      // Before, the worker went on running without its parent, holding its database for good.
      await waitUntil(
        'the orphaned worker to exit',
        () => worker.run.exitCode !== undefined && !worker.groupAlive(),
        { timeoutMs: 30_000 },
      );
      expect(worker.run.out).to.include('worker exiting');
    } finally {
      worker.cleanUp();
    }
  });

  it('hands a terminal Ctrl-C to the re-run command once, also with stdin redirected', async function () {
    this.timeout(180_000);
    const system = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => existsSync(p)) ?? process.execPath;
    // script(1) runs the command on a pseudo-terminal: a ^C written to it is the terminal's Ctrl-C,
    // sent to the whole foreground process group.
    const command = `${system} ${SDOPS_BIN} --memory demo --rows 2000 < /dev/null; echo EXIT=$?`;
    if (!['/usr/bin/script', '/bin/script'].some((p) => existsSync(p))) {
      throw new Error('this test needs script(1) from util-linux (Debian: apt-get install bsdutils)');
    }
    // script(1) runs the command with $SHELL, or /bin/sh when unset (as in CI). Debian's /bin/sh is
    // dash, which dies of a terminal's Ctrl-C even when the program it waits for handles it, so the
    // `echo EXIT` never ran there; bash waits for the program and goes on (as a login shell would).
    const term = spawn('script', ['-qefc', command, '/dev/null'], {
      env: { ...process.env, SHELL: '/bin/bash', OTEL_SDK_DISABLED: 'true', DATABASE_URL: undefined },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let closed = false; // script ended and its output is all read: nothing more will come
    term.on('close', () => {
      closed = true;
    });
    for (const stream of [term.stdout, term.stderr]) {
      stream.on('data', (d: Buffer) => {
        out += d.toString();
      });
    }
    try {
      // A failure shows what the terminal printed: CI once waited 60 s here with nothing to go by.
      const withOutput = (error: unknown) =>
        new Error(`${String(error)}\n--- terminal ---\n${out.slice(-3000)}`);
      await waitUntil('the demo to pass its seed', () => out.includes('delete one item on its own'), {
        timeoutMs: 60_000,
      }).catch((e: unknown) => Promise.reject(withOutput(e)));
      term.stdin.write('\x03');
      await waitUntil('the demo to finish', () => /EXIT=\d+/.test(out) || closed, {
        timeoutMs: 90_000,
      }).catch((e: unknown) => Promise.reject(withOutput(e)));
      // Before: the wrapper died at once (EXIT=130) and the demo ran on alone; then, with stdin not
      // a terminal, the wrapper passed the Ctrl-C on as a second one and the demo aborted.
      expect(out.match(/SIGINT: the demo finishes the run in progress/g), out.slice(-2000)).to.have.length(1);
      expect(/EXIT=(\d+)/.exec(out)?.[1], out.slice(-2000)).to.equal('0');
    } finally {
      term.kill('SIGKILL');
    }
  });
});
