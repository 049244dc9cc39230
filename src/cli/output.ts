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

/** One JSON value on one line: output that goes on (demo --loop) is JSON Lines, one per result. */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${printableJson(value)}\n`);
}
