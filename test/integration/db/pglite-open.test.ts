import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { openFailure } from '../../../src/db/pglite.ts';
import { runCommand } from '../../support/cli.ts';

/**
 * PGlite says only "PGlite failed to initialize properly" when it cannot start. Short of disk space,
 * a sound directory failed that way, and the line asked whether it was damaged or from another
 * version: an invitation to throw good data away.
 */
describe('the embedded database that cannot be opened', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'sdops-open-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('names the free space when its file system is nearly full, not damage', async () => {
    const small = join(base, 'small');
    await mkdir(small);
    const mount = await runCommand('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]);
    if (mount.code !== 0) throw new Error(`this test mounts a small tmpfs and needs root: ${mount.stderr}`);
    try {
      const dir = join(small, 'data');
      await mkdir(dir);
      await writeFile(join(dir, 'PG_VERSION'), '17\n');
      const error = await openFailure(dir, new Error('PGlite failed to initialize properly'));
      expect(error.message).to.match(
        /only [0-2] MB are free on its file system: free some space and run it again$/,
      );
      expect(error.message).to.not.include('damaged');
    } finally {
      await runCommand('umount', [small]);
    }
  });

  it('asks whether a directory with room to spare is damaged or from another version', async () => {
    const dir = join(base, 'roomy');
    await mkdir(dir);
    await writeFile(join(dir, 'PG_VERSION'), '16\n');
    const error = await openFailure(dir, new Error('PGlite failed to initialize properly'));
    expect(error.message).to.match(
      /it holds data of PostgreSQL 16: is it from another sdops version, damaged/,
    );
  });
});
