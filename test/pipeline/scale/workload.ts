import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InstanceReport, Ledger, RoleSpec, WorkloadCommand } from './workload-process.ts';
import type { LedgerTrace } from './traces.ts';
import { waitUntil } from '../../support/wait.ts';

const SCRIPT = fileURLToPath(new URL('./workload-process.ts', import.meta.url));

interface Reply {
  type: 'ready' | 'burst-done' | 'ledger' | 'error';
  ledger?: Ledger;
  message?: string;
}

/** The workload processes of the scale test, driven phase by phase; see workload-process.ts. */
export interface Workload {
  /**
   * Every process emits `traces` x ROLE_WEIGHT traces per role, as fast as it can; resolves with
   * them once all are exported.
   */
  burst(phase: string, traces: number): Promise<LedgerTrace[]>;
  /** Every process streams traces per role at this rate under the phase's instance ids, until the next call. */
  stream(phase: string, tracesPerSecond: number): void;
  /** Flushes and ends every process; resolves with all their traces and per-instance reports. */
  stop(): Promise<{ traces: LedgerTrace[]; instances: InstanceReport[] }>;
  kill(): void;
}

export async function startWorkload(processes: readonly (readonly RoleSpec[])[]): Promise<Workload> {
  const replies = new Map<ChildProcess, Reply[]>();
  const children = processes.map((roles) => {
    // The child's stdout goes to our stderr: our stdout is the mocha reporter's.
    const child = fork(SCRIPT, [JSON.stringify(roles)], { stdio: ['ignore', 2, 'inherit', 'ipc'] });
    replies.set(child, []);
    child.on('message', (reply: Reply) => replies.get(child)?.push(reply));
    return child;
  });

  const awaitAll = (type: Reply['type'], what: string, timeoutMs = 120_000): Promise<Reply[]> =>
    waitUntil(
      what,
      async () => {
        const got: Reply[] = [];
        for (const child of children) {
          const list = replies.get(child) ?? [];
          const failure = list.find((r) => r.type === 'error');
          if (failure) throw new Error(`a workload process failed: ${failure.message}`);
          if (child.exitCode !== null && !list.some((r) => r.type === type)) {
            throw new Error(`a workload process exited (${child.exitCode}) before '${type}'`);
          }
          const index = list.findIndex((r) => r.type === type);
          if (index < 0) return undefined;
          got.push(list[index] as Reply);
        }
        for (const child of children) {
          const list = replies.get(child) ?? [];
          list.splice(
            list.findIndex((r) => r.type === type),
            1,
          );
        }
        return got;
      },
      { timeoutMs, intervalMs: 50 },
    );
  const send = (command: WorkloadCommand): void => {
    for (const child of children) child.send(command);
  };

  await awaitAll('ready', 'the workload processes to start');
  return {
    async burst(phase, traces) {
      send({ cmd: 'burst', phase, traces });
      const parts = await awaitAll('burst-done', `the '${phase}' burst`);
      return parts.flatMap((r) => (r.ledger as Ledger).traces);
    },
    stream(phase, tracesPerSecond) {
      send({ cmd: 'phase', phase, tracesPerSecond });
    },
    async stop() {
      send({ cmd: 'stop' });
      const ledgers = (await awaitAll('ledger', 'the workload ledgers')).map((r) => r.ledger as Ledger);
      return {
        traces: ledgers.flatMap((l) => l.traces),
        instances: ledgers.flatMap((l) => l.instances),
      };
    },
    kill() {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
