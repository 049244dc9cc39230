import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { headingSlug } from '../../../../grafana/src/runbook-html.ts';

/** Markdown reading for the doc tests: fenced code blocks, heading anchors, tables, sdops commands. */

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const RUNBOOK_PATH = 'docs/operational/soft-delete-runbook.md';

export function readDoc(relative: string): string {
  return readFileSync(new URL(relative, `file://${ROOT}`), 'utf8');
}

export interface CodeBlock {
  readonly lang: string;
  readonly text: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

/** Fenced blocks, also those indented inside list items (the indentation is removed). */
export function codeBlocks(md: string): CodeBlock[] {
  const lines = md.split('\n');
  const out: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```([\w-]*)\s*$/.exec(lines[i] as string);
    if (!open) continue;
    const indent = (open[1] as string).length;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j] as string)) {
      body.push(
        (lines[j] as string).slice(Math.min(indent, /^\s*/.exec(lines[j] as string)?.[0].length ?? 0)),
      );
      j++;
    }
    out.push({ lang: open[2] as string, text: body.join('\n'), line: i + 1 });
    i = j;
  }
  return out;
}

/** The markdown with its fenced blocks blanked out (headings and tables inside code do not count). */
export function prose(md: string): string {
  let inside = false;
  return md
    .split('\n')
    .map((line) => {
      if (/^\s*```/.test(line)) {
        inside = !inside;
        return '';
      }
      return inside ? '' : line;
    })
    .join('\n');
}

/** GitHub's heading anchor (the served runbook uses the same): see grafana/src/runbook-html.ts. */
export const slug = headingSlug;

export function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(md).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1] as string);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Rows (cells trimmed) of the first table whose header row starts with `| firstHeader |`. */
export function tableRows(md: string, firstHeader: string): string[][] {
  const lines = prose(md).split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${firstHeader} |`));
  if (start < 0) throw new Error(`no table starting with "| ${firstHeader} |"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

/** Text inside backticks in a cell or a paragraph. */
export function codeSpans(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
}

/** Shell-like split: quotes group and are removed; an unquoted `#` starts a comment. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote = '';
  let has = false;
  for (const c of line) {
    if (quote) {
      if (c === quote) quote = '';
      else current += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      has = true;
    } else if (/\s/.test(c)) {
      if (has) words.push(current);
      current = '';
      has = false;
    } else if (c === '#' && !has) {
      break;
    } else {
      current += c;
      has = true;
    }
  }
  if (has) words.push(current);
  return words;
}

/** Untagged blocks (diagrams) are not searched: commands live in tagged shell or synopsis blocks. */
const SHELL_BLOCKS = new Set(['bash', 'sh', 'shell', 'console', 'text']);
const END_OF_COMMAND = new Set(['|', '||', '&&', ';', '&', '>', '>>', '2>', '2>&1', '<']);

export interface DocCommand {
  /** Where it was found, e.g. README.md:123. */
  readonly where: string;
  /** Arguments after `sdops`, synopsis brackets removed. */
  readonly args: readonly string[];
  /** Holds a placeholder (`<x>`, `[x]`, `$VAR`, `a|b`, `x...`): only --help can run it. */
  readonly placeholders: boolean;
}

function clean(word: string): { word: string; placeholder: boolean } {
  const placeholder = /[<>[\]$|]|\.\.\./.test(word);
  return { word: word.replace(/^\[+/, '').replace(/\]+$/, ''), placeholder };
}

/**
 * Every `sdops ...` command in the shell/text code blocks of a document, and the argument part of
 * `docker compose run ... sdops-<service> <args>` (the app image's entrypoint is sdops).
 */
export function sdopsCommands(md: string, source: string): DocCommand[] {
  const out: DocCommand[] = [];
  for (const block of codeBlocks(md)) {
    if (!SHELL_BLOCKS.has(block.lang)) continue;
    const lines = block.text.replace(/\\\n/g, ' ').split('\n');
    lines.forEach((line, index) => {
      const words = shellWords(line);
      const compose = words.indexOf('compose') > 0 && words.includes('run');
      for (let i = 0; i < words.length; i++) {
        const w = words[i] as string;
        const isSdops = w === 'sdops' || (compose && /^sdops-[a-z]+$/.test(w) && words[i - 1] !== '--scale');
        if (!isSdops) continue;
        const args: string[] = [];
        let placeholders = false;
        for (const raw of words.slice(i + 1)) {
          if (END_OF_COMMAND.has(raw)) break;
          const last = raw.endsWith(';');
          const c = clean(last ? raw.slice(0, -1) : raw);
          if (c.word !== '') args.push(c.word);
          placeholders ||= c.placeholder;
          if (last) break;
        }
        out.push({ where: `${source}:${block.line + 1 + index}`, args, placeholders });
        break;
      }
    });
  }
  return out;
}
