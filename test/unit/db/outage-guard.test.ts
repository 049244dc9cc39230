import { expect } from 'chai';
import { DatabaseOutageError, databaseError } from '../../../src/db/errors.ts';
import { OutageGuard } from '../../../src/db/outage-guard.ts';
import { waitUntil } from '../../support/wait.ts';

const diskFull = () =>
  Object.assign(new Error('could not extend file "base/5/16384": No space left on device'), {
    code: '53100',
  });
const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

/** A guard with a short budget that records what it says. */
function guard(budgetMs: number) {
  const said: string[] = [];
  const outage = new OutageGuard(budgetMs, {
    unreachable: (_error, words) => said.push(words),
    reachable: (_seconds, words) => said.push(words),
    exhausted: (budget, error) => new DatabaseOutageError(budget, error),
    interrupted: (error) => error as Error,
  });
  return { outage, said };
}

describe('OutageGuard', () => {
  it('ends an outage of an unreachable database at the first statement that gets through', async () => {
    const { outage, said } = guard(60_000);
    let calls = 0;
    const failing = outage.run(async () => {
      calls += 1;
      if (calls <= 2) throw databaseError(refused());
      return 'done';
    });
    await waitUntil('the outage to be said', () => said.length === 1, { timeoutMs: 2000, intervalMs: 10 });
    // Another statement (a heartbeat) succeeds while the first waits: the database is back.
    await outage.run(async () => 'heartbeat');
    expect(said).to.deep.equal(['database unreachable', 'database reachable again']);
    expect(await failing).to.equal('done');
  });

  it('says nothing when a stop request ends the first wait, and nothing when another statement ends it', async () => {
    const stopped = guard(60_000);
    const waiting = stopped.outage.run(async () => {
      throw databaseError(refused());
    });
    stopped.outage.interrupt();
    expect(await waiting.catch((error: unknown) => error)).to.be.instanceOf(Error);
    expect(stopped.said).to.deep.equal([]);

    const passed = guard(60_000);
    let calls = 0;
    const failing = passed.outage.run(async () => {
      calls += 1;
      if (calls === 1) throw databaseError(refused());
      return 'done';
    });
    await passed.outage.run(async () => 'heartbeat');
    expect(await failing).to.equal('done');
    expect(passed.said).to.deep.equal([]);
  });

  it('keeps a full disk an outage while other statements get through, until its budget ends it', async () => {
    const { outage, said } = guard(600);
    const batch = outage.run(async () => {
      throw databaseError(diskFull());
    });
    const outcome = batch.then(
      () => undefined,
      (error: unknown) => error,
    );
    // Reads and heartbeats succeed on a full disk: before, each ended the outage and its clock.
    for (let i = 0; i < 5; i++) await outage.run(async () => 'read');
    const error = (await outcome) as Error;
    expect(error).to.be.instanceOf(DatabaseOutageError);
    expect(error.message).to.equal(
      'the database could not do the work for more than 1 s (could not extend file "base/5/16384": No space left on device)',
    );
    // Before: "database unreachable", which sent the operator after the network.
    expect(said).to.deep.equal(['database disk full']);
  });

  it('ends a full disk outage when the statement that failed gets through', async () => {
    const { outage, said } = guard(60_000);
    let calls = 0;
    const result = await outage.run(async () => {
      calls += 1;
      if (calls < 3) throw databaseError(diskFull());
      return 'committed';
    });
    expect(result).to.equal('committed');
    expect(said).to.deep.equal(['database disk full', 'database works again']);
  });
});
