import { expect } from 'chai';
import { jobOutageGuard } from '../../../src/cleanup/job-outage.ts';
import { getLogger } from '../../../src/observability/index.ts';

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
