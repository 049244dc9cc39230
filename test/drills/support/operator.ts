import { spawn } from 'node:child_process';
import type pg from 'pg';
import { REPO_ROOT, runCommand } from '../../support/cli.ts';
import type { InstantSample } from '../../pipeline/support/index.ts';
import type { RunbookSection } from './runbook.ts';
import type { DrillStack } from './stack.ts';
import { giveUp, waitUntil } from '../../support/wait.ts';

/**
 * The on-call engineer of a drill, holding nothing but the runbook: every command it runs is a line
 * of a bash block of the sections it follows, run as written by bash (with `sdops` on PATH and the
 * stack's environment, and the variables the runbook tells it to set, such as RUN_ID), every SQL block
 * is run as psql would (`:'run_id'` set), every PromQL block is evaluated by the stack's Prometheus.
 * A line or block the drill names that is not in those sections fails the drill (the runbook changed);
 * so does one the drill neither ran nor skipped with a reason (the runbook grew a step the drill does
 * not follow).
 */

export interface ShellResult {
  readonly line: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Background {
  readonly line: string;
  output(): string;
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
}

const normalise = (text: string) => text.replace(/\s+/g, ' ').trim();

export class Operator {
  /** Shell variables the operator has set (`export RUN_ID=...` as the runbook says). */
  readonly vars: Record<string, string> = {};
  readonly transcript: string[] = [];
  private readonly done = new Map<string, string>();
  private readonly background: Background[] = [];

  private readonly stack: DrillStack;
  private readonly sections: readonly RunbookSection[];

  constructor(stack: DrillStack, sections: readonly RunbookSection[]) {
    this.stack = stack;
    this.sections = sections;
  }

  private env(): Record<string, string> {
    return {
      ...(process.env as Record<string, string>),
      ...this.stack.env,
      ...this.vars,
      PATH: `${this.stack.bin}:${process.env.PATH ?? ''}`,
      OTEL_SDK_DISABLED: 'false',
    };
  }

  private find(kind: 'shell' | 'sql' | 'promql', text: string): string {
    const wanted = normalise(text);
    const all = this.sections.flatMap((s) => s[kind]);
    const hits =
      kind === 'shell'
        ? all.filter((x) => normalise(x) === wanted)
        : all.filter((x) => normalise(x).includes(wanted));
    const unique = [...new Set(hits)];
    if (unique.length !== 1) {
      const where = this.sections.map((s) => `"${s.heading}"`).join(', ');
      throw new Error(
        `the runbook (${where}) has ${unique.length === 0 ? 'no' : 'more than one'} ${kind} ${kind === 'shell' ? 'line' : 'block'} ` +
          `${kind === 'shell' ? '' : 'containing '}"${text}": it changed, so the drill must follow it`,
      );
    }
    return unique[0] as string;
  }

  /** Runs one line of the runbook's bash blocks as written. */
  async run(line: string): Promise<ShellResult> {
    const exact = this.find('shell', line);
    this.done.set(`shell:${exact}`, 'run');
    const { code, stdout, stderr } = await runCommand('bash', ['-c', exact], { env: this.env() });
    const result: ShellResult = { line: exact, code, stdout, stderr };
    this.transcript.push(`$ ${exact}  -> exit ${result.code}\n${result.stdout}${result.stderr}`);
    return result;
  }

  /** Starts a long-running line of the runbook (a worker) in the background, as in another terminal. */
  async start(line: string, ready: string): Promise<Background> {
    const exact = this.find('shell', line);
    this.done.set(`shell:${exact}`, 'run');
    // bash runs a single simple command (assignments included) in its own process: SIGTERM reaches it.
    const child = spawn('bash', ['-c', exact], { cwd: REPO_ROOT, env: this.env() });
    let out = '';
    const collect = (d: Buffer) => {
      out += d.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const bg: Background = {
      line: exact,
      output: () => out,
      async waitFor(text, timeoutMs = 30_000) {
        await waitUntil(
          `"${text}" from "${exact}"`,
          () => {
            if (out.includes(text)) return true;
            if (child.exitCode !== null) giveUp('it exited');
            return false;
          },
          { timeoutMs },
        ).catch((error: Error) => {
          throw new Error(`${error.message}\n${out}`);
        });
      },
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        return exited;
      },
    };
    this.background.push(bg);
    await bg.waitFor(ready);
    this.transcript.push(`$ ${exact} &  (running)`);
    return bg;
  }

  /**
   * Runs the runbook's SQL block that contains `text`, with psql's :'run_id' set from RUN_ID: the rows
   * of its last statement, and what it RAISEd as NOTICE (psql prints them) into `notices`.
   */
  async sql(text: string, notices?: string[]): Promise<Record<string, unknown>[]> {
    const block = this.find('sql', text);
    this.done.set(`sql:${block}`, 'run');
    const runId = this.vars.RUN_ID ?? '00000000-0000-0000-0000-000000000000';
    const heard = (notice: { message?: string }) => notices?.push(notice.message ?? '');
    this.stack.sql.on('notice', heard);
    let result: pg.QueryResult | pg.QueryResult[];
    try {
      result = await this.stack.sql.query(block.replaceAll(":'run_id'", `'${runId}'`));
    } finally {
      this.stack.sql.off('notice', heard);
    }
    // A block of several statements (BEGIN; ...; ROLLBACK) answers one result per statement.
    const rows = (Array.isArray(result) ? result.at(-1) : result)?.rows ?? [];
    this.transcript.push(`psql> ${block.split('\n')[0]} ...  -> ${rows.length} rows`);
    return rows as Record<string, unknown>[];
  }

  /** Evaluates the runbook's PromQL block that contains `text` in the stack's Prometheus. */
  async promql(text: string): Promise<InstantSample[]> {
    const query = this.find('promql', text);
    this.done.set(`promql:${query}`, 'run');
    return this.stack.query(query);
  }

  /** A line or block the drill deliberately does not follow, and why (it still must exist). */
  skip(kind: 'shell' | 'sql' | 'promql', text: string, reason: string): void {
    this.done.set(`${kind}:${this.find(kind, text)}`, `skipped: ${reason}`);
  }

  /** What the sections offer that the drill neither ran nor skipped. */
  unfollowed(): string[] {
    return this.sections.flatMap((s) => [
      ...s.shell.filter((l) => !this.done.has(`shell:${l}`)).map((l) => `${s.heading}: $ ${l}`),
      ...s.sql.filter((b) => !this.done.has(`sql:${b}`)).map((b) => `${s.heading}: SQL ${b.split('\n')[0]}`),
      ...s.promql.filter((q) => !this.done.has(`promql:${q}`)).map((q) => `${s.heading}: PromQL ${q}`),
    ]);
  }

  /** Stops what the operator started (workers), and says how each exited. */
  async stopAll(): Promise<(number | null)[]> {
    return Promise.all(this.background.map((b) => b.stop()));
  }
}
