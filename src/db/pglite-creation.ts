import { readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * PGlite creates a new database over about a second and writes PG_VERSION late: a first start
 * killed in between (a container out of memory, Ctrl-C, kill -9) left files no later start would
 * open, refused as a damaged database is, although it never held any data. A first start marks the
 * empty directory before it creates the database there and removes the mark once the database is
 * complete, before anything is written to it: a start that finds the mark knows every other file is
 * from a creation that never finished, and starts it over.
 */
const CREATION_MARK = '.sdops-creating';

/** Names a data directory may hold beside a database, or before one: the mark of a creation. */
export function isCreationMark(name: string): boolean {
  return name === CREATION_MARK;
}

/**
 * Under the directory's lock: the files of a creation a killed process left unfinished are removed
 * (the mark stays: this start finishes the creation). True when there were such files.
 */
export async function clearUnfinishedCreation(dataDir: string): Promise<boolean> {
  const entries = await readdir(dataDir);
  if (!entries.includes(CREATION_MARK)) return false;
  const left = entries.filter((name) => !isCreationMark(name));
  for (const name of left) await rm(join(dataDir, name), { recursive: true, force: true });
  return true;
}

/**
 * Marks an empty directory (or one whose unfinished creation was cleared) as being created; the
 * returned function removes the mark once the database is complete. Undefined for a directory that
 * already holds a database.
 */
export async function markCreation(dataDir: string): Promise<(() => Promise<void>) | undefined> {
  const entries = await readdir(dataDir);
  if (entries.some((name) => !isCreationMark(name))) return undefined;
  await writeFile(join(dataDir, CREATION_MARK), `${process.pid}\n`);
  return () => unlink(join(dataDir, CREATION_MARK));
}
