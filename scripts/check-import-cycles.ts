/**
 * `node scripts/check-import-cycles.ts [dir]`: fails when the modules under `dir` (default `src`)
 * import each other in a cycle. Type-only imports count: a cycle of types still ties two modules
 * into one unit that cannot be understood, moved or tested apart. Dynamic `import('...')` counts too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

function importsOf(file: string, known: Set<string>): string[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  const found: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2] ?? match[3];
    if (!spec?.startsWith('.')) continue;
    const target = resolve(dirname(file), spec);
    if (known.has(target)) found.push(target);
  }
  return found;
}

/** Tarjan's strongly connected components; every component of more than one file is a cycle. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(to) ?? 0));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(to) ?? 0));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop();
      if (member === undefined) break;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

const root = resolve(process.argv[2] ?? 'src');
const files = sourceFiles(root).map((f) => resolve(f));
const known = new Set(files);
const graph = new Map(files.map((f) => [f, importsOf(f, known)]));
const found = cycles(graph);
for (const component of found) {
  console.error(`import cycle: ${component.map((f) => relative(process.cwd(), f)).join(' <-> ')}`);
}
if (found.length > 0) process.exit(1);
console.log(`no import cycles among ${files.length} modules under ${relative(process.cwd(), root) || '.'}`);
