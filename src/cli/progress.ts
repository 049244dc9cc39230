import { holdLine } from '../observability/index.ts';
/** Progress of a long command on stderr. */

export interface Progress {
  /** Rows handled so far, and the total when known (it may be learnt, or grow, on the way). */
  update(processed: number, total?: number): void;
  stop(): void;
}

const BAR_WIDTH = 30;

/** `label [#####-----] 40% | 400/1000 rows | 120 rows/s | eta 5s`, or without a total `label 400 rows | ...`. */
export function progressLine(
  label: string,
  processed: number,
  total: number | undefined,
  rate: number,
  pastEstimate = false,
): string {
  const head = label.padEnd(28);
  if (total === undefined) return `${head} ${processed} rows | ${rate} rows/s`;
  if (total === 0) return `${head} nothing to do`;
  // More rows than counted at the start (rows that became eligible meanwhile) and still going: its
  // end is unknown. "100% | 1200/1200 rows | eta 0s" read as nearly done while it went on to 3001.
  if (pastEstimate)
    return `${head} [${'#'.repeat(BAR_WIDTH)}] ${processed} rows, more than the ${total} counted at the start | ${rate} rows/s | eta -`;
  // Never past 100%: a total that turns out too small grows to what was done (update()).
  const percent = Math.min(100, Math.floor((processed / total) * 100));
  const filled = Math.round((BAR_WIDTH * percent) / 100);
  const left = rate > 0 ? Math.round((total - processed) / rate) : undefined;
  const eta = left === undefined ? '-' : left < 60 ? `${left}s` : `${Math.floor(left / 60)}m${left % 60}s`;
  return `${head} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${percent}% | ${processed}/${total} rows | ${rate} rows/s | eta ${eta}`;
}

/** The span a progress rate is measured over, as `sdops migrate status` measures its own. */
const RATE_WINDOW_MS = 60_000;

/**
 * Rows per second over about the last minute (since the start, in the first one), so that work that
 * stalls (a database outage, a lock) reads 0 rows/s and no eta within a minute and a half. The whole
 * session's average went on showing thousands of rows/s and a shrinking eta through an 82 s outage.
 * The rate is this session's: rows an earlier session did (a resumed run) took none of its time.
 */
export class RecentRate {
  /** One sample a second at most, the oldest at or before the window's start. */
  private readonly samples: { at: number; rows: number }[];

  constructor(startedAt: number, rowsBefore: number) {
    this.samples = [{ at: startedAt, rows: rowsBefore }];
  }

  /** The rate at `at`, when `rows` are done. */
  perSecond(at: number, rows: number): number {
    const samples = this.samples;
    if (at - (samples.at(-1)?.at ?? at) >= 1000) samples.push({ at, rows });
    while (samples.length > 1 && (samples[1]?.at ?? at) <= at - RATE_WINDOW_MS) samples.shift();
    const base = samples[0] ?? { at, rows };
    const seconds = (at - base.at) / 1000;
    return seconds > 0 ? Math.round(Math.max(0, rows - base.rows) / seconds) : 0;
  }
}

/**
 * How a command shows its progress on stderr: a bar for a person at a terminal, a plain line now and
 * then when stderr is a file or a pipe (a log file, CI: a long migration on the embedded database could
 * not be watched any other way, since no second process may open it), nothing with --json, whose
 * stderr carries JSON lines only.
 */
export type ProgressMode = 'bar' | 'lines' | 'off';

export function progressWanted(json: boolean): ProgressMode {
  if (json) return 'off';
  return process.stderr.isTTY === true ? 'bar' : 'lines';
}

/** Without a terminal, one progress line this often: none for a command done sooner. */
const PROGRESS_LINE_EVERY_MS = 30_000;

/**
 * Progress on stderr in the given mode (progressWanted). The bar starts at 0% (or, while the total is
 * unknown, as a row count), never passes 100%, and owns the last line of the terminal: anything else
 * written to stderr meanwhile (a status line, a log line) is printed above it, and the bar is drawn
 * again below.
 */
export function startProgress(
  label: string,
  total: number | undefined,
  mode: ProgressMode,
  doneBefore = 0,
): Progress {
  if (mode === 'off') return { update() {}, stop() {} };
  if (mode === 'lines') return progressLines(label, total, doneBefore, PROGRESS_LINE_EVERY_MS);
  const err = process.stderr;
  const originalWrite = err.write;
  const write = (text: string) => originalWrite.call(err, text);
  let processed = 0;
  let estimate = total;
  let stopped = false;
  const rate = new RecentRate(performance.now(), doneBefore);
  const draw = () => {
    const past = estimate !== undefined && processed > estimate;
    const perSecond = rate.perSecond(performance.now(), processed);
    // The last drawing, of a finished operation, shows it whole: 100% of what it did.
    const line =
      past && stopped
        ? progressLine(label, processed, processed, perSecond)
        : progressLine(label, processed, estimate, perSecond, past);
    write(`\r\x1b[2K${line}`);
  };
  // Redrawn on every update at most every 100 ms (and at the end), so a fast loop costs nothing.
  let last = 0;
  const clear = () => write('\r\x1b[2K');
  err.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    clear();
    const ok = (originalWrite as (...args: unknown[]) => boolean).call(err, chunk, ...rest);
    draw();
    return ok;
  }) as typeof err.write;
  // Log lines reach the terminal without process.stderr (line-sink.ts): they clear the bar too.
  holdLine({ clear, redraw: draw });
  draw();
  return {
    update(p, newTotal) {
      processed = p;
      if (newTotal !== undefined) estimate = newTotal;
      const now = performance.now();
      if (now - last >= 100) {
        last = now;
        draw();
      }
    },
    stop() {
      if (err.write === originalWrite) return;
      err.write = originalWrite;
      holdLine(undefined);
      stopped = true;
      draw();
      write('\n');
    },
  };
}

/** The line mode: the bar's text as a line of its own every `everyMs`, and none at the end. */
export function progressLines(
  label: string,
  total: number | undefined,
  doneBefore: number,
  everyMs: number,
): Progress {
  let processed = 0;
  let estimate = total;
  const rate = new RecentRate(performance.now(), doneBefore);
  const timer = setInterval(() => {
    const past = estimate !== undefined && processed > estimate;
    const perSecond = rate.perSecond(performance.now(), processed);
    process.stderr.write(`${progressLine(label, processed, estimate, perSecond, past)}\n`);
  }, everyMs);
  timer.unref();
  return {
    update(p, newTotal) {
      processed = p;
      if (newTotal !== undefined) estimate = newTotal;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
