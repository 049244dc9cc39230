import { createHash } from 'node:crypto';
import { readFile, realpath, stat, unlink, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { ConflictError } from '../errors.ts';

/**
 * One process per embedded database directory. PGlite has no lock of its own: two processes on one
 * directory each run their own PostgreSQL over the same files, which loses writes or corrupts the
 * directory. The process that opens a directory listens on a Unix socket named after it; the kernel
 * closes that socket when the process ends, however it ends, so the lock dies with its holder. On
 * Linux the socket is in the abstract namespace (no file, nothing stale); elsewhere it is the file
 * `<dir>.lock`, and a leftover file nobody answers on is removed.
 */
class DataDirLockedError extends ConflictError {
  constructor(dataDir: string, holder: Holder) {
    super(
      'data_dir_locked',
      `the embedded database in ${dataDir} is in use by process ${holder.pid} (since ${holder.since}); ` +
        'it serves one process at a time: stop that process, or run several processes on PostgreSQL (DATABASE_URL)',
    );
  }
}

interface Holder {
  readonly pid: number;
  readonly since: string;
}

export interface DirLock {
  release(): Promise<void>;
}

const ASK_TIMEOUT_MS = 2000;

/**
 * Where the lock of a data directory listens (exported for the tests that watch it). On Linux it is
 * named after the directory itself (device and inode), not a path to it: a bind mount reaches the
 * same directory under another real path, and a second process came in through one.
 */
export async function socketPath(dataDir: string): Promise<{ path: string; file: boolean }> {
  const real = await realpath(dataDir);
  if (process.platform === 'linux') {
    const { dev, ino } = await stat(real, { bigint: true });
    const hash = createHash('sha256').update(`${dev}:${ino}`).digest('hex').slice(0, 32);
    return { path: `\0sdops-pglite-${hash}`, file: false };
  }
  return { path: `${real}.lock`, file: true };
}

function listen(path: string, holder: Holder): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      // An asker that gave up before the answer (this process was busy) must not crash the holder.
      socket.on('error', () => undefined);
      socket.end(`${JSON.stringify(holder)}\n`);
    });
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      // Never keeps the process alive by itself, and a broken peer cannot crash it.
      server.on('error', () => undefined);
      server.unref();
      resolve(server);
    });
  });
}

/**
 * Who holds the lock, written beside the directory when it is taken: a holder busy in one long
 * statement of the embedded database (its event loop blocked) cannot answer on the socket in time,
 * but the socket accepted the connection, so the lock is held and this file names by whom. Beside
 * the directory's real path: `--data-dir .` put it inside the directory (`..holder.json`), which the
 * check for foreign files then refused, and a symlink's own path named no holder.
 */
async function holderFile(dataDir: string): Promise<string> {
  return `${await realpath(dataDir)}.holder.json`;
}

async function writtenHolder(dataDir: string): Promise<Holder> {
  try {
    const holder = JSON.parse(await readFile(await holderFile(dataDir), 'utf8')) as Holder;
    if (typeof holder.pid === 'number' && typeof holder.since === 'string') return holder;
  } catch {
    // no file (an older process holds it) or a partial one: nothing to add
  }
  return { pid: 0, since: 'unknown' };
}

/** The holder's answer, or undefined when nobody listens (a stale socket file). */
function ask(path: string): Promise<Holder | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(path);
    const done = (holder: Holder | undefined) => {
      socket.destroy();
      resolve(holder);
    };
    // Connected but no answer: held by a process too busy to answer.
    socket.setTimeout(ASK_TIMEOUT_MS, () => done({ pid: 0, since: 'busy' }));
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8');
    });
    socket.on('end', () => {
      try {
        done(JSON.parse(text) as Holder);
      } catch {
        done({ pid: 0, since: 'unknown' });
      }
    });
    socket.on('error', () => done(undefined));
  });
}

/** Takes the directory's lock or throws DataDirLockedError naming the process that holds it. */
export async function lockDataDir(dataDir: string): Promise<DirLock> {
  const { path, file } = await socketPath(dataDir);
  const holder: Holder = { pid: process.pid, since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const server = await listen(path, holder);
      const holderPath = await holderFile(dataDir);
      await writeFile(holderPath, `${JSON.stringify(holder)}\n`).catch(() => undefined);
      return {
        release: async () => {
          await unlink(holderPath).catch(() => undefined);
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
          });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      const other = await ask(path);
      if (other) {
        throw new DataDirLockedError(dataDir, other.since === 'busy' ? await writtenHolder(dataDir) : other);
      }
      // Nobody answers: the holder ended in between (try again, the lock may be free now), or, for
      // a socket file, a process that died left it behind.
      if (attempt >= 2) throw error;
      if (file) await unlink(path).catch(() => undefined);
    }
  }
}
