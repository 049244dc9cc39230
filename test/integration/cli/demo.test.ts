import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'chai';
import pg from 'pg';
import { runCli } from '../../support/cli.ts';
import { spawnSdops } from '../../support/sdops-process.ts';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.ts';

/** `npm run demo` run again and again: it reuses its data instead of piling seed on seed. */
describe('sdops demo run repeatedly (PostgreSQL)', function () {
  this.timeout(240_000);
  let db: TestDatabase;

  const domainRows = async (): Promise<number> => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const tables = ['customers', 'orders', 'order_items', 'documents'].flatMap((t) => [t, `${t}_archive`]);
      const { rows } = await client.query<{ n: string }>(
        `SELECT ${tables.map((t) => `(SELECT count(*) FROM ${t})`).join(' + ')} AS n`,
      );
      return Number(rows[0]?.n);
    } finally {
      await client.end();
    }
  };
  const demo = async (...extra: string[]) => {
    const r = await runCli(['demo', '--rows', '400', ...extra], { DATABASE_URL: db.url });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/Soft-delete demo summary/);
    // Every run shows every step, however many runs came before it.
    expect(r.stdout).to.include('delete one item on its own');
    return r;
  };

  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  it('seeds once, then reuses its data and says how to reset; --reset starts from an empty domain', async () => {
    const first = await demo();
    expect(first.stdout).to.match(/\nseeded customers=400 /);
    const afterFirst = await domainRows();
    for (let i = 0; i < 3; i++) {
      const again = await demo();
      expect(again.stdout, again.stderr).to.match(/reused \d+ rows of earlier demo runs/);
      expect(again.stderr).to.include('sdops demo --reset');
    }
    // Purges remove a few rows; nothing was added.
    expect(await domainRows()).to.be.at.most(afterFirst);
    const reset = await demo('--reset');
    expect(reset.stderr).to.match(/--reset emptied the demo tables/);
    expect(reset.stdout).to.match(/\nseeded customers=400 /);
    expect(await domainRows()).to.be.closeTo(afterFirst, afterFirst * 0.05);
  });

  it('stops a --loop whose reader went away (`| head -1`) after the run in progress, exit 0', async () => {
    const looping = spawnSdops(['--json', 'demo', '--loop', '--rows', '400', '--pause-ms', '200'], {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'warn',
    });
    let exit: number | null | 'still running';
    try {
      // The reader takes the first run's line and goes, as `head -1` does.
      await looping.waitFor(/"steps"/, 90_000);
      looping.child.stdout?.destroy();
      const late = delay(90_000, 'still running' as const, { ref: false });
      exit = await Promise.race([looping.exited, late]);
    } finally {
      await looping.stop('SIGKILL');
    }
    // Before: it ran on for nobody, 10 minutes in a probe, holding its database, until a SIGINT.
    expect(exit, looping.output().slice(-2000)).to.equal(0);
  });
});
