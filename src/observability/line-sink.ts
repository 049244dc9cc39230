import { once } from 'node:events';
import { writeSync } from 'node:fs';

/** Longest a line waits in the buffer. */
const LINE_FLUSH_INTERVAL_MS = 20;
/** A buffer this large is written at once, without waiting for the interval. */
const LINE_FLUSH_BYTES = 64 * 1024;
/** How soon a write the pipe refused (it was full) is tried again. */
const FULL_PIPE_RETRY_MS = 5;
/** How long the exit handler waits for a full pipe to take the last lines. */
const EXIT_WAIT_MS = 2000;
/**
 * The most a stalled reader is owed before newer lines are dropped (and counted as lost): a log
 * reader that stopped for hours (a logging driver whose backend is down) grew the process without
 * bound.
 */
const MAX_HELD_BYTES = 8 * 1024 * 1024;

/** What a line dropped because the reader stopped taking them says (console-loss.ts). */
const READER_STALLED: NodeJS.ErrnoException = Object.assign(
  new Error(`its reader stopped taking them, ${MAX_HELD_BYTES / 1024 / 1024} MiB wait`),
  { code: undefined },
);

/** Where finished console lines go (each ends in a newline). */
export interface LineSink {
  writeLine(line: string): void;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Something drawn on the terminal's last line without a newline: a progress bar. */
export interface HeldLine {
  /** Clears the line, so what is written next starts at its beginning. */
  clear(): void;
  /** Draws it again, below what was written. */
  redraw(): void;
}

let held: HeldLine | undefined;

/**
 * Console lines written while `line` is drawn clear it first and draw it again after them: written
 * to the descriptor, they bypass process.stderr, whose writes the bar watches, and a warning was
 * glued to the end of the bar ("... eta 41s{"level":"warn",...").
 */
export function holdLine(line: HeldLine | undefined): void {
  held = line;
}

/** writeWhatFits around the held line. */
function writeAroundHeldLine(fd: number, data: Buffer, onLoss: LossHandler): Buffer | undefined {
  const line = held;
  if (line === undefined) return writeWhatFits(fd, data, onLoss);
  line.clear();
  try {
    return writeWhatFits(fd, data, onLoss);
  } finally {
    line.redraw();
  }
}

/** Told what a write lost: the error, and the lines of the data it did not write. */
type LossHandler = (error: NodeJS.ErrnoException, lines: number) => void;

function linesIn(data: Buffer): number {
  let lines = 0;
  for (let at = data.indexOf(10); at !== -1; at = data.indexOf(10, at + 1)) lines++;
  return lines;
}

/**
 * Writes what the descriptor takes now; returns the rest (the pipe is full), or undefined when all
 * of it went out or the reader is gone (EPIPE: nothing left to tell). stdio descriptors are
 * non-blocking once process.stdout/stderr exist, so a full pipe answers EAGAIN or a short write.
 */
function writeWhatFits(fd: number, data: Buffer, onLoss: LossHandler): Buffer | undefined {
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') return data.subarray(offset);
      if (code !== 'EPIPE') onLoss(error as NodeJS.ErrnoException, linesIn(data.subarray(offset)));
      return undefined;
    }
  }
  return undefined;
}

/**
 * What a console destination that fails (a full disk under `> worker.log`, an I/O error) and
 * recovers reports, once each way. Its lines were lost without a word: a worker writing to a full
 * disk went on for hours with none of its lines anywhere but OTLP, and nothing said so.
 */
export interface ConsoleLossListener {
  failing(destination: 'stdout' | 'stderr', error: NodeJS.ErrnoException): void;
  recovered(destination: 'stdout' | 'stderr', lostLines: number): void;
}

let lossListener: ConsoleLossListener | undefined;

export function onConsoleLoss(listener: ConsoleLossListener | undefined): void {
  lossListener = listener;
}

/**
 * Console log lines for stdout/stderr, written in batches instead of one line at a time. When stdout
 * is a pipe (a container runtime, a supervisor, a parent process) each write is a system call; at a
 * line per job or request that cost more CPU than building the line itself (docs/performance.md,
 * "Console lines"). Pino's destinations batch the same way.
 *
 * The batches go to the descriptor with writeSync, not through process.stdout: on Node 24 a pipe
 * behind process.stdout is written asynchronously, so what the stream still held when the process
 * ended (process.exit, an uncaught exception) was lost (5,000 lines piped to `wc -l`, then
 * process.exit: 746 arrived). Writing ourselves, the sink always knows what the pipe has taken. A
 * full pipe does not block the event loop: the rest is kept, in order, and tried again shortly.
 *
 * Lines keep their order and wait at most LINE_FLUSH_INTERVAL_MS while the reader keeps up.
 * Whatever is still unwritten when the process exits is written from the 'exit' handler, waiting up
 * to EXIT_WAIT_MS for a full pipe, so only a SIGKILL (or a reader stalled that long) loses lines.
 */
class BatchedStdio implements LineSink {
  private pending: string[] = [];
  private bytes = 0;
  /** Taken from `pending`, refused by a full pipe: goes out before anything newer. */
  private unwritten: Buffer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly fd: 1 | 2;
  private readonly stream: NodeJS.WriteStream;
  /** Lines lost since writes began to fail; undefined while they work. */
  private lostLines: number | undefined;
  /** Failed writes so far: a flush that adds none while lines are lost is the recovery. */
  private failures = 0;
  private readonly onLoss: LossHandler = (error, lines) => {
    this.failures++;
    const first = this.lostLines === undefined;
    this.lostLines = (this.lostLines ?? 0) + lines;
    if (first) lossListener?.failing(this.destination(), error);
  };

  constructor(fd: 1 | 2) {
    this.fd = fd;
    this.stream = fd === 1 ? process.stdout : process.stderr;
    process.once('exit', () => this.flushAtExit());
  }

  writeLine(line: string): void {
    if (this.unwritten !== undefined && this.unwritten.length + this.bytes >= MAX_HELD_BYTES) {
      this.onLoss(READER_STALLED, 1);
      return;
    }
    this.pending.push(line);
    this.bytes += line.length;
    if (this.bytes >= LINE_FLUSH_BYTES && this.unwritten === undefined) this.flush();
    else this.schedule(LINE_FLUSH_INTERVAL_MS);
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), ms);
    // A pending flush must not keep an otherwise finished process alive; 'exit' writes the rest.
    this.timer.unref();
  }

  /**
   * What goes out next: the unwritten rest alone while there is one, else every pending line. Never
   * the two joined: a full pipe retried every few milliseconds copied its whole backlog each time.
   */
  private take(): Buffer | undefined {
    const rest = this.unwritten;
    if (rest) {
      this.unwritten = undefined;
      return rest;
    }
    if (this.pending.length === 0) return undefined;
    const fresh = Buffer.from(this.pending.join(''));
    this.pending = [];
    this.bytes = 0;
    return fresh;
  }

  private flush(): void {
    // Whatever triggered it, this flush does the waiting timer's work; a retry is scheduled afresh.
    clearTimeout(this.timer);
    this.timer = undefined;
    // Command output written through the stream and still queued there goes first.
    if (this.stream.writableLength > 0) {
      this.schedule(FULL_PIPE_RETRY_MS);
      return;
    }
    const failures = this.failures;
    let wrote = false;
    // The rest, then (once it is out) the lines that waited behind it.
    for (let data = this.take(); data; data = this.unwritten ? undefined : this.take()) {
      this.unwritten = writeAroundHeldLine(this.fd, data, this.onLoss);
      wrote = true;
    }
    if (this.unwritten) this.schedule(FULL_PIPE_RETRY_MS);
    // Recovered: everything went out, and nothing was lost meanwhile.
    if (wrote && !this.unwritten && this.lostLines !== undefined && this.failures === failures) {
      const lost = this.lostLines;
      this.lostLines = undefined;
      lossListener?.recovered(this.destination(), lost);
    }
  }

  private destination(): 'stdout' | 'stderr' {
    return this.fd === 1 ? 'stdout' : 'stderr';
  }

  /** Every line now, after what the stream itself still holds (consoleCaughtUp, logger.ts). */
  async writeNow(): Promise<void> {
    if (this.stream.writableLength > 0) {
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, EXIT_WAIT_MS);
      });
      await Promise.race([once(this.stream, 'drain').catch(() => undefined), waited]);
      clearTimeout(timer);
    }
    this.flushAtExit();
  }

  private flushAtExit(): void {
    clearTimeout(this.timer);
    const deadline = performance.now() + EXIT_WAIT_MS;
    let rest = this.take();
    while (rest) {
      rest = writeAroundHeldLine(this.fd, rest, this.onLoss);
      if (!rest) {
        rest = this.take();
        continue;
      }
      if (performance.now() > deadline) return;
      Atomics.wait(sleeper, 0, 0, 1);
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

/** Writes every batched console line now, in order (the CLI, before its own output). */
export async function writeBatchedLinesNow(): Promise<void> {
  for (const sink of sinks.values()) await sink.writeNow();
}

/** Lines written straight to a stream the caller owns (tests, embedding applications). */
export function streamSink(stream: NodeJS.WritableStream): LineSink {
  return { writeLine: (line) => void stream.write(line) };
}
