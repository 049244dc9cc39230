import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** A runner's owner id: `<host>:<pid>:<random>`, so a run's owner can be found, and told apart. */
export function ownerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * What this host can tell of a run owner's process: `gone` when it was a process of this host that
 * no longer exists (killed, crashed), `alive` when that process exists (a stale lease is then a
 * runner waiting out a database outage, or frozen), `unknown` when it runs elsewhere (only its lease
 * can tell) or the owner is this process. A PID reused by another process reads as alive: the lease
 * still ends it. Only what status shows depends on it, never a takeover: containers that share a
 * host name but not PIDs (host networking) would read each other gone; compose and Kubernetes give
 * each container a host name of its own.
 */
export function ownerProcessState(owner: string | null): 'gone' | 'alive' | 'unknown' {
  const match = owner === null ? null : /^(.*):(\d+):[0-9a-f]+$/.exec(owner);
  if (!match || match[1] !== hostname()) return 'unknown';
  const pid = Number(match[2]);
  if (pid === process.pid) return 'unknown';
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'ESRCH' ? 'gone' : 'alive';
  }
  return zombie(pid) ? 'gone' : 'alive';
}

/**
 * A process that has exited but whose parent has not reaped it yet still answers kill(pid, 0): a
 * runner killed after its launching shell had gone was reported alive for 1-3 s (a probe). Linux
 * says so in /proc (state Z); elsewhere, or if it cannot be read, it is not known to be one.
 */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": the command may hold spaces and parentheses, the state follows the last ')'.
    return stat
      .slice(stat.lastIndexOf(')') + 1)
      .trim()
      .startsWith('Z');
  } catch {
    return false;
  }
}

/** The owner was a process of this host that no longer exists (ownerProcessState). */
export function ownerProcessGone(owner: string | null): boolean {
  return ownerProcessState(owner) === 'gone';
}
