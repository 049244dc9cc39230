import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isDatabaseUnavailable, openDatabase } from '../../../src/db/index.ts';
import { runCommand } from '../../support/cli.ts';

/**
 * The embedded database on a full disk: PGlite fails the write with PostgreSQL's own 53100, which
 * callers must see as "not now" (DatabaseUnavailableError) as they do from a PostgreSQL server. Raw,
 * the API answered it 500 internal_error while the CLI and the runners waited it out.
 */
describe('the embedded database on a full disk', function () {
  this.timeout(120_000);
  let base: string;
  let small: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'sdops-full-'));
    small = join(base, 'small');
    await mkdir(small);
    const mount = await runCommand('mount', ['-t', 'tmpfs', '-o', 'size=80m', 'tmpfs', small]);
    if (mount.code !== 0) throw new Error(`this test mounts a small tmpfs and needs root: ${mount.stderr}`);
  });
  after(async () => {
    await runCommand('umount', [small]);
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
});
