import { codeBlocks, RUNBOOK_PATH, readDoc, slug } from '../../unit/docs/support/markdown.ts';

/**
 * The runbook as a drill reads it: the text of one `## ` section (its `### ` subsections included),
 * and what can be executed in it: shell lines (one command per line of a bash block), SQL blocks
 * and PromQL blocks. Drills run what they find here, never a copy, so the text cannot drift.
 */

export interface RunbookSection {
  readonly heading: string;
  readonly text: string;
  /** Lines of its bash blocks (continuations joined, comments and blank lines dropped). */
  readonly shell: readonly string[];
  readonly sql: readonly string[];
  readonly promql: readonly string[];
}

const runbook = (): string => readDoc(RUNBOOK_PATH);

/** The heading (without `## `) whose anchor is `anchor`, e.g. alert-migrationrunfailed. */
export function headingOf(anchor: string): string {
  const heading = runbook()
    .split('\n')
    .filter((l) => l.startsWith('## '))
    .map((l) => l.slice(3).trim())
    .find((h) => slug(h) === anchor);
  if (heading === undefined) throw new Error(`the runbook has no section with anchor #${anchor}`);
  return heading;
}

export function section(heading: string): RunbookSection {
  const md = runbook();
  const start = md.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`the runbook has no section "## ${heading}"`);
  const next = md.indexOf('\n## ', start + 4);
  const text = md.slice(start + 1, next < 0 ? undefined : next);
  const blocks = codeBlocks(text);
  const shell = blocks
    .filter((b) => b.lang === 'bash')
    .flatMap((b) => b.text.replace(/\\\n\s*/g, ' ').split('\n'))
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  return {
    heading,
    text,
    shell,
    sql: blocks.filter((b) => b.lang === 'sql').map((b) => b.text),
    promql: blocks.filter((b) => b.lang === 'promql').map((b) => b.text.trim()),
  };
}

/** A table printed by the CLI (header, dashes, rows; columns two or more spaces apart) as objects. */
export function parseTable(output: string): Record<string, string>[] {
  const lines = output.split('\n');
  const dashes = lines.findIndex((l) => /^-+(\s+-+)*$/.test(l.trim()) && l.trim() !== '');
  if (dashes < 1) return [];
  const header = lines[dashes - 1] as string;
  // Column starts: where each dash run begins.
  const starts = [...(lines[dashes] as string).matchAll(/-+/g)].map((m) => m.index ?? 0);
  const cell = (line: string, i: number) =>
    line.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim();
  const names = starts.map((_, i) => cell(header, i));
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(dashes + 1)) {
    if (line.trim() === '') break;
    rows.push(Object.fromEntries(names.map((n, i) => [n, cell(line, i)])));
  }
  return rows;
}
