import { expect } from 'chai';
import type { Completions } from '../../../src/cleanup/completions.ts';
import { JobAbort } from '../../../src/cleanup/job-abort.ts';
import { type Job, runAttempt } from '../../../src/cleanup/job-attempt.ts';
import type { CleanupQueue } from '../../../src/cleanup/queue.ts';
import type { Logger } from '../../../src/observability/index.ts';
import { keptLog } from '../../support/kept-log.ts';

const lostAnswer = () =>
  Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });

function aJob(): Job {
  const now = new Date();
  return {
    id: '00000000-0000-4000-8000-0000000000a1',
    name: 'cleanup.noop',
    data: { jobType: 'noop', payload: {}, meta: {} },
    retryCount: 0,
    retryLimit: 3,
    createdOn: now,
    startAfter: now,
    startedOn: now,
    expireInSeconds: 60,
  } as unknown as Job;
}

/** One attempt of a no-op job that changes 5 rows, against a queue and completions of the test's. */
function attemptWith(queue: object, completions: Pick<Completions, 'complete'>, log: Logger) {
  return runAttempt(
    {
      queue: queue as unknown as CleanupQueue,
      completions: completions as unknown as Completions,
      handlers: { noop: async () => ({ count: 5 }) },
      log,
      cancelStatements: async () => 0,
      recording: new AbortController().signal,
    },
    'noop',
    aJob(),
    new JobAbort(),
  );
}

describe('a job attempt', () => {
  it('is a success when its completion landed but the answer was lost, and the retry found the job completed', async () => {
    const { log, said } = keptLog();
    let failCalls = 0;
    let completeCalls = 0;
    const outcome = await attemptWith(
      {
        boss: {
          fail: async () => void failCalls++,
          // What the first complete left: this attempt's job, completed.
          getJobById: async () => ({ state: 'completed', retryCount: 0 }),
        },
      },
      // The first complete commits, then its connection drops; the retry finds nothing active.
      {
        complete: async () => {
          if (++completeCalls === 1) throw lostAnswer();
          return false;
        },
      },
      log,
    );
    // Before: a failed attempt, "its heartbeat was not seen in time, and it runs again" (it did not).
    expect(outcome).to.deep.include({ ok: true, rows: 5 });
    expect(completeCalls).to.equal(2);
    expect(said.filter((line) => line.startsWith('warn'))).to.deep.equal([]);
    expect(failCalls).to.equal(0);
  });

  it('does not call itself a success when its completion found the job taken (failed under it and running again)', async () => {
    const { log, said } = keptLog();
    let failCalls = 0;
    const outcome = await attemptWith(
      { boss: { fail: async () => void failCalls++ } },
      // What Completions says of an attempt whose job was no longer its own.
      { complete: async () => false },
      log,
    );
    // Before: ok, "cleanup job finished" with status success, counted as one.
    expect(outcome).to.deep.include({ ok: false, rows: 0 });
    expect(said).to.deep.equal([
      'warn: cleanup job failed: its heartbeat was not seen in time, and it runs again; this attempt stopped',
    ]);
    // The maintenance that took the job recorded its failure: not a second time (a second retry spent).
    expect(failCalls).to.equal(0);
  });
});
