import { expect } from 'chai';
import { Heartbeats } from '../../../src/cleanup/heartbeats.ts';
import { JobAbort } from '../../../src/cleanup/job-abort.ts';
import type { Database } from '../../../src/db/index.ts';
import type { Logger } from '../../../src/observability/index.ts';
import { keptLog } from '../../support/kept-log.ts';
import { waitUntil } from '../../support/wait.ts';

function heartbeatsOn(db: Database, log: Logger): Heartbeats {
  const beats = Heartbeats.for(db, 60, log);
  if (!beats) throw new Error('heartbeats are on for PostgreSQL');
  return beats;
}

describe('job heartbeats', function () {
  this.timeout(20_000);

  it('says a stamp that keeps failing (not an outage) once, not every second, and says when stamps land again', async () => {
    let calls = 0;
    let refuse = true;
    const db = {
      kind: 'postgres',
      query: async () => {
        calls++;
        if (refuse) throw Object.assign(new Error('permission denied for table job'), { code: '42501' });
        return { rows: [{ id: '00000000-0000-4000-8000-000000000001', stamped: true }] };
      },
    } as unknown as Database;
    const { log, said } = keptLog();
    const beats = heartbeatsOn(db, log);
    try {
      beats.add(
        'purge_expired',
        { id: '00000000-0000-4000-8000-000000000001', retryCount: 0 },
        new JobAbort(),
      );
      await waitUntil('three failed stamps', () => calls >= 3, { timeoutMs: 10_000 });
      expect(said).to.deep.equal([
        'warn: could not stamp the heartbeat of running jobs; trying again every second',
      ]);
      refuse = false;
      await waitUntil('a stamp that lands', () => said.length === 2, { timeoutMs: 10_000 });
      expect(said[1]).to.equal('info: the heartbeat of running jobs is stamped again');
    } finally {
      beats.stop();
    }
  });

  it('does not say stamps land again when the stamp matched no job (its job was failed under it meanwhile)', async () => {
    let calls = 0;
    const db = {
      kind: 'postgres',
      query: async () => {
        calls++;
        if (calls <= 2) throw Object.assign(new Error('permission denied for table job'), { code: '42501' });
        return { rows: [] };
      },
    } as unknown as Database;
    const { log, said } = keptLog();
    const beats = heartbeatsOn(db, log);
    const abort = new JobAbort();
    try {
      beats.add('purge_expired', { id: '00000000-0000-4000-8000-000000000002', retryCount: 0 }, abort);
      await waitUntil('the attempt to be stopped', () => abort.signal.aborted, { timeoutMs: 10_000 });
      // Before: "is stamped again" right before the attempt was stopped for a stamp seen too late (a probe).
      expect(said).to.deep.equal([
        'warn: could not stamp the heartbeat of running jobs; trying again every second',
      ]);
    } finally {
      beats.stop();
    }
  });

  it('stops no attempt whose job row another statement holds: it is stamped at a later tick instead', async () => {
    const id = '00000000-0000-4000-8000-000000000003';
    let calls = 0;
    const db = {
      kind: 'postgres',
      // Active, but locked (the worker's own completion of it, say) twice, then stamped.
      query: async () => {
        calls++;
        return { rows: [{ id, stamped: calls > 2 }] };
      },
    } as unknown as Database;
    const { log, said } = keptLog();
    const beats = heartbeatsOn(db, log);
    const abort = new JobAbort();
    try {
      beats.add('purge_expired', { id, retryCount: 0 }, abort);
      await waitUntil('the stamp that lands', () => calls >= 3, { timeoutMs: 10_000 });
      expect(abort.signal.aborted, 'a held row is not a lost claim').to.equal(false);
      expect(said).to.deep.equal([]);
    } finally {
      beats.stop();
    }
  });

  it('with heartbeats off, takes the heartbeat time off a claimed job once (a held row at a later tick), and stamps nothing more', async () => {
    const id = '00000000-0000-4000-8000-000000000004';
    const params: unknown[][] = [];
    const db = {
      kind: 'postgres',
      // Held by another statement at the first try, cleared at the second.
      query: async (_sql: string, values: unknown[]) => {
        params.push(values);
        return { rows: [{ id, stamped: params.length > 1 }] };
      },
    } as unknown as Database;
    const { log, said } = keptLog();
    const beats = Heartbeats.for(db, 0, log);
    const abort = new JobAbort();
    try {
      // Before: no Heartbeats at all with heartbeats off, so the job kept its queue's heartbeat time.
      expect(beats).to.not.equal(undefined);
      beats?.add('purge_expired', { id, retryCount: 0 }, abort);
      await waitUntil('the clearing that lands', () => params.length >= 2, { timeoutMs: 10_000 });
      expect(params.map((p) => p[3])).to.deep.equal([null, null]);
      // Two more ticks: nothing left to stamp.
      await new Promise((resolve) => setTimeout(resolve, 2200));
      expect(params).to.have.lengthOf(2);
      expect(abort.signal.aborted).to.equal(false);
      expect(said).to.deep.equal([]);
    } finally {
      beats?.stop();
    }
  });
});
