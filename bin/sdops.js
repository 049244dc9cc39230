#!/usr/bin/env node
// The CLI ships as TypeScript that Node runs natively (type stripping, Node >= 22.18), so
// `npm ci` is the only install step and the SQL schema files are read from src/ as they are.
// The project pins its runtime: `npm run`/`npx` put node_modules/.bin (the `node` dev dependency,
// Node 24) first on PATH. Started by any other Node while that pinned Node is installed (a system
// Node 20, or a 22 or 24 of another minor), this re-runs itself with the pinned one; with none
// installed (a production install, the Docker image) it runs on Node >= 22.18 or says in one line
// what is missing.
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const MIN = [22, 18];
const [major, minor] = process.versions.node.split('.').map(Number);
const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
const onPinned = !existsSync(pinned) || realpathSync(pinned) === realpathSync(process.execPath);
if (onPinned && (major > MIN[0] || (major === MIN[0] && minor >= MIN[1]))) {
  if (process.env.SDOPS_SHIM_PARENT_FD === '3') await stopWithShimParent();
  // Started by npm (npx, an npm script): see stopWhenLauncherGoes.
  else if (process.env.npm_command) (await import('../src/cli/stop-signals.ts')).stopWhenLauncherGoes();
  // The version alone needs none of the program: loading it took 0.3 s and more on a busy host.
  // The same line as the program's own -V (src/cli/program.ts), which answers every other form.
  const args = process.argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    const { readFileSync, writeSync } = await import('node:fs');
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    try {
      writeSync(1, `sdops ${version} (Node.js ${process.version})\n`);
    } catch (error) {
      // As the program says it (src/cli/stdout-closed.ts): a reader gone is no failure, a full disk is.
      if (error.code !== 'EPIPE') {
        process.stderr.write(`sdops: the output could not be written (${error.message})\n`);
        process.exit(1);
      }
    }
    process.exit(0);
  }
  // Every invocation compiles the same sources again; Node's on-disk compile cache (in the OS temp
  // folder unless NODE_COMPILE_CACHE says otherwise) skips that after the first run.
  module.enableCompileCache?.();
  await import('../src/cli/main.ts');
} else {
  if (!existsSync(pinned)) {
    process.stderr.write(
      `sdops: needs Node.js >= ${MIN.join('.')} (this is ${process.version}) and the project's Node 24 is not installed: run \`npm ci\` in ${fileURLToPath(new URL('..', import.meta.url))} with install scripts on (not --ignore-scripts), or \`npm rebuild node\` there\n`,
    );
    process.exit(2);
  }
  // fd 3 is a pipe only this process holds open: its end, even by SIGKILL, reaches the child.
  // The child runs in a session of its own (detached), so a signal reaches it once, through this
  // process: a terminal's Ctrl-C or hang-up comes here only (in one process group, Ctrl-C reached
  // both, and passed on it was a second Ctrl-C: "stop at once"), as does a `kill` of this pid.
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, SDOPS_SHIM_PARENT_FD: '3' },
    detached: true,
  });
  const passOn = Object.fromEntries(
    ['SIGINT', 'SIGTERM', 'SIGHUP'].map((signal) => [signal, () => child.kill(signal)]),
  );
  for (const [signal, handler] of Object.entries(passOn)) process.on(signal, handler);
  // Ctrl-Z: the child's group has no parent in its session, so the kernel drops a SIGTSTP sent to
  // it; SIGSTOP it instead, then stop this process as the shell expects. `fg`/`bg` (SIGCONT) wake
  // this process, which wakes the child.
  const suspend = () => {
    child.kill('SIGSTOP');
    process.kill(process.pid, 'SIGSTOP');
  };
  const resume = () => child.kill('SIGCONT');
  process.on('SIGTSTP', suspend).on('SIGCONT', resume);
  child.on('error', (error) => {
    process.stderr.write(`sdops: could not start ${pinned}: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const [name, handler] of Object.entries(passOn)) process.off(name, handler);
    process.off('SIGTSTP', suspend).off('SIGCONT', resume);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

/**
 * In the child of the re-run above: when the parent ends without passing a signal on (kill -9 of
 * the process a supervisor or a shell started), its end of the pipe on fd 3 closes, and the command
 * stops as on SIGTERM instead of running on without a parent (holding the embedded database's lock).
 */
async function stopWithShimParent() {
  delete process.env.SDOPS_SHIM_PARENT_FD;
  const { Socket } = await import('node:net');
  const parent = new Socket({ fd: 3, readable: true, writable: false });
  parent.on('error', () => {});
  parent.on('close', () => process.kill(process.pid, 'SIGTERM'));
  parent.resume();
  parent.unref();
}
