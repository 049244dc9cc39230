import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect } from 'chai';
import { ROOT } from './docs/support/markdown.ts';

/** Every .ts file under dir (relative to the repository root). */
function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

const NAMED = /(?:import|export)\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'([^']+)'/g;
/** `const { a, b } = await import('...')`: a module loaded lazily (the CLI's commands do). */
const LAZY = /const\s+\{([^}]*)\}\s*=\s*await\s+import\(\s*'([^']+)'\s*\)/g;

/** Names in an import or export list: `type X`, `X as Y` are X. */
function names(list: string): string[] {
  return list
    .split(',')
    .map(
      (part) =>
        part
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0]
          ?.trim() ?? '',
    )
    .filter((name) => name.length > 0);
}

/** The names file imports (or re-exports) from the module at target (both relative to ROOT). */
function namesImported(file: string, target: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(NAMED), ...text.matchAll(LAZY)].flatMap(([, list, spec]) =>
    spec?.startsWith('.') && relative(ROOT, resolve(ROOT, dirname(file), spec)) === target
      ? names(list ?? '')
      : [],
  );
}

/** Code that calls a capability: everything but the tests. */
const CALLERS = ['src', 'bench', 'scripts', join('grafana', 'src')].flatMap(sourceFiles);

// src/cli has no index.ts: it is the program (bin/sdops.js loads its main.ts), not a capability.
describe('the capabilities under src/', () => {
  const indexes = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(ROOT, 'src', e.name, 'index.ts')))
    .map((e) => join('src', e.name, 'index.ts'));

  for (const index of indexes) {
    it(`${index} exports only what code outside its folder uses (tests import internals directly)`, () => {
      const folder = dirname(index);
      const exported = [...readFileSync(join(ROOT, index), 'utf8').matchAll(NAMED)].flatMap(([, list]) =>
        names(list ?? ''),
      );
      const used = new Set(
        CALLERS.filter((file) => !file.startsWith(`${folder}/`)).flatMap((file) =>
          namesImported(file, index),
        ),
      );
      expect(exported.filter((name) => !used.has(name))).to.deep.equal([]);
    });
  }
});
