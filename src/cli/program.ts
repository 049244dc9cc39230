import { Command, Option } from 'commander';
import { InvalidInputError } from '../errors.ts';
import { isRepeatable, nonBlank } from './args.ts';
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
      // With --json (given before it) the version is JSON like every other output.
      options.json === true
        ? JSON.stringify({ version, node: process.version })
        : `sdops ${version} (Node.js ${process.version})`,
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
  refuseRepeatedOptions(program);
  refuseOptionsAsValues(program, knownFlags(program));
  nameOwnersOfForeignOptions(program, flagOwners(program));
  for (const group of [program, ...program.commands.filter((c) => c.commands.length > 0)])
    needsCommand(group);
  return program;
}

/**
 * An option that takes one value, given twice (`--type noop --type purge_expired`), is refused: the
 * last one used to win without a word, and a command that cancels or deletes then acted on a set
 * nobody meant. Lists and filters (marked repeatable) fold their uses together instead.
 */
function refuseRepeatedOptions(cmd: Command): void {
  const given = new Set<string>();
  for (const option of cmd.options) {
    if (!(option.required || option.optional) || option.variadic || isRepeatable(option.parseArg)) continue;
    cmd.on(`option:${option.name()}`, () => {
      if (given.has(option.name())) {
        // A malformed command line, as an unknown option is (docs/errors.md).
        throw new InvalidInputError(
          'invalid_usage',
          `${option.long ?? option.flags} given twice: give it once`,
        );
      }
      given.add(option.name());
    });
  }
  for (const sub of cmd.commands) refuseRepeatedOptions(sub);
}

/** Every flag any command knows (`--reason`, `--no-cascade`, `-V`), help and version included. */
function knownFlags(cmd: Command, flags = new Set<string>(['--help', '-h'])): Set<string> {
  for (const option of cmd.options) {
    if (option.long) flags.add(option.long);
    if (option.short) flags.add(option.short);
  }
  for (const sub of cmd.commands) knownFlags(sub, flags);
  return flags;
}

/** Each command's own long flags, by flag: `--reason` -> ['delete']. */
function flagOwners(cmd: Command, owners = new Map<string, string[]>()): Map<string, string[]> {
  for (const sub of cmd.commands) {
    for (const option of sub.options) {
      if (option.long) owners.set(option.long, [...(owners.get(option.long) ?? []), commandPath(sub)]);
    }
    flagOwners(sub, owners);
  }
  return owners;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * An option of another command (`sdops restore ... --reason`) is refused with the commands it
 * belongs to: commander's own suggestion guessed by spelling (`--json, --version?`), pointing the
 * reader away from what they meant.
 */
function nameOwnersOfForeignOptions(cmd: Command, owners: Map<string, string[]>): void {
  for (const sub of cmd.commands) {
    nameOwnersOfForeignOptions(sub, owners);
    // A group takes any option and says what is wrong itself (needsCommand).
    if (sub.commands.length > 0) continue;
    // The hook is commander's own, though private; test/integration/cli/bad-input.test.ts holds it.
    const internals = sub as unknown as { unknownOption(flag: string): void };
    const commanders = internals.unknownOption.bind(sub);
    internals.unknownOption = (flag: string) => {
      const [name = flag] = flag.split('=');
      const of = owners.get(name)?.filter((path) => path !== commandPath(sub));
      if (!of?.length) return commanders(flag);
      throw new InvalidInputError(
        'invalid_usage',
        `${commandPath(sub)} has no option '${name}' (it is an option of: ${of.join(', ')})`,
      );
    };
  }
}

/**
 * An option missing its value takes the next word as its value, even an option: `--reason
 * --no-cascade` deleted with a cascade and the reason "--no-cascade". A value that is one of our
 * flags is refused instead; no reason, name or list is meant to be one.
 */
function refuseOptionsAsValues(cmd: Command, flags: Set<string>): void {
  for (const option of cmd.options) {
    if (!(option.required || option.optional)) continue;
    cmd.on(`option:${option.name()}`, (value: unknown) => {
      const word = typeof value === 'string' ? value.split('=')[0] : undefined;
      if (word !== undefined && flags.has(word)) {
        throw new InvalidInputError(
          'invalid_usage',
          `${option.long ?? option.flags} needs a value, got the option ${word}`,
        );
      }
    });
  }
  for (const sub of cmd.commands) refuseOptionsAsValues(sub, flags);
}

/** The help of the command `path` names under `group` (its own for `help` or none); exits. */
function helpFor(group: Command, path: readonly string[]): never {
  let target = group;
  for (const name of path) {
    if (name === 'help') break;
    const next = target.commands.find((c) => c.name() === name);
    if (!next) {
      const where = target.parent ? `${target.name()} ` : '';
      const known = target.commands.map((c) => c.name()).join(', ');
      throw new InvalidInputError('invalid_usage', `unknown ${where}command '${name}' (known: ${known})`);
    }
    target = next;
  }
  return target.help();
}

/**
 * A group run without one of its commands (`sdops migrate`, `sdops`) is bad input like any other:
 * one line naming the commands, exit 2, instead of the whole help on stderr.
 */
function needsCommand(group: Command): void {
  const sub = group.parent ? `${group.name()} ` : '';
  const names = group.commands.map((c) => c.name()).join(', ');
  // Unknown options reach the action too: `sdops migratex stop X --wait` was refused for '--wait',
  // an option of the command meant, not for the mistyped command.
  group
    .allowExcessArguments(true)
    .allowUnknownOption(true)
    .action(function (this: Command) {
      const [given, ...path] = this.args;
      // `sdops help queue retry`: commander's own help command goes once a group has an action.
      if (given === 'help') helpFor(this, path);
      if (given?.startsWith('-')) {
        throw new InvalidInputError('invalid_usage', `unknown option '${given}'`);
      }
      throw new InvalidInputError(
        'invalid_usage',
        given === undefined
          ? `${sub ? `${sub}needs a command` : 'no command given'}: ${names} (see sdops ${sub}--help)`
          : `unknown ${sub}command '${given}' (known: ${names})`,
      );
    });
}
