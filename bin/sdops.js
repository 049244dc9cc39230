#!/usr/bin/env node
// The CLI ships as TypeScript that Node runs natively (type stripping, Node >= 22.18), so
// `npm ci` is the only install step and the SQL schema files are read from src/ as they are.
// The project pins its runtime: `npm run`/`npx` put node_modules/.bin (the `node` dev dependency,
// Node 24) first on PATH. Started by an older Node some other way, this re-runs itself with that
// pinned Node, or says in one line what is missing.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const MIN = [22, 18];
const [major, minor] = process.versions.node.split('.').map(Number);
if (major > MIN[0] || (major === MIN[0] && minor >= MIN[1])) {
  // Every invocation compiles the same sources again; Node's on-disk compile cache (in the OS temp
  // folder unless NODE_COMPILE_CACHE says otherwise) skips that after the first run.
  module.enableCompileCache?.();
  await import('../src/cli/main.ts');
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    process.stderr.write(
      `sdops: needs Node.js >= ${MIN.join('.')} (this is ${process.version}); run \`npm ci\` in ${fileURLToPath(new URL('..', import.meta.url))} to install the project's Node 24\n`,
    );
    process.exit(2);
  }
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  // The command runs in the child: a SIGTERM to this process (a supervisor, `kill <pid>`, the
  // runbook's kill -TERM) is passed on, so a worker or a migration stops gracefully instead of being
  // left running without its parent. SIGINT is not: a terminal's Ctrl-C reaches both processes.
  const forward = () => child.kill('SIGTERM');
  process.on('SIGTERM', forward);
  child.on('error', (error) => {
    process.stderr.write(`sdops: could not start ${pinned}: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    process.off('SIGTERM', forward);
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
