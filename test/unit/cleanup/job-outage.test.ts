import { expect } from 'chai';
import { jobOutageGuard } from '../../../src/cleanup/job-outage.ts';
import { JobClaimLostError } from '../../../src/cleanup/errors.ts';
import { getLogger } from '../../../src/observability/index.ts';
import { keptLog } from '../../support/kept-log.ts';

/** What the driver throws while the server restarts (57P01), before databaseError wraps it. */
const restarting = () =>
  Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });

describe('a job waiting out a database outage', () => {
  const log = getLogger('test');

  it('runs the statement again once the database answers, in the same attempt', async () => {
    const guard = jobOutageGuard({ signal: new AbortController().signal, log });
    let calls = 0;
    const value = await guard.run(async () => {
      calls += 1;
      if (calls === 1) throw restarting();
      return 'done';
    });
    expect(value).to.equal('done');
    expect(calls).to.equal(2);
  });

  it("ends its wait at once when the job's signal aborts, with the signal's reason (lease or shutdown)", async () => {
    const abort = new AbortController();
    const guard = jobOutageGuard({ signal: abort.signal, log });
    const handedBack = new Error('handed back at shutdown');
    const started = performance.now();
    const waiting = guard.run(async () => {
      throw restarting();
    });
    setTimeout(() => abort.abort(handedBack), 20);
    const outcome = await waiting.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    expect(outcome).to.equal(handedBack);
    // The backoff reaches 5 s per wait; without the abort it would have waited for ever.
    expect(performance.now() - started).to.be.below(1000);
  });

  it('says nothing of an outage when its claim is found lost during the first wait (a worker frozen past the database idle timeout)', async () => {
    const { log: kept, said } = keptLog();
    const abort = new AbortController();
    const guard = jobOutageGuard({ signal: abort.signal, log: kept });
    // The database closed the frozen worker's connection; the heartbeat, waking too, finds the job gone.
    const waiting = guard.run(async () => {
      throw restarting();
    });
    setTimeout(() => abort.abort(new JobClaimLostError(10)), 20);
    const outcome = await waiting.catch((error: unknown) => error);
    expect(outcome).to.be.instanceOf(JobClaimLostError);
    // Before: "database unreachable; the job waits for it ..." first, with the database up all along.
    expect(said).to.deep.equal([]);
  });

  it('says so once when the database still fails after the first wait, and once when it answers', async () => {
    const { log: kept, said } = keptLog();
    const guard = jobOutageGuard({ signal: new AbortController().signal, log: kept });
    let calls = 0;
    const value = await guard.run(async () => {
      calls += 1;
      if (calls < 3) throw restarting();
      return 'done';
    });
    expect(value).to.equal('done');
    expect(said).to.deep.equal([
      'warn: database unreachable; the job waits for it, unless its heartbeat or lease runs out first',
      'warn: database reachable again; the job continues',
    ]);
  });

  it('rethrows at once a failure that is not an outage (a job is not retried on a bug by waiting)', async () => {
    const guard = jobOutageGuard({ signal: new AbortController().signal, log });
    const bug = new Error('column does not exist');
    const outcome = await guard
      .run(async () => {
        throw bug;
      })
      .catch((error: unknown) => error);
    expect(outcome).to.equal(bug);
  });
});
