import { cp, mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { PGlite } from '@electric-sql/pglite';
import { EMBEDDED_POSTGRES_MAJOR, openFailure } from '../../../src/db/pglite.ts';
import { runCli } from '../../support/cli.ts';
import { mountTmpfs } from '../../support/tmpfs.ts';

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
    const unmount = await mountTmpfs(small, '2m');
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
      await unmount();
    }
  });

  it("names another major's data directory and the major it embeds, or asks whether its own major's is damaged", async () => {
    const dir = join(base, 'roomy');
    await mkdir(dir);
    await writeFile(join(dir, 'PG_VERSION'), '19\n');
    const other = await openFailure(dir, new Error('PGlite failed to initialize properly'));
    expect(other.message).to.match(
      /it holds data of PostgreSQL 19 and this sdops embeds PostgreSQL 18 \(PGlite 0\.5\), which cannot open another major's files: open it with the sdops release that wrote it$/,
    );
    await writeFile(join(dir, 'PG_VERSION'), `${EMBEDDED_POSTGRES_MAJOR}\n`);
    const own = await openFailure(dir, new Error('PGlite failed to initialize properly'));
    expect(own.message).to.match(/it holds data of PostgreSQL 18: is it damaged, or read-only inside\?$/);
  });

  it('embeds the PostgreSQL major the messages name', async () => {
    const db = await PGlite.create();
    try {
      const { rows } = await db.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
      expect(Math.floor(Number(rows[0]?.v) / 10_000)).to.equal(EMBEDDED_POSTGRES_MAJOR);
    } finally {
      await db.close();
    }
  });

  it('creates the database again when a first start was killed while creating it, and keeps the files it finds aside, never deletes them', async () => {
    const env = { DATABASE_URL: undefined, OTEL_SDK_DISABLED: 'true' };
    const whole = join(base, 'whole');
    const first = await runCli(['--data-dir', whole, 'seed', '--rows', '10'], env);
    expect(first.code, first.stderr).to.equal(0);
    const files = await readdir(whole);
    expect(files).to.include('PG_VERSION');
    expect(files, 'the mark of a creation in progress').to.not.include('.sdops-creating');
    // What a first start killed half-way leaves: the mark, and PGlite's files without PG_VERSION
    // (it writes that late). Before, every later start refused the directory as damaged, exit 2.
    const killed = join(base, 'killed');
    await cp(whole, killed, { recursive: true });
    await rm(join(killed, 'PG_VERSION'));
    await writeFile(join(killed, '.sdops-creating'), '12345\n');
    const again = await runCli(['--data-dir', killed, 'list', 'documents'], env);
    expect(again.code, again.stderr).to.equal(0);
    const aside = (await readdir(killed)).filter((name) => name.startsWith('.sdops-unfinished-'));
    expect(aside).to.have.lengthOf(1);
    expect(again.stderr).to.include(
      `the embedded database in ${killed} was left half-created by a first start that was stopped; its files were moved to ${join(killed, aside[0] as string)}`,
    );
    const after = await readdir(killed);
    expect(after).to.include('PG_VERSION');
    expect(after).to.not.include('.sdops-creating');
    // The mark beside a database that got data (an older sdops wrote to half-created files, a copy by
    // hand): its files are set aside whole, not deleted (the first version of this removed them).
    const marked = join(base, 'marked');
    await cp(whole, marked, { recursive: true });
    await writeFile(join(marked, '.sdops-creating'), '12345\n');
    expect((await runCli(['--data-dir', marked, 'list', 'documents'], env)).code).to.equal(0);
    const [kept] = (await readdir(marked)).filter((name) => name.startsWith('.sdops-unfinished-'));
    expect((await readdir(join(marked, kept as string))).sort()).to.deep.equal(files.sort());
    // db status reports such a directory and changes nothing (it set the files aside and showed an
    // empty schema).
    const statusOf = join(base, 'status-of-marked');
    await cp(whole, statusOf, { recursive: true });
    await writeFile(join(statusOf, '.sdops-creating'), '12345\n');
    const status = await runCli(['--data-dir', statusOf, 'db', 'status'], env);
    expect(status.code, status.stderr).to.equal(1);
    expect(status.stderr).to.include('the first start that created it was stopped before it finished');
    expect((await readdir(statusOf)).sort()).to.deep.equal([...files, '.sdops-creating'].sort());
    // A start killed while it moved files aside: the next one moves the rest into the same folder.
    const split = join(base, 'split');
    await cp(whole, split, { recursive: true });
    await writeFile(join(split, '.sdops-creating'), '12345\n');
    const half = join(split, '.sdops-unfinished-2026-01-01T00-00-00.000Z');
    await mkdir(half);
    await writeFile(join(half, '.moving'), '');
    for (const name of ['PG_VERSION', 'base']) await rename(join(split, name), join(half, name));
    expect((await runCli(['--data-dir', split, 'list', 'documents'], env)).code).to.equal(0);
    expect((await readdir(split)).filter((name) => name.startsWith('.sdops-unfinished-'))).to.deep.equal([
      '.sdops-unfinished-2026-01-01T00-00-00.000Z',
    ]);
    expect((await readdir(half)).sort()).to.deep.equal(files.sort());
    // Without the mark such files are a database's, not a creation's: still refused, left alone.
    await rm(join(killed, 'PG_VERSION'));
    const damaged = await runCli(['--data-dir', killed, 'list', 'documents'], env);
    expect(damaged.code, damaged.stderr).to.equal(2);
    expect(await readdir(killed)).to.not.include('PG_VERSION');
  });

  it('opens a data directory given as a symlink to it', async () => {
    const target = join(base, 'target');
    await mkdir(target);
    const link = join(base, 'link');
    await symlink(target, link);
    const env = { DATABASE_URL: undefined, OTEL_SDK_DISABLED: 'true' };
    // Before: "could not be opened (file system error {errno: 44})" on every start, the target left
    // with only the mark.
    const seeded = await runCli(['--data-dir', link, 'seed', '--rows', '10'], env);
    expect(seeded.code, seeded.stderr).to.equal(0);
    const listed = await runCli(['--data-dir', `${link}/`, 'list', 'documents', '--limit', '1'], env);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(await readdir(target)).to.include('PG_VERSION');
  });
});
