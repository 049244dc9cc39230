import { expect } from 'chai';
import { bossDbAdapter } from '../../../src/cleanup/boss.ts';
import { isClaim } from '../../../src/cleanup/boss.ts';
import type { Database } from '../../../src/db/index.ts';

function fakeDb() {
  const calls: string[] = [];
  const db: Database = {
    kind: 'postgres',
    async query<R>(sql: string, params?: readonly unknown[]) {
      calls.push(`query(${params?.length ?? 0}): ${sql.trim().slice(0, 20)}`);
      return { rows: [{ ok: 1 }] as R[], rowCount: 1 };
    },
    async exec(sql: string) {
      calls.push(`exec: ${sql.trim().slice(0, 20)}`);
      return [{ picked: 2 }];
    },
    transaction: async () => {
      throw new Error('unused');
    },
    withLock: (_key, fn) => fn(),
    cancelRunning: async () => 0,
    close: async () => {},
  };
  return { db, calls };
}

describe('pg-boss executeSql adapter', () => {
  it('sends parameterised SQL through query and parameterless scripts through exec, with their rows', async () => {
    const { db, calls } = fakeDb();
    const adapter = bossDbAdapter(db);
    expect((await adapter.executeSql('BEGIN; SELECT 1; COMMIT;', [])).rows).to.deep.equal([{ picked: 2 }]);
    expect((await adapter.executeSql('SELECT version()')).rows).to.deep.equal([{ picked: 2 }]);
    expect((await adapter.executeSql('SELECT $1', [1])).rows).to.deep.equal([{ ok: 1 }]);
    expect(calls).to.deep.equal([
      'exec: BEGIN; SELECT 1; COM',
      'exec: SELECT version()',
      'query(1): SELECT $1',
    ]);
  });
});

describe("pg-boss's job claim, held through a frozen database", () => {
  it('recognises the claim pg-boss sends, and no other of its statements', async () => {
    // pg-boss's own statement builders: the claim, and a complete and a fail beside it.
    const plans = (await import('pg-boss/dist/plans.js')) as unknown as Record<
      string,
      (...args: unknown[]) => unknown
    >;
    const claim = plans.fetchNextJob!({
      schema: 'pgboss',
      table: 'job',
      name: 'cleanup.noop',
      policy: 'standard',
      limit: 4,
      includeMetadata: true,
    }) as { text: string };
    expect(isClaim(claim.text)).to.equal(true);
    const others: [string, unknown][] = [
      ['completeJobs', plans.completeJobs!('pgboss', 'job', false, true)],
      ['failJobsById', plans.failJobsById!('pgboss', 'job', true)],
      ['cancelJobs', plans.cancelJobs!('pgboss', 'job', true)],
      ['resumeJobs', plans.resumeJobs!('pgboss', 'job')],
      ['restoreJobs', plans.restoreJobs!('pgboss', 'job')],
      ['insertJobs', plans.insertJobs!('pgboss', { table: 'job', name: 'cleanup.noop' })],
    ];
    for (const [name, built] of others) {
      const text = typeof built === 'string' ? built : (built as { text: string }).text;
      expect(text, name).to.be.a('string');
      expect(isClaim(text), name).to.equal(false);
    }
  });
});
