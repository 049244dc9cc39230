import { writeSync } from 'node:fs';
import { Writable } from 'node:stream';

/** Longest a line waits in the buffer. */
export const LINE_FLUSH_INTERVAL_MS = 20;
/** A buffer this large is written at once, without waiting for the interval. */
export const LINE_FLUSH_BYTES = 64 * 1024;

/**
 * Console log lines for stdout/stderr, handed to the real stream in batches instead of one line at
 * a time. When stdout is a pipe (a container runtime, a supervisor, a parent process) Node writes it
 * synchronously on Linux, one system call per line; at a line per job or request that cost more CPU
 * than building the line itself (measured in `npm run bench -- worker`). Pino's async destinations
 * batch the same way.
 *
 * Lines keep their order and wait at most LINE_FLUSH_INTERVAL_MS. Whatever is still buffered when
 * the process exits (normal end, process.exit, an uncaught exception) is written synchronously from
 * the 'exit' handler, so only a SIGKILL can lose lines, and then at most one interval's worth.
 */
class LineBatchingStream extends Writable {
  private pending: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  private readonly target: NodeJS.WriteStream;

  constructor(private readonly fd: 1 | 2) {
    super({ decodeStrings: false });
    this.target = fd === 1 ? process.stdout : process.stderr;
    process.once('exit', () => this.flushSync());
  }

  override _write(chunk: string | Buffer, _encoding: BufferEncoding, done: (error?: Error) => void): void {
    const line = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.pending.push(line);
    this.bytes += line.length;
    if (this.bytes >= LINE_FLUSH_BYTES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), LINE_FLUSH_INTERVAL_MS);
      // A pending flush must not keep an otherwise finished process alive; 'exit' writes the rest.
      this.timer.unref();
    }
    done();
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

const streams = new Map<1 | 2, LineBatchingStream>();

/** The one batching stream in front of process.stdout (1) or process.stderr (2). */
export function batchedStdio(fd: 1 | 2): Writable {
  let stream = streams.get(fd);
  if (!stream) {
    stream = new LineBatchingStream(fd);
    streams.set(fd, stream);
  }
  return stream;
}
