/**
 * How a finished command leaves. When run() returns, the command has closed what it opened and
 * flushed its telemetry, but things may still hold the event loop: the OTLP exporters keep retrying
 * in the background until their own timeout (3 s per export, retries included) after shutdown
 * stopped waiting for an unreachable collector, and a half-started library or a driver's timer after
 * a failed start (a worker that failed to start once hung logging pool errors). None of that may
 * keep a finished command alive: once stdout and stderr have handed their output to the OS, the
 * process exits with the command's code.
 */
export async function exitWhenDrained(code: () => number): Promise<never> {
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  // Read once the output is out: a write that failed on the way changes it (run.ts).
  process.exit(code());
}

function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    // The callback runs once everything written before it is flushed (or the stream failed).
    if (stream.destroyed || !stream.writable) resolve();
    // Nothing buffered: nothing to flush, only a failed write's error event to let through first. An
    // empty write here failed on a full disk (/dev/full) and said a command's output was lost when it
    // had written none.
    else if (stream.writableLength === 0) setImmediate(resolve);
    else stream.write('', () => resolve());
  });
}
