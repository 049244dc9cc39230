import { expect } from 'chai';
import { bossDbAdapter, CLEANUP_ENV_VARS, readCleanupSettings } from '../../../src/cleanup/index.ts';
import type { Database } from '../../../src/db/index.ts';
import { ConfigError } from '../../../src/errors.ts';

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

describe('cleanup settings', () => {
  it('uses the documented defaults when nothing is set', () => {
    const s = readCleanupSettings({});
    expect(s).to.deep.include({
      concurrency: 4,
      pollIntervalMs: 1000,
      purgeCron: '0 * * * *',
      jobTypes: undefined,
    });
    expect(s.policy).to.deep.equal({ retryLimit: 3, retryDelaySeconds: 5, expireSeconds: 900 });
    for (const spec of CLEANUP_ENV_VARS) expect(spec.description).to.not.equal('');
  });

  it('turns a cron off with "off", splits job types and refuses bad numbers naming the variable', () => {
    const s = readCleanupSettings({ SDOPS_PURGE_CRON: 'off', SDOPS_WORKER_JOB_TYPES: 'noop, purge_expired' });
    expect(s.purgeCron).to.equal(undefined);
    expect(s.jobTypes).to.deep.equal(['noop', 'purge_expired']);
    expect(() => readCleanupSettings({ SDOPS_WORKER_CONCURRENCY: '0' })).to.throw(
      ConfigError,
      /SDOPS_WORKER_CONCURRENCY/,
    );
    expect(() => readCleanupSettings({ SDOPS_ARCHIVE_CRON: 'daily' })).to.throw(
      ConfigError,
      /SDOPS_ARCHIVE_CRON/,
    );
  });
});

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
