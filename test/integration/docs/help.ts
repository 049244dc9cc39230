/**
 * Reading commander's `--help` output. `--help` short-circuits commander's own checks (an unknown
 * option or subcommand before it is ignored and the nearest command's help is printed, exit 0), so
 * the doc test compares each documented command against the help text instead of trusting the exit
 * code.
 */

export interface HelpArg {
  readonly name: string;
  readonly required: boolean;
  readonly variadic: boolean;
}

export interface Help {
  /** Command words after `sdops`, from the Usage line. */
  readonly path: readonly string[];
  readonly args: readonly HelpArg[];
  /** The command has subcommands (Usage ends in `[command]`). */
  readonly isGroup: boolean;
  /** Long and short flags, each with whether it takes a value. */
  readonly options: ReadonlyMap<string, boolean>;
}

export function parseHelp(text: string): Help {
  const usage = /^Usage: sdops(.*)$/m.exec(text);
  if (!usage) throw new Error(`not commander help output:\n${text}`);
  const words = (usage[1] as string).trim().split(/\s+/).filter(Boolean);
  const path: string[] = [];
  const args: HelpArg[] = [];
  let isGroup = false;
  for (const w of words) {
    if (w === '[options]') continue;
    if (w === '[command]') {
      isGroup = true;
      continue;
    }
    const arg = /^([<[])([^>\]]+?)(\.\.\.)?[>\]]$/.exec(w);
    if (arg) args.push({ name: arg[2] as string, required: arg[1] === '<', variadic: arg[3] !== undefined });
    else if (args.length === 0) path.push(w);
  }
  const options = new Map<string, boolean>();
  const lines = text.split('\n');
  const start = lines.indexOf('Options:');
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  for (const line of start < 0 ? [] : lines.slice(start + 1, end < 0 ? undefined : end)) {
    const m = /^\s{2}(?:(-[A-Za-z]), )?(--[a-z0-9-]+)(\s+[<[][^>\]]+[>\]])?/.exec(line);
    if (!m) continue;
    const takesValue = m[3] !== undefined;
    options.set(m[2] as string, takesValue);
    if (m[1]) options.set(m[1], takesValue);
  }
  return { path, args, isGroup, options };
}

/**
 * Problems of one documented command (args after `sdops`) given the help of the command it resolves
 * to and the root help (global options); empty when it is valid.
 */
export function checkAgainstHelp(args: readonly string[], help: Help, root: Help): string[] {
  const problems: string[] = [];
  const positional: string[] = [];
  const flags: { flag: string; inline: boolean }[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      const [flag, inline] = a.split('=', 2) as [string, string | undefined];
      flags.push({ flag, inline: inline !== undefined });
      const takesValue = help.options.get(flag) ?? root.options.get(flag);
      if (takesValue && inline === undefined) i++;
    } else positional.push(a);
  }
  const words = positional.slice(0, help.path.length);
  if (words.join(' ') !== help.path.join(' ')) {
    problems.push(`resolves to "sdops ${help.path.join(' ')}", not "sdops ${words.join(' ')}"`);
  }
  const rest = positional.slice(help.path.length);
  if (help.isGroup) {
    problems.push(
      rest.length > 0
        ? `"${rest[0]}" is not a subcommand of "sdops ${help.path.join(' ')}"`
        : `"sdops ${help.path.join(' ')}" is a command group, not a command`,
    );
  } else {
    const required = help.args.filter((a) => a.required).length;
    const variadic = help.args.some((a) => a.variadic);
    if (rest.length < required) problems.push(`needs ${required} argument(s), the doc gives ${rest.length}`);
    if (!variadic && rest.length > help.args.length) {
      problems.push(
        `takes at most ${help.args.length} argument(s), the doc gives ${rest.length}: ${rest.join(' ')}`,
      );
    }
  }
  for (const { flag, inline } of flags) {
    const takesValue = help.options.get(flag) ?? root.options.get(flag);
    if (takesValue === undefined) problems.push(`unknown option ${flag}`);
    else if (inline && !takesValue) problems.push(`option ${flag} takes no value`);
  }
  return problems;
}
