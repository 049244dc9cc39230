import { readFileSync } from 'node:fs';
import { errorLine } from './output.ts';

/**
 * Ctrl-C and SIGTERM where a command has no graceful stop of its own. Most of the time that is
 * Node's default, which ends the process at once, even in the middle of a long PGlite statement
 * that gives the event loop no turn (a JavaScript listener would only run after it). Two moments
 * are idle and want a word instead of a silent 130: a command waiting for the database at start
 * (one line, `interrupted`, 130/143), and a command whose result is decided while it closes and
 * flushes its telemetry (it leaves at once with that result's code and line).
 */

/**
 * The signals that stop a command gracefully: Ctrl-C, SIGTERM, and the hang-up of the terminal or
 * ssh session it runs in (a migration left running in a session that dropped died at once, like a
 * SIGKILL, and `nohup` did not help: Node resets the ignored SIGHUP).
 */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const EXIT_CODES: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
const exitCodeOf = (signal: NodeJS.Signals): number => EXIT_CODES[signal] ?? 143;

interface Fallback {
  readonly json: boolean;
  /** Prints the error line of a decided outcome (nothing for success) and returns its exit code. */
  readonly report: (outcome: unknown) => number;
}

let fallback: Fallback | undefined;
/** Set once the command's result is decided and it is closing (database, telemetry flush). */
let decided: { outcome: unknown } | undefined;
let waiting = false;
let listening = false;
/** A stop signal reached this process (its handlers had it, or Node's default ended it). */
let signalled = false;

/**
 * What a long-running process says before a signal ends it at once while it has no work in flight
 * (waiting for the database at start, or closing): that it was asked to stop, to its telemetry.
 * Without it such a planned stop read as a lost process (probe L). Bounded: the exit waits at most
 * LAST_WORD_MS.
 */
let lastWord: (() => Promise<void>) | undefined;
const LAST_WORD_MS = 1_000;

/** Sets what the process says before a signal ends it at once (see lastWord). */
export function sayBeforeExitingAtOnce(word: () => Promise<void>): void {
  lastWord = word;
}

/** Exits with `code`, after the last word when there is one (at most LAST_WORD_MS). */
function exitAtOnce(code: number): void {
  const word = lastWord;
  if (word === undefined) process.exit(code);
  lastWord = undefined;
  // Not unref'd: the timer is what ends the process if the word never ends.
  const timer = setTimeout(() => process.exit(code), LAST_WORD_MS);
  void word()
    .catch(() => undefined)
    .finally(() => {
      clearTimeout(timer);
      process.exit(code);
    });
}

function onIdleSignal(signal: NodeJS.Signals): void {
  signalled = true;
  // Prepended, so it runs before the listeners of a graceful stop, which then own the signal.
  if (!fallback || process.listenerCount(signal) > 1) return;
  if (decided) {
    exitAtOnce(reportedExitCode(decided.outcome) ?? fallback.report(decided.outcome));
    return;
  }
  if (!waiting) {
    exitAtOnce(exitCodeOf(signal));
    return;
  }
  process.stderr.write(
    errorLine(
      'interrupted',
      'internal',
      `interrupted by ${signal} while waiting for the database at start: the command did nothing`,
      fallback.json,
    ),
  );
  exitAtOnce(exitCodeOf(signal));
}

function listen(on: boolean): void {
  if (on === listening) return;
  listening = on;
  for (const signal of STOP_SIGNALS) {
    if (on) process.prependListener(signal, onIdleSignal);
    else process.off(signal, onIdleSignal);
  }
}

/**
 * Resolves with the first stop signal a long-running command (serve, worker) receives; a second one
 * prints `whatStays` in one line and exits at once with 128 + the signal number. Without it a second
 * SIGTERM during the graceful stop ended serve with exit 0 and no word, its requests cut off.
 */
export function untilStopSignal(whatStays: string): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    onStopSignals(resolve, (signal) =>
      process.stderr.write(
        errorLine(
          'interrupted',
          'internal',
          `stopped at once by a second ${signal}: ${whatStays}`,
          fallback?.json ?? false,
        ),
      ),
    );
  });
}

/** Once per process, before any command runs: how a decided outcome is reported. */
export function installStopSignals(options: Fallback): void {
  fallback = options;
  decided = undefined;
  lastWord = undefined;
  reported = undefined;
  waiting = false;
  listen(false);
}

/** The command waits for the database at start (true) or stopped waiting (false). */
export function waitingForDatabase(now: boolean): void {
  waiting = now;
  if (!decided) listen(now);
}

/** The command's result is decided (`outcome` is what it threw, or undefined): it only closes now. */
export function closingWith(outcome: unknown): void {
  decided = { outcome };
  listen(true);
}

/** A decided outcome whose line was printed before the command finished closing, and its exit code. */
let reported: { outcome: unknown; code: number } | undefined;

/**
 * Prints the decided outcome's line now, before a closing step that may take a while (a migration
 * run waiting for its collector): the line saying how the run ended came 30 s late, after it.
 */
export function reportOutcomeNow(): void {
  if (!fallback || !decided || decided.outcome === undefined || reported) return;
  reported = { outcome: decided.outcome, code: fallback.report(decided.outcome) };
}

/** The exit code of an outcome reportOutcomeNow already printed; undefined for any other. */
export function reportedExitCode(outcome: unknown): number | undefined {
  return reported !== undefined && reported.outcome === outcome ? reported.code : undefined;
}

/**
 * The same signal again within this long is the first one relayed, not a second: under `npm run`
 * a terminal's Ctrl-C reaches the command from the terminal and again from npm, which passes it on,
 * milliseconds apart, and one Ctrl-C aborted the batch in flight. A person pressing again after
 * reading "(again to abort)" takes longer.
 */
export const RELAYED_SIGNAL_MS = 300;

/**
 * How a command that can stop gracefully takes Ctrl-C and SIGTERM: the first one calls `onFirst`
 * (finish the batch or run in flight), a second one calls `onSecond` (one line saying what stays)
 * and exits at once with 128 + the signal number (130, 143). Returns the function that removes
 * the handlers.
 */
export function onStopSignals(
  onFirst: (signal: NodeJS.Signals) => void,
  onSecond: (signal: NodeJS.Signals) => void = () => {},
): () => void {
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  const handler = (signal: NodeJS.Signals) => {
    signalled = true;
    if (first) {
      if (signal === first.signal && performance.now() - first.at < RELAYED_SIGNAL_MS) return;
      onSecond(signal);
      // At once, no last word: the first signal's stop request exported it already, and waiting
      // here could let a batch in flight commit that the line just said rolls back.
      process.exit(exitCodeOf(signal));
    }
    first = { signal, at: performance.now() };
    onFirst(signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, handler);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, handler);
    // Handed straight to the closing (closingWith): with no listener between the two, Node's default
    // ended a command whose result was already printed with a silent 130. A signal's listener runs
    // only after the synchronous result and the promise steps that reach closingWith.
    if (fallback) listen(true);
  };
}

/** The parent of a process, from /proc (Linux); undefined where it cannot be read. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A command started by npm (`npx sdops`, an npm script) runs under npm, through a `sh -c` of npm's
 * for npx. A SIGTERM sent to npm alone (`timeout`, a supervisor, `kill <pid>`) ends npm and that
 * shell but never reaches the command, and a SIGKILL of npm leaves the shell waiting for it: either
 * way the command ran on without its launcher, holding the embedded database's lock. So it watches
 * its parent and, under npx's shell, the shell's parent (npm); once either is gone (handed to init
 * or a subreaper) and no stop signal came, it stops as on SIGTERM. npm itself handed to init (its
 * own terminal closed, `setsid npx ... &`) is no reason to stop. Ctrl-C reaches the whole process
 * group, the shell too: the second look a second later leaves the command's own handler time to
 * note that signal, which must not become a second one.
 */
export function stopWhenLauncherGoes(intervalMs = 1000): void {
  const launcher = process.ppid;
  // Under npx's shell: the shell's parent, npm, whose end leaves the shell waiting.
  const npm = isShell(launcher) ? parentOf(launcher) : undefined;
  const gone = () => process.ppid !== launcher || (npm !== undefined && parentOf(launcher) !== npm);
  let orphanedLooks = 0;
  const watch = setInterval(() => {
    if (!gone() || ++orphanedLooks < 2) return;
    clearInterval(watch);
    if (!signalled) process.kill(process.pid, 'SIGTERM');
  }, intervalMs);
  watch.unref();
}

/** The process is a shell (npx runs its command through `sh -c`). */
function isShell(pid: number): boolean {
  try {
    return /^(sh|dash|bash|ash|zsh)$/.test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
  } catch {
    return false;
  }
}
