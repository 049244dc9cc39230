import { run } from './run.ts';

/**
 * A command has closed what it opened and flushed its telemetry when run() returns. Whatever still
 * holds the event loop then (a half-started library after a failed start, a driver's timer) must not
 * keep a finished command alive, as a worker that failed to start once hung logging pool errors: the
 * process ends by itself, or after this grace at the latest.
 */
const EXIT_GRACE_MS = 2000;

const code = await run(process.argv.slice(2));
process.exitCode = code;
setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
