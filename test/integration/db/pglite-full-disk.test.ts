import { mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isDatabaseUnavailable, openDatabase } from '../../../src/db/index.ts';
import { runCli } from '../../support/cli.ts';
import { mountTmpfs } from '../../support/tmpfs.ts';

/**
 * The embedded database on a full disk: PGlite fails the write with PostgreSQL's own 53100, which
 * callers must see as "not now" (DatabaseUnavailableError) as they do from a PostgreSQL server. Raw,
 * the API answered it 500 internal_error while the CLI and the runners waited it out.
 */
describe('the embedded database on a full disk', function () {
  this.timeout(120_000);
  let base: string;
  let small: string;
  let unmountSmall: (() => Promise<void>) | undefined;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'sdops-full-'));
    small = join(base, 'small');
    unmountSmall = await mountTmpfs(small, '80m');
  });
  after(async () => {
    await unmountSmall?.();
    await rm(base, { recursive: true, force: true });
  });

  it('fails a write that does not fit as an unavailable database, in a query and in a transaction', async () => {
    const db = await openDatabase({ dataDir: join(small, 'data') });
    try {
      await db.query('CREATE TABLE filler (t text)');
      const fill = 'INSERT INTO filler SELECT repeat(md5(g::text), 40) FROM generate_series(1, 100000) g';
      const failure = (p: Promise<unknown>) =>
        p.then(
          () => expect.fail('the write fit'),
          (error: unknown) => error as { code?: string; message?: string },
        );
      const inQuery = await failure(db.query(fill));
      expect(isDatabaseUnavailable(inQuery), String(inQuery.message)).to.equal(true);
      expect(inQuery.code).to.equal('database_unavailable');
      expect(inQuery.message).to.match(/No space left on device/);
      const inTransaction = await failure(db.transaction((tx) => tx.query(fill)));
      expect(inTransaction.code).to.equal('database_unavailable');
    } finally {
      await db.close();
    }
  });

  it('warns at the start of a command that little space is left, before it writes anything', async () => {
    // Its own file system: the test above leaves its database's disk full.
    const disk = join(base, 'warn');
    const unmount = await mountTmpfs(disk, '160m');
    try {
      const dataDir = join(disk, 'data');
      const created = await runCli(['--data-dir', dataDir, 'db', 'migrate']);
      expect(created.code, created.stderr).to.equal(0);
      expect(created.stdout + created.stderr, 'plenty of space at creation: no warning').to.not.match(
        /MB are free/,
      );
      const { bavail, bsize } = await statfs(disk);
      await writeFile(join(disk, 'filler'), Buffer.alloc(bavail * bsize - 20 * 2 ** 20));
      const status = await runCli(['--data-dir', dataDir, 'db', 'status']);
      expect(status.code, status.stderr).to.equal(0);
      // db commands log to stdout, as serve and worker do.
      expect(status.stdout + status.stderr).to.match(
        /only 1?\d MB are free on the file system of the embedded database in .*: a command that writes may fail \(no space left on device\) or hang; free some space/,
      );
    } finally {
      await unmount();
    }
  });
});
