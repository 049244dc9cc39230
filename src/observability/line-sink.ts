import { writeSync } from 'node:fs';

/** Longest a line waits in the buffer. */
const LINE_FLUSH_INTERVAL_MS = 20;
/** A buffer this large is written at once, without waiting for the interval. */
const LINE_FLUSH_BYTES = 64 * 1024;

/** Where finished console lines go (each ends in a newline). */
export interface LineSink {
  writeLine(line: string): void;
}

/**
 * Console log lines for stdout/stderr, handed to the real stream in batches instead of one line at
 * a time. When stdout is a pipe (a container runtime, a supervisor, a parent process) Node writes it
 * synchronously on Linux, one system call per line; at a line per job or request that cost more CPU
 * than building the line itself (docs/performance.md, "Console lines"). Pino's async destinations
 * batch the same way. Not a Writable: its per-write bookkeeping would give back what batching saves.
 *
 * Lines keep their order and wait at most LINE_FLUSH_INTERVAL_MS. Whatever is still buffered when
 * the process exits (normal end, process.exit, an uncaught exception) is written synchronously from
 * the 'exit' handler, so only a SIGKILL can lose lines, and then at most one interval's worth.
 */
class BatchedStdio implements LineSink {
  private pending: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly target: NodeJS.WriteStream;

  private readonly fd: 1 | 2;

  constructor(fd: 1 | 2) {
    this.fd = fd;
    this.target = fd === 1 ? process.stdout : process.stderr;
    process.once('exit', () => this.flushSync());
  }

  writeLine(line: string): void {
    this.pending.push(line);
    this.bytes += line.length;
    if (this.bytes >= LINE_FLUSH_BYTES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), LINE_FLUSH_INTERVAL_MS);
      // A pending flush must not keep an otherwise finished process alive; 'exit' writes the rest.
      this.timer.unref();
    }
  }

  private take(): string {
    const text = this.pending.join('');
    this.pending = [];
    this.bytes = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    return text;
  }

  private flush(): void {
    if (this.pending.length > 0) this.target.write(this.take());
  }

  private flushSync(): void {
    if (this.pending.length === 0) return;
    try {
      writeSync(this.fd, this.take());
    } catch {
      // The reader went away (EPIPE); nothing left to tell.
    }
  }
}

const sinks = new Map<1 | 2, BatchedStdio>();

/** The one batching sink in front of process.stdout (1) or process.stderr (2). */
export function batchedStdio(fd: 1 | 2): LineSink {
  let sink = sinks.get(fd);
  if (!sink) {
    sink = new BatchedStdio(fd);
    sinks.set(fd, sink);
  }
  return sink;
}

/** Lines written straight to a stream the caller owns (tests, embedding applications). */
export function streamSink(stream: NodeJS.WritableStream): LineSink {
  return { writeLine: (line) => void stream.write(line) };
}
