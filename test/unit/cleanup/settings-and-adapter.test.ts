import { expect } from 'chai';
import { bossDbAdapter } from '../../../src/cleanup/index.ts';
import type { Database } from '../../../src/db/index.ts';

function fakeDb(kind: 'postgres' | 'pglite') {
  const calls: string[] = [];
  const db: Database = {
    kind,
    async query<R>(sql: string, params?: readonly unknown[]) {
      calls.push(`query${params ? `(${params.length})` : ''}: ${sql.trim().slice(0, 20)}`);
      if (kind === 'pglite' && sql.includes(';')) {
        throw Object.assign(new Error('cannot insert multiple commands into a prepared statement'), {
          code: '42601',
        });
      }
      return { rows: [{ ok: 1 }] as R[], rowCount: 1 };
    },
    async exec(sql: string) {
      calls.push(`exec: ${sql.trim().slice(0, 20)}`);
    },
    transaction: async () => {
      throw new Error('unused');
    },
    close: async () => {},
  };
  return { db, calls };
}

describe('pg-boss executeSql adapter', () => {
  it('sends BEGIN scripts through exec and parameterised SQL through query, on both drivers', async () => {
    for (const kind of ['postgres', 'pglite'] as const) {
      const { db, calls } = fakeDb(kind);
      const adapter = bossDbAdapter(db);
      expect((await adapter.executeSql('BEGIN; SELECT 1; COMMIT;', [])).rows).to.deep.equal([]);
      expect((await adapter.executeSql('SELECT $1', [1])).rows).to.deep.equal([{ ok: 1 }]);
      expect(calls).to.deep.equal(['exec: BEGIN; SELECT 1; COM', 'query(1): SELECT $1']);
    }
  });

  it('retries a parameterless multi-statement script on PGlite through exec', async () => {
    const { db, calls } = fakeDb('pglite');
    await bossDbAdapter(db).executeSql('SELECT 1; SELECT 2', []);
    expect(calls).to.deep.equal(['query: SELECT 1; SELECT 2', 'exec: SELECT 1; SELECT 2']);
  });
});
