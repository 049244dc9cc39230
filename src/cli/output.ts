import { SingleBar } from 'cli-progress';

/** Human output goes to stdout as aligned tables; `--json` prints one JSON document instead. */
export type Cell = string | number | boolean | null | undefined;

export function formatTable(rows: readonly Record<string, Cell>[], columns?: readonly string[]): string {
  const cols = columns ?? Object.keys(rows[0] ?? {});
  const text = (v: Cell) => (v === null || v === undefined ? '' : String(v));
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
export function errorLine(code: string, kind: string, message: string, json: boolean): string {
  const text = message.replace(/\s*\n\s*/g, ' ').trim();
  return json ? `${JSON.stringify({ error: { code, kind, message: text } })}\n` : `sdops: ${text}\n`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export interface Progress {
  update(processed: number, total?: number): void;
  stop(): void;
}

/** A progress bar on stderr when it is a terminal; silent otherwise so pipes and CI logs stay clean. */
export function startProgress(
  label: string,
  total: number | undefined,
  enabled = process.stderr.isTTY,
): Progress {
  if (!enabled) return { update() {}, stop() {} };
  const bar = new SingleBar({
    format: `${label.padEnd(28)} [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | eta {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: false,
  });
  const started = Date.now();
  bar.start(total ?? 0, 0, { rate: 0 });
  return {
    update(processed, newTotal) {
      if (newTotal !== undefined && newTotal !== bar.getTotal()) bar.setTotal(newTotal);
      const seconds = (Date.now() - started) / 1000;
      bar.update(processed, { rate: seconds > 0 ? Math.round(processed / seconds) : 0 });
    },
    stop() {
      bar.stop();
    },
  };
}
