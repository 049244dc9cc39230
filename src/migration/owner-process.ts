import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** A runner's owner id: `<host>:<pid>:<random>`, so a run's owner can be found, and told apart. */
export function ownerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * True when a run's owner was a process of this host that no longer exists (killed, crashed): its
 * lease still runs for up to its timeout (30 s), but nothing moves. False when it may be alive, or
 * runs elsewhere (only its lease can tell), or is this process. A PID reused by another process
 * reads as alive: the lease still ends it. Only what status shows depends on it, never a takeover:
 * containers that share a host name but not PIDs (host networking) would read each other gone;
 * compose and Kubernetes give each container a host name of its own.
 */
export function ownerProcessGone(owner: string | null): boolean {
  const match = owner === null ? null : /^(.*):(\d+):[0-9a-f]+$/.exec(owner);
  if (!match || match[1] !== hostname()) return false;
  const pid = Number(match[2]);
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
