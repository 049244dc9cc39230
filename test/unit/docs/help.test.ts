import { expect } from 'chai';
import { checkAgainstHelp, parseHelp } from '../../integration/docs/help.ts';
import { sdopsCommands } from './support/markdown.ts';

const ROOT_HELP = `Usage: sdops [options] [command]

Options:
  -V, --version                        output the version number
  --memory                             use an in-memory embedded database
  --data-dir <dir>                     embedded database directory (default:
                                       $SDOPS_DATA_DIR or ./.sdops/data)
  --json                               print machine-readable JSON on stdout
  -h, --help                           display help for command

Commands:
  migrate                              resumable data migrations
`;

const START_HELP = `Usage: sdops migrate start [options] <migration>

start a migration run

Arguments:
  migration                  backfill-deleted-at | archive-soft-deleted

Options:
  --batch-size <n>           rows per batch (one transaction each)
  --dry-run                  count what would change; write nothing
  --entity <name>            limit to these entities (repeatable or comma list)
  -h, --help                 display help for command
`;

const GROUP_HELP = `Usage: sdops migrate [options] [command]

Options:
  -h, --help                   display help for command

Commands:
  start [options] <migration>  start a migration run
`;

const root = parseHelp(ROOT_HELP);
const start = parseHelp(START_HELP);

describe('checking a documented command against commander help', () => {
  it('reads the command path, its arguments and which options take a value', () => {
    expect(start.path).to.deep.equal(['migrate', 'start']);
    expect(start.args).to.deep.equal([{ name: 'migration', required: true, variadic: false }]);
    expect(start.isGroup).to.equal(false);
    expect(start.options.get('--batch-size')).to.equal(true);
    expect(start.options.get('--dry-run')).to.equal(false);
    expect(root.options.get('--data-dir')).to.equal(true);
    expect(parseHelp(GROUP_HELP).isGroup).to.equal(true);
  });

  it('accepts a command whose options, values and global options all exist', () => {
    const args = ['--json', 'migrate', 'start', 'backfill-deleted-at', '--batch-size', '500', '--dry-run'];
    expect(checkAgainstHelp(args, start, root)).to.deep.equal([]);
    expect(checkAgainstHelp(['migrate', 'start', 'x', '--entity=orders'], start, root)).to.deep.equal([]);
  });

  it('reports a renamed option, a missing or extra argument and a value on a switch', () => {
    expect(checkAgainstHelp(['migrate', 'start', 'x', '--batchsize', '5'], start, root).join()).to.include(
      'unknown option --batchsize',
    );
    expect(checkAgainstHelp(['migrate', 'start'], start, root).join()).to.include('needs 1 argument');
    expect(checkAgainstHelp(['migrate', 'start', 'a', 'b'], start, root).join()).to.include('at most 1');
    expect(checkAgainstHelp(['migrate', 'start', 'a', '--dry-run=yes'], start, root).join()).to.include(
      'takes no value',
    );
  });

  it('reports a subcommand that does not exist (commander falls back to the group help)', () => {
    const group = parseHelp(GROUP_HELP);
    expect(checkAgainstHelp(['migrate', 'strat', 'x'], group, root).join()).to.include(
      '"strat" is not a subcommand',
    );
  });

  it('extracts sdops commands from shell and synopsis blocks, not from prose or other languages', () => {
    const md = [
      'Run `sdops migrate list` in prose.',
      '```bash',
      "alias sdops='npx sdops'",
      'sdops migrate status "$RUN_ID"   # a comment',
      'docker compose run --rm --no-deps sdops-worker queue status | cat',
      '```',
      '```text',
      'sdops list <entity> [--scope <live|deleted|all>]',
      '```',
      '```promql',
      'sdops_not_a_command',
      '```',
    ].join('\n');
    const found = sdopsCommands(md, 'x.md');
    expect(found.map((c) => c.args)).to.deep.equal([
      ['migrate', 'status', '$RUN_ID'],
      ['queue', 'status'],
      ['list', '<entity>', '--scope', '<live|deleted|all>'],
    ]);
    expect(found.map((c) => c.placeholders)).to.deep.equal([true, false, true]);
  });
});
