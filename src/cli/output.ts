import type { ErrorCode, ErrorKind } from '../errors.ts';
/** Human output goes to stdout as aligned tables; `--json` prints one JSON document instead. */
export type Cell = string | number | boolean | null | undefined;

// DEL and the C1 controls (U+009B is a terminal's CSI), invisible and direction marks, line and
// paragraph separators, and the bidirectional overrides and isolates: what JSON.stringify leaves raw.
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// The same plus the C0 controls (escape, carriage return, newline ...).
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** JSON text of `value` with those characters as \u escapes too: the same JSON value, safe to print. */
export function printableJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(UNSAFE_IN_JSON, escaped);
}

/**
 * Text as the terminal should show it: stored text comes from API callers, and an escape sequence
 * or a carriage return in a reason cleared the operator's screen or forged table rows. Each such
 * character is shown as its \u escape instead.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escaped);
}

export function formatTable(rows: readonly Record<string, Cell>[], columns?: readonly string[]): string {
  const cols = columns ?? Object.keys(rows[0] ?? {});
  const text = (v: Cell) => (v === null || v === undefined ? '' : printable(String(v)));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => text(r[c]).length)));
  const isNumeric = cols.map((c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (isNumeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [
    line(cols.map((c) => c)),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(cols.map((c) => text(r[c])))),
  ].join('\n');
}

/**
 * The one line an error gets on stderr: `sdops: <message>`, or with --json
 * `{"error":{"code":"...","kind":"...","message":"..."}}` (the API's error shape plus the kind).
 */
export function errorLine(code: ErrorCode, kind: ErrorKind, message: string, json: boolean): string {
  const text = message.replace(/\s*\n\s*/g, ' ').trim();
  return json
    ? `${printableJson({ error: { code, kind, message: text } })}\n`
    : `sdops: ${printable(text)}\n`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${printableJson(value, 2)}\n`);
}

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
  seconds: number,
  doneBefore = 0,
): string {
  // The rate is this session's: rows an earlier session did (a resumed run) took none of its time.
  const rate = seconds > 0 ? Math.round(Math.max(0, processed - doneBefore) / seconds) : 0;
  const head = label.padEnd(28);
  if (total === undefined) return `${head} ${processed} rows | ${rate} rows/s`;
  if (total === 0) return `${head} nothing to do`;
  // Never past 100%: a total that turns out too small grows to what was done (update()).
  const percent = Math.min(100, Math.floor((processed / total) * 100));
  const filled = Math.round((BAR_WIDTH * percent) / 100);
  const left = rate > 0 ? Math.round((total - processed) / rate) : undefined;
  const eta = left === undefined ? '-' : left < 60 ? `${left}s` : `${Math.floor(left / 60)}m${left % 60}s`;
  return `${head} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${percent}% | ${processed}/${total} rows | ${rate} rows/s | eta ${eta}`;
}

/** A bar only for a person: stderr is a terminal and the output is not --json (stderr: JSON lines only). */
export function progressWanted(json: boolean): boolean {
  return !json && process.stderr.isTTY === true;
}

/**
 * A progress bar on stderr when `enabled` (progressWanted); silent otherwise so pipes and CI logs stay clean.
 * It starts at 0% (or, while the total is unknown, as a row count), never passes 100%, and owns the
 * last line of the terminal: anything else written to stderr meanwhile (a status line, a log line)
 * is printed above it, and the bar is drawn again below.
 */
export function startProgress(
  label: string,
  total: number | undefined,
  enabled: boolean,
  doneBefore = 0,
): Progress {
  if (!enabled) return { update() {}, stop() {} };
  const err = process.stderr;
  const originalWrite = err.write;
  const write = (text: string) => originalWrite.call(err, text);
  let processed = 0;
  let known = total;
  const started = performance.now();
  const draw = () =>
    write(
      `\r\x1b[2K${progressLine(label, processed, known, (performance.now() - started) / 1000, doneBefore)}`,
    );
  // Redrawn on every update at most every 100 ms (and at the end), so a fast loop costs nothing.
  let last = 0;
  err.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    write('\r\x1b[2K');
    const ok = (originalWrite as (...args: unknown[]) => boolean).call(err, chunk, ...rest);
    draw();
    return ok;
  }) as typeof err.write;
  draw();
  return {
    update(p, newTotal) {
      processed = p;
      if (newTotal !== undefined) known = newTotal;
      if (known !== undefined && processed > known) known = processed;
      const now = performance.now();
      if (now - last >= 100) {
        last = now;
        draw();
      }
    },
    stop() {
      if (err.write === originalWrite) return;
      err.write = originalWrite;
      draw();
      write('\n');
    },
  };
}
