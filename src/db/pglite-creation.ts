import { access, mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError } from '../errors.ts';
import { lockDataDir } from './dir-lock.ts';

/**
 * PGlite creates a new database over about a second and writes PG_VERSION late: a first start
 * killed in between (a container out of memory, Ctrl-C, kill -9) left files no later start would
 * open, refused as a damaged database is, although it never held any data. A first start marks the
 * empty directory before it creates the database there and removes the mark once the database is
 * complete, before anything is written to it: a start that finds the mark knows the other files are
 * from a creation that never finished, moves them aside and creates the database again. Aside, not
 * away: a directory that holds the mark beside a database that did get data (an older sdops opened
 * the half-created files and wrote to them; files copied by hand) loses nothing.
 */
const CREATION_MARK = '.sdops-creating';
const SET_ASIDE_PREFIX = '.sdops-unfinished-';
/** Inside a set-aside folder while files are moved into it: a move a kill cut short goes on there. */
const MOVING = '.moving';

const isSetAside = (name: string): boolean => name.startsWith(SET_ASIDE_PREFIX);

/** Names a data directory may hold beside a database, or before one: a creation's mark or leftovers. */
export function isCreationEntry(name: string): boolean {
  return name === CREATION_MARK || isSetAside(name);
}

/** The folders earlier starts set a killed creation's files aside in. */
export async function setAsideFolders(dataDir: string): Promise<string[]> {
  const names = await readdir(dataDir).catch(() => [] as string[]);
  return names.filter(isSetAside).sort();
}

/** Whether anything is at `path`. */
export const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** The set-aside folder a killed start was moving files into, or a new one. */
async function asideFolder(dataDir: string, entries: readonly string[]): Promise<string> {
  for (const name of entries.filter(isSetAside)) {
    if (await exists(join(dataDir, name, MOVING))) return join(dataDir, name);
  }
  const aside = join(dataDir, `${SET_ASIDE_PREFIX}${new Date().toISOString().replaceAll(':', '-')}`);
  await mkdir(aside);
  await writeFile(join(aside, MOVING), '');
  return aside;
}

/**
 * Under the directory's lock: the files of a creation a killed process left unfinished are moved
 * into a folder of their own inside the directory (the mark stays: this start finishes the
 * creation). Returns that folder, or undefined when there was nothing to move.
 */
export async function setAsideUnfinishedCreation(dataDir: string): Promise<string | undefined> {
  const entries = await readdir(dataDir);
  if (!entries.includes(CREATION_MARK)) return undefined;
  const left = entries.filter((name) => !isCreationEntry(name));
  if (left.length === 0) return undefined;
  try {
    const aside = await asideFolder(dataDir, entries);
    for (const name of left) await rename(join(dataDir, name), join(aside, name));
    await unlink(join(aside, MOVING));
    return aside;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new InvalidInputError(
      'invalid_argument',
      `the embedded database directory ${dataDir} holds the files of a first start that was stopped while it created the database, and they could not be moved aside (${code}): free some space, or choose another --data-dir`,
    );
  }
}

/**
 * Marks a directory that holds no database yet as being created; the returned function removes the
 * mark once the database is complete. Undefined for a directory that already holds one.
 */
export async function markCreation(dataDir: string): Promise<(() => Promise<void>) | undefined> {
  const entries = await readdir(dataDir);
  if (entries.some((name) => !isCreationEntry(name))) return undefined;
  await writeFile(join(dataDir, CREATION_MARK), `${process.pid}\n`);
  return () => unlink(join(dataDir, CREATION_MARK));
}

/**
 * Whether an existing directory holds no usable database yet: `empty` (nothing, or only leftovers
 * set aside), `unfinished` (a creation a killed first start left, which only a start that creates
 * the database sets aside), undefined when it holds one. A directory another process holds may be
 * being created right now: the lock then refuses the caller with the error that names that process
 * (data_dir_locked).
 */
export async function noDatabaseYet(dataDir: string): Promise<'empty' | 'unfinished' | undefined> {
  const names = await readdir(dataDir).catch(() => undefined);
  if (names === undefined) return undefined;
  const unfinished = names.includes(CREATION_MARK);
  if (!unfinished && !names.every(isCreationEntry)) return undefined;
  const lock = await lockDataDir(dataDir);
  await lock.release();
  return unfinished ? 'unfinished' : 'empty';
}
