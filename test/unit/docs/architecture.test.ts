import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { codeBlocks, readDoc, ROOT } from './support/markdown.ts';

/** Paths under src/ of every file (and of src/db/schema, listed as a folder of SQL files). */
function sourceTree(dir: string, prefix: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${prefix}${e.name}`;
    if (!e.isDirectory()) return [path];
    if (path === 'src/db/schema') return [`${path}/`];
    return sourceTree(join(dir, e.name), `${path}/`);
  });
}

/** The tree under "Layout of `src/`": two spaces per level, folders end with `/`, text after the name. */
function documentedTree(md: string): string[] {
  const block = codeBlocks(md).find((b) => b.text.startsWith('src/\n'));
  if (!block) throw new Error('docs/architecture.md has no ```text block starting with src/');
  const folders: string[] = [];
  const files: string[] = [];
  for (const line of block.text.split('\n').slice(1)) {
    if (line.trim() === '') continue;
    const depth = (line.length - line.trimStart().length) / 2;
    const name = line.trim().split(/\s+/)[0] as string;
    folders.length = depth - 1;
    const path = `src/${folders.join('')}${name}`;
    if (name.endsWith('/') && path !== 'src/db/schema/') folders.push(name);
    else files.push(path);
  }
  return files;
}

describe('docs/architecture.md', () => {
  it('lists every file under src/ in its layout, and nothing that is not there', () => {
    const documented = documentedTree(readDoc('docs/architecture.md'));
    expect([...documented].sort()).to.deep.equal(sourceTree('src', 'src/').sort());
    expect(new Set(documented).size).to.equal(documented.length);
  });
});
