import { expect } from 'chai';
import pg from 'pg';
import { type CliResult, runCli } from '../../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';
import {
  codeBlocks,
  type DocCommand,
  RUNBOOK_PATH,
  readDoc,
  sdopsCommands,
} from '../../unit/docs/support/markdown.ts';
import { checkAgainstHelp, type Help, parseHelp } from './help.ts';

/**
 * Every `sdops` command in the README's and the runbook's code blocks, run the way an operator
 * would paste it, against a fresh PostgreSQL database: with `--help` (checked against that help
 * text, since commander's --help ignores unknown options), and for real when it is a dry run or a
 * read-only command without placeholders.
 */

const DOCS = ['README.md', RUNBOOK_PATH];
const READ_ONLY = new Set(['db status', 'migrate status', 'migrate list', 'queue status', 'list']);
const PARALLEL = 6;

const commands: DocCommand[] = DOCS.flatMap((doc) => sdopsCommands(readDoc(doc), doc));

function key(args: readonly string[]): string {
  return JSON.stringify(args);
}

async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
}

/** The command words of a documented command: global options (and their values) and everything from the first option on dropped. */
function commandWords(args: readonly string[], root: Help): string[] {
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith('-')) {
      words.push(a);
      continue;
    }
    const global = root.options.get(a.split('=')[0] as string);
    if (global === undefined) break;
    if (global && !a.includes('=')) i++;
  }
  return words;
}

function describeRun(args: readonly string[], r: CliResult): string {
  return `sdops ${args.join(' ')} -> exit ${r.code}\nstdout: ${r.stdout.slice(0, 800)}\nstderr: ${r.stderr.slice(0, 800)}`;
}

describe('the sdops commands in README.md and the runbook', function () {
  this.timeout(600_000);
  let db: TestDatabase;
  let root: Help;
  /** Help per command (its first two words: commands are at most two levels deep). */
  const helps = new Map<string, { result: CliResult; help?: Help }>();
  /** Concrete commands that do not run for real, run as written with --help (their values parse). */
  const asWritten = new Map<string, CliResult>();
  const realRuns = new Map<string, CliResult>();

  const env = () => ({ DATABASE_URL: db.url });
  const helpKey = (cmd: DocCommand) => commandWords(cmd.args, root).slice(0, 2).join(' ');

  /** A documented command that may run for real: a dry run, or read-only, and nothing to fill in. */
  function runnable(cmd: DocCommand, help: Help): string[] | undefined {
    if (cmd.placeholders) return undefined;
    if (help.options.has('--dry-run'))
      return cmd.args.includes('--dry-run') ? [...cmd.args] : [...cmd.args, '--dry-run'];
    return READ_ONLY.has(help.path.join(' ')) ? [...cmd.args] : undefined;
  }

  before(async () => {
    db = await createTestDatabase();
    // Legacy rows give the documented dry runs something to count.
    const seeded = await runCli(['seed', '--rows', '50', '--legacy-fraction', '0.2'], env());
    expect(seeded.code, describeRun(['seed'], seeded)).to.equal(0);
    root = parseHelp((await runCli(['--help'], env())).stdout);
    // Placeholder values (`--rows <n>`) would trip the option parsers before --help is seen, so the
    // help comes from the command words alone.
    const helpWords = [...new Set(commands.map(helpKey))];
    await inBatches(helpWords, async (words) => {
      const result = await runCli([...words.split(' ').filter(Boolean), '--help'], env());
      let help: Help | undefined;
      try {
        help = parseHelp(result.stdout);
      } catch {
        help = undefined;
      }
      helps.set(words, { result, help });
    });
    const unique = [...new Map(commands.map((c) => [key(c.args), c])).values()];
    const real: string[][] = [];
    const concrete: DocCommand[] = [];
    for (const cmd of unique) {
      const help = helps.get(helpKey(cmd))?.help;
      const args = help ? runnable(cmd, help) : undefined;
      if (args) real.push(args);
      else if (!cmd.placeholders) concrete.push(cmd);
    }
    await inBatches(concrete, async (cmd) => {
      asWritten.set(key(cmd.args), await runCli([...cmd.args, '--help'], env()));
    });
    // One at a time: they share the database, and `migrate start --dry-run` records a run.
    for (const args of real) realRuns.set(key(args), await runCli(args, env()));
  });

  after(async () => {
    await db?.drop();
  });

  it('finds commands in both documents, including a dry run and read-only ones to run for real', () => {
    for (const doc of DOCS) {
      expect(
        commands.filter((c) => c.where.startsWith(doc)),
        doc,
      ).to.have.length.greaterThan(5);
    }
    expect([...realRuns.keys()].some((k) => k.includes('--dry-run'))).to.equal(true);
    expect(realRuns.size).to.be.greaterThan(2);
  });

  it('names only commands, subcommands, arguments and options that the real --help lists', () => {
    const problems: string[] = [];
    for (const cmd of commands) {
      const { result, help } = helps.get(helpKey(cmd)) ?? {};
      if (!result || !help || result.code !== 0) {
        problems.push(
          `${cmd.where}: sdops ${cmd.args.join(' ')} --help failed: ${result?.stderr ?? 'not run'}`,
        );
        continue;
      }
      const written = asWritten.get(key(cmd.args));
      if (written && written.code !== 0) {
        problems.push(
          `${cmd.where}: sdops ${cmd.args.join(' ')} --help exits ${written.code}: ${written.stderr}`,
        );
      }
      for (const p of checkAgainstHelp(cmd.args, help, root)) {
        problems.push(`${cmd.where}: sdops ${cmd.args.join(' ')}: ${p}`);
      }
    }
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('runs the documented dry runs and read-only commands successfully against PostgreSQL', () => {
    const failures = [...realRuns.entries()]
      .filter(([, r]) => r.code !== 0)
      .map(([k, r]) => describeRun(JSON.parse(k) as string[], r));
    expect(failures, failures.join('\n\n')).to.deep.equal([]);
  });

  it('runs the SQL of the runbook on the schema the commands created (tables and columns exist)', async () => {
    const statements = codeBlocks(readDoc(RUNBOOK_PATH))
      .filter((b) => b.lang === 'sql')
      // psql's variables, as the runbook tells the reader to \set them.
      .map((b) =>
        b.text
          .replaceAll(":'run_id'", "'00000000-0000-0000-0000-000000000000'")
          .replaceAll(":'op_id'", "'00000000-0000-0000-0000-000000000000'")
          .replaceAll(":'doc_id'", "'0'"),
      );
    expect(statements.length).to.be.greaterThan(3);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      for (const sql of statements) {
        await client.query(sql).catch((error: unknown) => {
          throw new Error(`runbook SQL fails: ${(error as Error).message}\n${sql}`);
        });
      }
    } finally {
      await client.end();
    }
  });

  it('reports what a documented dry run would change and writes nothing', async () => {
    const dryRun = [...realRuns.entries()].find(
      ([k]) => k.includes('backfill-deleted-at') && k.includes('--dry-run'),
    );
    expect(dryRun, 'the runbook verifies a backfill with a dry run').to.not.equal(undefined);
    const [args, result] = dryRun as [string, CliResult];
    const would = /dry run: (\d+) rows would change; nothing was written/.exec(result.stdout);
    expect(would, describeRun(JSON.parse(args) as string[], result)).to.not.equal(null);
    expect(Number(would?.[1])).to.be.greaterThan(0);
    const again = await runCli(JSON.parse(args) as string[], env());
    expect(again.stdout, 'a dry run leaves the same rows to change').to.include(
      `dry run: ${would?.[1]} rows`,
    );
  });
});
