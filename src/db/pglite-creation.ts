import { mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

/** Names a data directory may hold beside a database, or before one: a creation's mark or leftovers. */
export function isCreationEntry(name: string): boolean {
  return name === CREATION_MARK || name.startsWith(SET_ASIDE_PREFIX);
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
  const aside = join(dataDir, `${SET_ASIDE_PREFIX}${new Date().toISOString().replaceAll(':', '-')}`);
  await mkdir(aside);
  for (const name of left) await rename(join(dataDir, name), join(aside, name));
  return aside;
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
 * Whether an existing directory holds no database yet: nothing, or only a killed creation's entries,
 * and no process holds it (one that does may be creating its database right now: the lock refuses
 * the caller with the error that names that process, data_dir_locked).
 */
export async function holdsNoDatabase(dataDir: string): Promise<boolean> {
  const names = await readdir(dataDir).catch(() => undefined);
  if (names === undefined || !names.every(isCreationEntry)) return false;
  const lock = await lockDataDir(dataDir);
  await lock.release();
  return true;
}
