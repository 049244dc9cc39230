import { trace } from '@opentelemetry/api';
import { expect } from 'chai';
import type { JobAttempt, PgBoss } from 'pg-boss';
import { Completions } from '../../../src/cleanup/completions.ts';
import { withSpan } from '../../../src/observability/index.ts';
import { type InMemoryTelemetry, startInMemoryTelemetry } from '../observability/harness.ts';

interface Call {
  readonly queue: string;
  readonly attempts: JobAttempt[];
  readonly output: object;
  /** Whether a span was active when the statement was made. */
  readonly inSpan: boolean;
}

function fakeBoss(fail?: Error): { boss: PgBoss; calls: Call[] } {
  const calls: Call[] = [];
  const boss = {
    complete: async (queue: string, attempts: JobAttempt[], output: object) => {
      calls.push({ queue, attempts: [...attempts], output, inSpan: trace.getActiveSpan() !== undefined });
      if (fail) throw fail;
      return { jobs: [], requested: attempts.length, affected: attempts.length };
    },
  };
  return { boss: boss as unknown as PgBoss, calls };
}

describe('Completions (one statement for the attempts that finish together)', () => {
  let otel: InMemoryTelemetry;
  before(async () => {
    otel = await startInMemoryTelemetry();
  });
  after(() => otel.telemetry.shutdown());

  it('completes attempts finishing in the same turn with one call per queue and output, each fenced to its retryCount', async () => {
    const { boss, calls } = fakeBoss();
    const completions = new Completions(boss);
    await Promise.all([
      completions.complete('cleanup.noop', { id: 'a', retryCount: 0 }, { count: 0 }),
      completions.complete('cleanup.noop', { id: 'b', retryCount: 2 }, { count: 0 }),
      completions.complete('cleanup.noop', { id: 'c', retryCount: 0 }, { count: 3 }),
      completions.complete('cleanup.purge_expired', { id: 'd', retryCount: 1 }, { count: 0 }),
    ]);
    expect(calls.map(({ queue, attempts, output }) => ({ queue, attempts, output }))).to.deep.equal([
      {
        queue: 'cleanup.noop',
        attempts: [
          { id: 'a', retryCount: 0 },
          { id: 'b', retryCount: 2 },
        ],
        output: { count: 0 },
      },
      { queue: 'cleanup.noop', attempts: [{ id: 'c', retryCount: 0 }], output: { count: 3 } },
      { queue: 'cleanup.purge_expired', attempts: [{ id: 'd', retryCount: 1 }], output: { count: 0 } },
    ]);
  });

  it('starts a new statement for attempts finishing after the last one was sent', async () => {
    const { boss, calls } = fakeBoss();
    const completions = new Completions(boss);
    await completions.complete('cleanup.noop', { id: 'a', retryCount: 0 }, { count: 0 });
    await completions.complete('cleanup.noop', { id: 'b', retryCount: 0 }, { count: 0 });
    expect(calls.map((c) => c.attempts.map((a) => a.id))).to.deep.equal([['a'], ['b']]);
  });

  it('rejects every attempt of a failed statement with its error, so each retries on its own', async () => {
    const down = new Error('connection refused');
    const { boss } = fakeBoss(down);
    const completions = new Completions(boss);
    const outcomes = await Promise.allSettled([
      completions.complete('cleanup.noop', { id: 'a', retryCount: 0 }, { count: 0 }),
      completions.complete('cleanup.noop', { id: 'b', retryCount: 0 }, { count: 0 }),
    ]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? o.reason : o.status))).to.deep.equal([down, down]);
  });

  it("runs the shared statement outside the callers' traces, even when called inside a job's span", async () => {
    const { boss, calls } = fakeBoss();
    const completions = new Completions(boss);
    await withSpan('cleanup.job', { job_type: 'noop', 'job.id': 'a', attempt: 1 }, () =>
      completions.complete('cleanup.noop', { id: 'a', retryCount: 0 }, { count: 0 }),
    );
    expect(calls.map((c) => c.inSpan)).to.deep.equal([false]);
  });
});
