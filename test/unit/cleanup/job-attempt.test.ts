import { expect } from 'chai';
import type { Completions } from '../../../src/cleanup/completions.ts';
import { JobAbort } from '../../../src/cleanup/job-abort.ts';
import { type Job, runAttempt } from '../../../src/cleanup/job-attempt.ts';
import type { CleanupQueue } from '../../../src/cleanup/queue.ts';
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

describe('a job attempt', () => {
  it('is a success when its completion landed but the answer was lost, and the retry found the job completed', async () => {
    const { log, said } = keptLog();
    let failCalls = 0;
    let completeCalls = 0;
    const job = aJob();
    const outcome = await runAttempt(
      {
        queue: {
          boss: {
            fail: async () => void failCalls++,
            // What the first complete left: this attempt's job, completed.
            getJobById: async () => ({ id: job.id, state: 'completed', retryCount: 0 }),
          },
        } as unknown as CleanupQueue,
        // The first complete commits, then its connection drops; the retry finds nothing active.
        completions: {
          complete: async () => {
            if (++completeCalls === 1) throw lostAnswer();
            return false;
          },
        } as unknown as Completions,
        handlers: { noop: async () => ({ count: 5 }) },
        log,
        cancelStatements: async () => 0,
        recording: new AbortController().signal,
      },
      'noop',
      job,
      new JobAbort(),
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
    const job = aJob();
    const outcome = await runAttempt(
      {
        queue: { boss: { fail: async () => void failCalls++ } } as unknown as CleanupQueue,
        // What Completions says of an attempt whose job was no longer its own.
        completions: { complete: async () => false } as unknown as Completions,
        handlers: { noop: async () => ({ count: 5 }) },
        log,
        cancelStatements: async () => 0,
        recording: new AbortController().signal,
      },
      'noop',
      job,
      new JobAbort(),
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
