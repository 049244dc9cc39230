import { Command, Option } from 'commander';
import { nonBlank } from './args.ts';
import { registerDb } from './commands/db.ts';
import { registerDemo } from './commands/demo.ts';
import { registerEntityOps } from './commands/entity-ops.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerRead } from './commands/read.ts';
import { registerQueue } from './commands/queue.ts';
import { registerServe } from './commands/serve.ts';
import { registerWorker } from './commands/worker.ts';
import { errorLine } from './output.ts';

export function buildProgram(version: string, options: { json?: boolean } = {}): Command {
  const program = new Command('sdops')
    .description('soft-delete operations: delete, restore, purge, archive, migrate and observe')
    .version(
      `sdops ${version} (Node.js ${process.version})`,
      '-V, --version',
      'output the version number and the Node.js runtime',
    )
    .option('--memory', 'use an in-memory embedded database (nothing is kept)')
    .addOption(
      new Option(
        '--data-dir <dir>',
        'embedded database directory (default: $SDOPS_DATA_DIR or ./.sdops/data)',
      )
        .argParser(nonBlank('--data-dir'))
        .conflicts('memory'),
    )
    .option('--json', 'print machine-readable JSON on stdout')
    .exitOverride()
    // Commander's own errors (unknown option, missing argument) are one line, as ours are, and JSON
    // with --json. Subcommands inherit this (they are created after it).
    .configureOutput({
      outputError: (text, write) =>
        write(
          errorLine('invalid_usage', 'invalid_input', text.replace(/^error: /, ''), options.json === true),
        ),
    });
  registerEntityOps(program);
  registerRead(program);
  registerDb(program);
  registerDemo(program);
  registerMigrate(program);
  registerServe(program);
  registerWorker(program);
  registerQueue(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}
