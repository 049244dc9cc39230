import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { REPO_ROOT } from '../../support/cli.ts';
import { waitUntil } from '../../support/wait.ts';

/**
 * `npx sdops ...` runs the command under npm and a `sh -c` of npm's: a SIGTERM sent to npm alone
 * (`timeout`, a supervisor, `kill <pid>`) ends npm and the shell, and the shell never passes it on.
 * Each launch here has a process group of its own, so a failed test's cleanup reaches the command.
 */
/**
 * Starts a launcher in a process group of its own and gathers what it and its children print;
 * `closed` once every holder of the output pipes is gone (the command too, after its launcher).
 */
function launch(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const launcher = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const run = { out: '', closed: false };
  for (const stream of [launcher.stdout, launcher.stderr]) {
    stream.on('data', (d: Buffer) => {
      run.out += d.toString();
    });
  }
  launcher.on('close', () => {
    run.closed = true;
  });
  const cleanUp = () => {
    try {
      process.kill(-(launcher.pid as number), 'SIGKILL');
    } catch {
      // gone already
    }
  };
  return { launcher, run, cleanUp };
}

const npx = (args: string[]) =>
  launch('npx', ['--no-install', 'sdops', '--memory', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'info', DATABASE_URL: undefined },
  });

describe('a command started by npm (npx, npm scripts)', () => {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`stops gracefully when only npx gets a ${signal}`, async function () {
      this.timeout(90_000);
      const { launcher, run, cleanUp } = npx(['worker', '--no-schedule']);
      try {
        await waitUntil('the worker to start', () => run.out.includes('worker started'), {
          timeoutMs: 60_000,
        });
        // SIGKILL: npm's shell lives on, waiting for the command, which kept its parent.
        launcher.kill(signal);
        // Before, npm and its shell ended and the worker ran on without a parent, holding its database.
        await waitUntil('the worker to exit', () => run.closed, { timeoutMs: 20_000 });
        expect(run.out).to.include('worker exiting');
      } finally {
        cleanUp();
      }
    });
  }

  /** The fixture command under `sh -c`, as npm runs it; the shell waits for it (no exec). */
  function underShell() {
    const fixture = new URL('./fixtures/launched-command.ts', import.meta.url).pathname;
    const {
      launcher: shell,
      run,
      cleanUp,
    } = launch('sh', ['-c', `"${process.execPath}" "${fixture}"; true`]);
    return { shell, run, cleanUp };
  }

  it('stops once its launching shell is gone without passing a signal on', async function () {
    this.timeout(30_000);
    const { shell, run, cleanUp } = underShell();
    try {
      await waitUntil('the command to start', () => run.out.includes('ready'));
      shell.kill('SIGKILL');
      await waitUntil('the command to exit', () => run.closed, { timeoutMs: 10_000 });
      expect(run.out).to.include('first SIGTERM');
      expect(run.out).not.to.include('second');
    } finally {
      cleanUp();
    }
  });

  it('takes a Ctrl-C to the whole process group as one stop, not a second one once its shell is gone', async function () {
    this.timeout(30_000);
    const { shell, run, cleanUp } = underShell();
    try {
      await waitUntil('the command to start', () => run.out.includes('ready'));
      // A shell on a terminal dies of a Ctrl-C (dash does), and the command closes for a second after
      // it: the watch sees it orphaned while it is stopping.
      process.kill(-(shell.pid as number), 'SIGINT');
      await waitUntil('the command to take the Ctrl-C', () => run.out.includes('first SIGINT'));
      shell.kill('SIGKILL');
      await waitUntil('the command to exit', () => run.closed, { timeoutMs: 10_000 });
      expect(run.out).to.include('first SIGINT');
      expect(run.out).not.to.include('second');
    } finally {
      cleanUp();
    }
  });
});
