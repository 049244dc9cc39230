import { expect } from 'chai';
import type { CleanupSettings } from '../../src/cleanup/index.ts';
import { loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';
import type { RunnerOptions } from '../../src/migration/index.ts';
import { DEFAULT_RUNNER_OPTIONS } from '../../src/migration/options.ts';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  expect.fail(`loadConfig(${JSON.stringify(env)}) accepted a bad value`);
}

describe('loadConfig: worker settings', () => {
  it('uses the documented defaults when nothing is set', () => {
    // Typed as the worker's own settings: the worker takes loadConfig().worker as it is.
    const s: CleanupSettings = loadConfig({}).worker;
    expect(s).to.deep.include({
      concurrency: 4,
      pollIntervalMs: 1000,
      purgeCron: '0 * * * *',
      archiveCron: '30 2 * * *',
      jobTypes: undefined,
    });
    expect(s.policy).to.deep.equal({
      retryLimit: 3,
      retryDelaySeconds: 5,
      expireSeconds: 900,
      heartbeatSeconds: 60,
    });
  });

  it('turns a cron off with "off" and splits job types, trimming spaces', () => {
    const s = loadConfig({ SDOPS_PURGE_CRON: 'off', SDOPS_WORKER_JOB_TYPES: 'noop, purge_expired' }).worker;
    expect(s.purgeCron).to.equal(undefined);
    expect(s.jobTypes).to.deep.equal(['noop', 'purge_expired']);
  });

  it('turns the database gauges of a process off with SDOPS_QUEUE_SAMPLE_INTERVAL_MS=off', () => {
    expect(loadConfig({ SDOPS_QUEUE_SAMPLE_INTERVAL_MS: 'off' }).worker.queueSampleIntervalMs).to.equal(
      undefined,
    );
    expect(loadConfig({}).worker.queueSampleIntervalMs).to.equal(5000);
    // As the cron variables take OFF.
    expect(loadConfig({ SDOPS_QUEUE_SAMPLE_INTERVAL_MS: 'OFF' }).worker.queueSampleIntervalMs).to.equal(
      undefined,
    );
  });

  it('refuses a bad number, cron or job-type list as invalid input naming the variable', () => {
    for (const [name, value] of [
      ['SDOPS_WORKER_CONCURRENCY', '0'],
      ['SDOPS_QUEUE_POLL_INTERVAL_MS', 'soon'],
      ['SDOPS_JOB_RETRY_LIMIT', '-1'],
      ['SDOPS_ARCHIVE_CRON', 'daily'],
      // A list with nothing in it would have meant every job type, purges included.
      ['SDOPS_WORKER_JOB_TYPES', ' , '],
      // A stray comma is a typo: it was dropped, so the list looked fine.
      ['SDOPS_WORKER_JOB_TYPES', 'noop,'],
      // Set to nothing (`SDOPS_WORKER_JOB_TYPES=$TYPES`, TYPES unset): read as unset, it meant every type.
      ['SDOPS_WORKER_JOB_TYPES', ''],
      ['SDOPS_API_TOKENS', ' '],
      ['SDOPS_DB_POOL_SIZE', '99999999999999'],
      // One: a migration's heartbeat waited behind its own batch; the live runner was taken over.
      ['SDOPS_DB_POOL_SIZE', '1'],
      ['SDOPS_MIGRATION_MAX_FAILED_BATCHES', '2147483648'],
      // Past a Node timer's range: the timer fired at once (a shutdown handed its jobs back at once).
      ['SDOPS_WORKER_SHUTDOWN_TIMEOUT_MS', '2147483648'],
      // Past the batch limit: once silently lowered (migration) or refused without the name (cleanup).
      ['SDOPS_MIGRATION_BATCH_SIZE', '200000'],
      ['SDOPS_CLEANUP_BATCH_SIZE', '1000000'],
      // Past what archive, pg-boss or an int4 column take: the worker started, then every scheduled
      // archive went dead, or it failed with a message naming no variable.
      ['SDOPS_ARCHIVE_AFTER_DAYS', '36501'],
      ['SDOPS_JOB_EXPIRE_SECONDS', '86401'],
      ['SDOPS_QUEUE_MAINTENANCE_INTERVAL_SECONDS', '86401'],
      // Below pg-boss's own minimum: a busy worker's stamp could come too late.
      ['SDOPS_JOB_HEARTBEAT_SECONDS', '5'],
      ['SDOPS_JOB_HEARTBEAT_SECONDS', '86401'],
      ['SDOPS_JOB_HEARTBEAT_SECONDS', '-1'],
      ['SDOPS_JOB_RETRY_LIMIT', '99999999999'],
      ['SDOPS_JOB_RETRY_DELAY_SECONDS', '99999999999'],
      ['SDOPS_WORKER_CONCURRENCY', '257'],
    ] as const) {
      const err = configError({ [name]: value });
      expect(err.message, name).to.include(name);
      expect(err, name).to.include({ code: 'invalid_config', kind: 'invalid_input' });
    }
  });
});

describe('loadConfig: migration runner options', () => {
  it('defaults to the runner defaults and reads SDOPS_MIGRATION_* variables', () => {
    const defaults: RunnerOptions = loadConfig({}).migration;
    expect(defaults).to.deep.equal({ ...DEFAULT_RUNNER_OPTIONS, faults: [] });
    expect(defaults.outageBudgetMs, 'five minutes of outage by default').to.equal(300_000);
    const o = loadConfig({
      SDOPS_MIGRATION_HEARTBEAT_MS: '100',
      SDOPS_MIGRATION_LEASE_TIMEOUT_MS: '300',
      SDOPS_MIGRATION_OUTAGE_BUDGET_MS: '20000',
    }).migration;
    expect(o).to.include({
      heartbeatIntervalMs: 100,
      leaseTimeoutMs: 300,
      defaultBatchSize: 5000,
      outageBudgetMs: 20_000,
    });
  });

  it('refuses a default batch size past the largest batch the runner accepts, rather than lowering it unsaid', () => {
    expect(loadConfig({ SDOPS_MIGRATION_BATCH_SIZE: '100000' }).migration.defaultBatchSize).to.equal(100_000);
    expect(configError({ SDOPS_MIGRATION_BATCH_SIZE: '500000' }).message).to.equal(
      'SDOPS_MIGRATION_BATCH_SIZE must be a whole number from 1 to 100000, got "500000"',
    );
  });

  it('refuses a purge/archive job size past the most rows one call may change, as --max-rows does', () => {
    // Before: any safe integer passed (probe K), a cap a job's own maxRows and --max-rows refuse.
    expect(configError({ SDOPS_CLEANUP_MAX_ROWS_PER_JOB: '100000001' }).message).to.equal(
      'SDOPS_CLEANUP_MAX_ROWS_PER_JOB must be a whole number from 1 to 100000000, got "100000001"',
    );
  });

  it('refuses a non-number and a lease shorter than two heartbeats, naming the variables', () => {
    expect(configError({ SDOPS_MIGRATION_RETRY_ATTEMPTS: 'x' }).message).to.match(/RETRY_ATTEMPTS/);
    expect(configError({ SDOPS_MIGRATION_RETRY_ATTEMPTS: '0' }).message).to.match(/RETRY_ATTEMPTS/);
    const lease = configError({
      SDOPS_MIGRATION_HEARTBEAT_MS: '1000',
      SDOPS_MIGRATION_LEASE_TIMEOUT_MS: '1500',
    });
    expect(lease.message).to.match(/SDOPS_MIGRATION_LEASE_TIMEOUT_MS.*twice SDOPS_MIGRATION_HEARTBEAT_MS/);
    expect(lease).to.include({ code: 'invalid_config', kind: 'invalid_input' });
  });

  it('parses the test-only fault spec and rejects a malformed one', () => {
    expect(
      loadConfig({ SDOPS_MIGRATION_FAIL_BATCH: 'backfill-deleted-at:3,*:7' }).migration.faults,
    ).to.deep.equal([
      { migration: 'backfill-deleted-at', batchNo: 3 },
      { migration: '*', batchNo: 7 },
    ]);
    expect(loadConfig({ SDOPS_MIGRATION_FAIL_BATCH: ' ' }).migration.faults).to.deep.equal([]);
    const err = configError({ SDOPS_MIGRATION_FAIL_BATCH: 'three' });
    expect(err.message).to.include('SDOPS_MIGRATION_FAIL_BATCH');
    expect(err).to.include({ kind: 'invalid_input' });
  });
});
