import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { parseApiTokens } from '../../../src/api/index.ts';
import { ENV_VARS, loadConfig } from '../../../src/config.ts';
import { ConfigError } from '../../../src/errors.ts';
import { codeSpans, readDoc, ROOT, tableRows } from './support/markdown.ts';

const readme = readDoc('README.md');
const byName = new Map(ENV_VARS.map((v) => [v.name, v]));

function files(dir: string, pattern: RegExp): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && pattern.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** `| `NAME` | `default` or (unset) | read by | meaning |` */
function readmeTable(): Map<string, { default: string | undefined; readBy: string; meaning: string }> {
  const out = new Map<string, { default: string | undefined; readBy: string; meaning: string }>();
  for (const row of tableRows(readme, 'Variable')) {
    const name = codeSpans(row[0] ?? '')[0];
    expect(name, `README configuration row ${row.join(' | ')}`).to.be.a('string');
    const cell = row[1] ?? '';
    out.set(name as string, {
      default: cell === '(unset)' ? undefined : codeSpans(cell)[0],
      readBy: row[2] ?? '',
      meaning: row[3] ?? '',
    });
  }
  return out;
}

function expectConfigError(env: Record<string, string>, variable: string): void {
  expect(() => loadConfig(env), variable)
    .to.throw(ConfigError)
    .with.property('message')
    .that.includes(variable);
}

describe('configuration (src/config.ts ENV_VARS and the README table)', () => {
  it('documents in README exactly the variables of ENV_VARS, with the same defaults, readers and meanings', () => {
    const table = readmeTable();
    expect([...table.keys()].sort()).to.deep.equal(ENV_VARS.map((v) => v.name).sort());
    for (const v of ENV_VARS) {
      expect(table.get(v.name)?.default, `${v.name} default`).to.equal(v.default);
      expect(table.get(v.name)?.readBy, `${v.name} read by`).to.equal(v.readBy ?? 'sdops');
      // Before, only names, defaults and readers: one meaning had drifted (a docs probe).
      expect(table.get(v.name)?.meaning, `${v.name} meaning`).to.equal(v.description);
    }
  });

  it('declares every variable name that src/ mentions', () => {
    const constants = new Set<string>();
    const mentioned = new Set<string>();
    for (const file of files('src', /\.ts$/)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bconst ([A-Z][A-Z0-9_]*)\b/g)) constants.add(m[1] as string);
      for (const m of text.matchAll(/\b(?:(?:SDOPS|OTEL)_[A-Z0-9_]*[A-Z0-9]|DATABASE_URL|LOG_LEVEL)\b/g)) {
        mentioned.add(m[0]);
      }
    }
    const undeclared = [...mentioned].filter((n) => !constants.has(n) && !byName.has(n));
    expect(mentioned.size).to.be.greaterThan(20);
    expect(undeclared, 'variables src/ reads that ENV_VARS does not declare').to.deep.equal([]);
  });

  it('declares every env:NAME:-default reference of the collector configs with the same default', () => {
    for (const file of ['config.yaml', 'agent.yaml', 'gateway.yaml']) {
      const text = readFileSync(join(ROOT, 'otel-collector', file), 'utf8');
      const refs = [...text.matchAll(/\$\{env:([A-Z0-9_]+)(?::-([^}]*))?\}/g)];
      expect(refs.length, file).to.be.greaterThan(3);
      for (const [, name, def] of refs) {
        expect(byName.get(name as string), `${name} (${file}) in ENV_VARS`).to.include({
          readBy: 'collector',
          default: def,
        });
      }
    }
  });

  it('declares every variable the Grafana provisioning and compose.yaml interpolate', () => {
    const grafana = files('grafana/provisioning', /\.ya?ml$/).flatMap((f) => [
      ...readFileSync(f, 'utf8').matchAll(/\$\{?([A-Z][A-Z0-9_]+)/g),
    ]);
    expect(grafana.length).to.be.greaterThan(0);
    for (const [, name] of grafana) expect(byName.get(name as string)?.readBy, name).to.equal('grafana');
    const compose = readFileSync(join(ROOT, 'compose.yaml'), 'utf8');
    for (const [, name, def] of compose.matchAll(/\$\{([A-Z][A-Z0-9_]*)(?::-([^}]*))?\}/g)) {
      const spec = byName.get(name as string);
      expect(spec, `${name} (compose.yaml) in ENV_VARS`).to.not.equal(undefined);
      if (spec?.readBy === 'compose') expect(spec.default, name).to.equal(def);
    }
  });

  it('declares every worker and migration variable, and loadConfig really reads each one', () => {
    const names = ENV_VARS.map((v) => v.name).filter((n) =>
      /^SDOPS_(WORKER|QUEUE|JOB|PURGE|ARCHIVE|CLEANUP|MIGRATION)_/.test(n),
    );
    expect(names).to.have.lengthOf(25);
    const base = loadConfig({});
    // A valid value other than the default, for each variable whose default is not a number.
    const other: Record<string, string> = {
      SDOPS_WORKER_JOB_TYPES: 'noop',
      SDOPS_PURGE_CRON: 'off',
      SDOPS_ARCHIVE_CRON: 'off',
      SDOPS_MIGRATION_FAIL_BATCH: 'backfill-deleted-at:1',
    };
    for (const name of names) {
      const spec = byName.get(name);
      expect(spec?.readBy ?? 'sdops', name).to.equal('sdops');
      const value = other[name] ?? String(Number(spec?.default) + 1);
      const changed = loadConfig({ [name]: value });
      const read = (c: typeof base) => ({
        worker: c.worker,
        migration: c.migration,
        migrationExportRetryMs: c.migrationExportRetryMs,
      });
      expect(read(changed), name).to.not.deep.equal(read(base));
    }
  });

  it('refuses bad values and names the variable', () => {
    expectConfigError({ SDOPS_WORKER_CONCURRENCY: '0' }, 'SDOPS_WORKER_CONCURRENCY');
    expectConfigError({ SDOPS_DB_POOL_SIZE: 'ten' }, 'SDOPS_DB_POOL_SIZE');
    expectConfigError({ SDOPS_ARCHIVE_CRON: '* *' }, 'SDOPS_ARCHIVE_CRON');
    expectConfigError({ SDOPS_MIGRATION_FAIL_BATCH: 'nonsense' }, 'SDOPS_MIGRATION_FAIL_BATCH');
    expectConfigError(
      { SDOPS_MIGRATION_HEARTBEAT_MS: '1000', SDOPS_MIGRATION_LEASE_TIMEOUT_MS: '1500' },
      'SDOPS_MIGRATION_LEASE_TIMEOUT_MS',
    );
    expectConfigError({ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL');
    expectConfigError({ SDOPS_MIGRATION_RETRY_BASE_MS: '10000' }, 'SDOPS_MIGRATION_RETRY_BASE_MS');
    // A repeat is dropped, not logged and run twice over ("job_types":["noop","noop"]).
    expect(loadConfig({ SDOPS_WORKER_JOB_TYPES: 'noop, noop,purge_expired' }).worker.jobTypes).to.deep.equal([
      'noop',
      'purge_expired',
    ]);
    expectConfigError({ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL');
    // Once an internal failure ("Invalid URL", exit 1) when the driver parsed it.
    for (const url of [
      'postgres://u:p@h:notaport/db',
      'postgres://u:p@h:99999/db',
      'postgres://u:p@[bad/db',
    ]) {
      expectConfigError({ DATABASE_URL: url }, 'DATABASE_URL');
      expect(() => loadConfig({ DATABASE_URL: url }))
        .to.throw()
        .that.satisfies(
          (e: Error) => !e.message.includes(':p@'),
          'the value, which may hold a password, is not echoed',
        );
    }
    // A seconds field: pg-boss's parser reads "30 2 * * * *" as every hour at :02:30.
    expectConfigError({ SDOPS_ARCHIVE_CRON: '30 2 * * * *' }, 'SDOPS_ARCHIVE_CRON');
    expectConfigError({ SDOPS_PURGE_CRON: '0 3 * * * *' }, 'SDOPS_PURGE_CRON');
  });

  it('never refuses to start over telemetry settings: a bad one falls back to its default', () => {
    const t = loadConfig({ OTEL_METRIC_EXPORT_INTERVAL: 'soon', OTEL_EXPORTER_OTLP_TIMEOUT: '-1' }).telemetry;
    expect(t).to.deep.include({
      metricExportIntervalMs: 10_000,
      exportTimeoutMs: undefined,
      disabled: false,
    });
    expect(loadConfig({ OTEL_SDK_DISABLED: 'TRUE' }).telemetry.disabled).to.equal(true);
    expect(loadConfig({}).telemetry.endpoint).to.equal('http://localhost:4318');
    // Once handed to the SDK as given: every command failed, "Could not parse user-provided export URL".
    const bad = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: '127.0.0.1:4318',
      OTEL_SDK_DISABLED: 'yes',
    }).telemetry;
    expect(bad).to.deep.include({ endpoint: 'http://localhost:4318', disabled: false });
    expect(bad.rejected?.map((r) => r.name)).to.deep.equal([
      'OTEL_SDK_DISABLED',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
    ]);
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example:4318/' }).telemetry.endpoint,
    ).to.equal('https://otel.example:4318');
    // Past a Node timer's limit the metric export ran every millisecond; a query swallowed /v1/traces.
    const odd = loadConfig({
      OTEL_METRIC_EXPORT_INTERVAL: '99999999999',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2147483648',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318?x=1',
    }).telemetry;
    expect(odd).to.deep.include({ metricExportIntervalMs: 10_000, exportTimeoutMs: undefined });
    expect(odd.rejected?.map((r) => r.name)).to.deep.equal([
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_METRIC_EXPORT_INTERVAL',
      'OTEL_EXPORTER_OTLP_TIMEOUT',
    ]);
    expect(
      loadConfig({ OTEL_METRIC_EXPORT_INTERVAL: '2147483647' }).telemetry.metricExportIntervalMs,
    ).to.equal(2_147_483_647);
  });

  it('documents the API tokens compose.yaml really sets, and the server accepts them', () => {
    const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as {
      'x-app': { environment: Record<string, string> };
    };
    const raw = compose['x-app'].environment.SDOPS_API_TOKENS as string;
    const tokens = /^\$\{SDOPS_API_TOKENS:-(.*)\}$/.exec(raw)?.[1];
    expect(tokens, 'compose.yaml gives SDOPS_API_TOKENS a default').to.be.a('string');
    expect(readme).to.include(`\`${tokens}\``);
    // sdops serve exits at start when the tokens do not parse, and the whole stack waits for the API.
    expect(() => parseApiTokens(tokens), 'compose default tokens pass parseApiTokens').to.not.throw();
  });
});
