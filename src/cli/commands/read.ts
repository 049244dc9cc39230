import type { Command } from 'commander';
import { DEFAULT_SCOPE, MAX_LIST_LIMIT, SCOPES, type Scope } from '../../validation/index.ts';
import { entityArgument, oneOf, positiveInt } from '../args.ts';
import { type GlobalOptions, withContext } from '../context.ts';
import { type Cell, formatTable, printJson } from '../output.ts';

function cell(value: unknown): Cell {
  if (value instanceof Date) return value.toISOString();
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : (value as Cell);
}

export function registerRead(program: Command): void {
  program
    .command('list')
    .description('list rows of an entity, live ones by default, in keyset pages')
    .argument('<entity>', 'entity name', entityArgument)
    .option('--scope <scope>', SCOPES.join(' | '), oneOf('--scope', SCOPES, 'invalid_scope'), DEFAULT_SCOPE)
    .option('--limit <n>', 'rows per page', positiveInt('--limit', MAX_LIST_LIMIT, 'invalid_limit'), 20)
    .option('--after <id>', 'cursor: show rows after this id (from the previous page)')
    .action(async (entity: string, opts: { scope: Scope; limit: number; after?: string }, cmd: Command) => {
      await withContext(cmd.optsWithGlobals<GlobalOptions>(), async (ctx) => {
        const page = await ctx.softDelete.list(entity, opts);
        if (ctx.json) {
          printJson(page);
          return;
        }
        const rows = page.rows.map((r) =>
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k, cell(v)])),
        );
        process.stdout.write(
          rows.length ? `${formatTable(rows)}\n` : `no ${opts.scope === 'all' ? '' : `${opts.scope} `}rows\n`,
        );
        if (page.nextCursor) process.stdout.write(`next page: --after ${page.nextCursor}\n`);
      });
    });
}
