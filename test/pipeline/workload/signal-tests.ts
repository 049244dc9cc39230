import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { expect } from 'chai';
import type { ExportedLogRecord, ExportedSpan } from '../support/otlp-sink.ts';
import { promExemplars, promSeries } from '../support/prom-api.ts';
import { SPAN_METRICS } from '../../../grafana/src/index.ts';
import { REPO_ROOT } from '../support/paths.ts';
import type { World } from './world.ts';
import { waitUntil } from '../../support/wait.ts';

const SERVER = 2;
const CLIENT = 3;

/** Spans, logs and exemplars: the trace side of the pipeline under the same workload. */
export function registerSignalTests(world: World): void {
  const dbName = (): string => decodeURIComponent(new URL(world.db.url).pathname.slice(1));
  const spans = (): ExportedSpan[] => world.collector.readSpans();
  const logs = (): ExportedLogRecord[] => world.collector.readLogs();
  const named = (name: string) => spans().filter((s) => s.name === name);

  describe('traces, logs and exemplars', () => {
    it('span-metrics histograms carry exemplars whose trace ids are exported traces, migration.batch included', async () => {
      const exported = new Set(spans().map((s) => s.traceId));
      for (const spanName of ['migration.batch', 'migration.run', 'cleanup.job', 'soft_delete.bulk']) {
        const ids = await waitUntil(
          `exemplars on ${SPAN_METRICS.latency}_bucket{span_name="${spanName}"}`,
          async () => {
            const series = await promExemplars(
              world.prometheus.url,
              `${SPAN_METRICS.latency}_bucket{span_name="${spanName}"}`,
              1800,
            );
            const found = series.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id ?? ''));
            return found.length > 0 ? found : undefined;
          },
        );
        const missing = ids.filter((id) => !exported.has(id));
        expect(missing, `${spanName} exemplar trace ids not in the exported traces`).to.deep.equal([]);
      }
    });

    it('migration.run and migration.batch spans carry run_id; every run of the runs table has its traces', async () => {
      const runIds = new Set(world.ledger.sessions.map((s) => s.runId));
      const runSpans = named('migration.run');
      expect(new Set(runSpans.map((s) => s.attributes.run_id))).to.deep.equal(runIds);
      for (const s of world.ledger.sessions) {
        expect(
          runSpans.some((span) => span.traceId === s.traceId),
          `trace ${s.traceId} of run ${s.runId}`,
        ).to.equal(true);
      }
      const batches = named('migration.batch');
      expect(batches.length).to.be.greaterThan(4);
      for (const b of batches) {
        expect(runIds.has(String(b.attributes.run_id)), `batch span run_id ${b.attributes.run_id}`).to.equal(
          true,
        );
        const parent = runSpans.find((r) => r.spanId === b.parentSpanId);
        expect(parent?.attributes.run_id, 'migration.batch is a child of its migration.run').to.equal(
          b.attributes.run_id,
        );
      }
      // The injected failures are visible as ERROR batch spans.
      expect(batches.filter((b) => b.statusCode === 2).length).to.equal(4);
    });

    it('bulk operations export soft_delete.bulk with per-batch soft_delete.batch children; archive exports soft_delete.archive', () => {
      const bulk = named('soft_delete.bulk');
      expect(bulk.length, 'soft_delete.bulk spans').to.be.greaterThan(0);
      const batches = named('soft_delete.batch');
      const parents = new Map(
        spans()
          .filter((s) => ['soft_delete.bulk', 'soft_delete.purge', 'soft_delete.archive'].includes(s.name))
          .map((s) => [s.spanId, s]),
      );
      const orphans = batches.filter((b) => !parents.has(b.parentSpanId));
      expect(orphans.length, 'batch spans without a bulk/purge/archive parent').to.equal(0);
      const multi = bulk.find((b) => batches.filter((x) => x.parentSpanId === b.spanId).length >= 3);
      expect(multi, 'a bulk operation of 31 ids in batches of 10 has >= 3 batch spans').to.not.equal(
        undefined,
      );
      for (const key of ['entity', 'operation', 'status', 'count']) {
        expect(
          bulk.every((b) => b.attributes[key] !== undefined),
          `soft_delete.bulk ${key}`,
        ).to.equal(true);
      }
      const archive = named('soft_delete.archive');
      expect(
        archive.some((a) => a.attributes.entity === 'documents' && Number(a.attributes.count) > 0),
      ).to.equal(true);
      expect(batches.some((b) => parents.get(b.parentSpanId)?.name === 'soft_delete.archive')).to.equal(true);
    });

    it('soft_delete.bulk and soft_delete.archive spans carry run_id, and bulk spans batch.size, as docs/telemetry.md lists', () => {
      const missing: string[] = [];
      for (const name of ['soft_delete.bulk', 'soft_delete.archive', 'soft_delete.batch']) {
        const list = named(name);
        const keys = name === 'soft_delete.bulk' ? ['run_id', 'batch.size'] : ['run_id'];
        for (const key of keys) {
          const without = list.filter((s) => s.attributes[key] === undefined).length;
          if (without > 0) missing.push(`${without}/${list.length} ${name} spans without ${key}`);
        }
      }
      expect(missing).to.deep.equal([]);
    });

    it('migration commands export as service sdops-migrate (docs/telemetry.md resource table)', () => {
      const services = new Set(named('migration.run').map((s) => String(s.resource['service.name'])));
      expect([...services]).to.deep.equal(['sdops-migrate']);
    });

    it('worker jobs export cleanup.job spans (the dead job as ERROR) and the API exports HTTP server spans', () => {
      const jobs = named('cleanup.job');
      const types = new Set(jobs.map((j) => j.attributes.job_type));
      for (const t of ['noop', 'cascade_soft_delete', 'purge_expired', 'archive_entity'])
        expect(types).to.include(t);
      const failing = jobs.filter((j) => j.attributes['job.id'] === world.ledger.jobIds.failing);
      expect(failing.map((j) => j.statusCode)).to.deep.equal([2, 2]);
      expect(
        failing.map((j) => j.attributes.count),
        'a failed attempt counted nothing',
      ).to.deep.equal([0, 0]);
      const server = spans().filter((s) => s.attributes['http.route'] !== undefined);
      const names = new Set(server.map((s) => s.name));
      expect(names).to.include('DELETE /v1/:entity/:id');
      expect(names).to.include('POST /v1/:entity/bulk-delete');
      const del = server.find(
        (s) => s.name === 'DELETE /v1/:entity/:id' && s.attributes['http.response.status_code'] === 200,
      );
      expect(del, 'a DELETE span with its status code').to.not.equal(undefined);
      // The cascade job the DELETE enqueued runs in a trace of its own, linked back (not a child).
      const cascade = jobs.find((j) => j.attributes['job.id'] === world.ledger.jobIds.apiCascade);
      expect(cascade, 'the API cascade job span').to.not.equal(undefined);
    });

    it('database client spans arrive for each SQL statement of an operation, with the semantic-convention attributes, as children of the operation span', () => {
      const all = spans();
      const byId = new Map(all.map((s) => [`${s.traceId}/${s.spanId}`, s]));
      const db = all.filter((s) => s.kind === CLIENT && s.attributes['db.system.name'] !== undefined);
      expect(db.length, 'database client spans').to.be.greaterThan(50);
      const missing: string[] = [];
      for (const s of db) {
        for (const key of [
          'db.system.name',
          'db.namespace',
          'db.operation.name',
          'db.query.text',
          'server.address',
          'server.port',
        ]) {
          if (s.attributes[key] === undefined) missing.push(`${s.name} without ${key}`);
        }
        const parent = byId.get(`${s.traceId}/${s.parentSpanId}`);
        if (parent === undefined) missing.push(`${s.name}: parent ${s.parentSpanId} not exported`);
        else if (parent.kind === CLIENT) missing.push(`${s.name}: parent is another client span`);
        const name =
          s.attributes['db.collection.name'] === undefined
            ? s.attributes['db.operation.name']
            : `${s.attributes['db.operation.name']} ${s.attributes['db.collection.name']}`;
        if (s.name !== name) missing.push(`span name ${s.name} is not ${name}`);
        if (
          /\$[0-9]/.test(String(s.attributes['db.query.text'])) === false &&
          /VALUES \(/i.test(String(s.attributes['db.query.text']))
        )
          missing.push(`${s.name}: query text with inline values`);
      }
      expect([...new Set(missing)].slice(0, 20)).to.deep.equal([]);
      expect(new Set(db.map((s) => s.attributes['db.system.name']))).to.deep.equal(new Set(['postgresql']));
      expect(new Set(db.map((s) => s.attributes['db.namespace']))).to.deep.equal(new Set([dbName()]));
      // Under the product's operation spans: soft-delete calls, migration batches, jobs, requests.
      const parents = new Set(db.map((s) => byId.get(`${s.traceId}/${s.parentSpanId}`)?.name ?? ''));
      for (const name of ['soft_delete.delete', 'soft_delete.batch', 'migration.batch']) {
        expect([...parents], `a database span under ${name}`).to.include(name);
      }
    });

    it("gives Tempo's service graph its inputs: client spans to the database and server spans of the API", () => {
      const tempo = parse(readFileSync(join(REPO_ROOT, 'tempo/tempo.yaml'), 'utf8')) as {
        metrics_generator: { processor: { service_graphs: { database_name_attributes: string[] } } };
        overrides: { defaults: { metrics_generator: { processors: string[] } } };
      };
      expect(tempo.overrides.defaults.metrics_generator.processors).to.include('service-graphs');
      const dbAttributes = tempo.metrics_generator.processor.service_graphs.database_name_attributes;
      // Tempo pairs a CLIENT span carrying a database name attribute with a database node named by
      // server.address (modules/generator/processor/servicegraphs upsertDatabaseRequest).
      const edges = new Set(
        spans()
          .filter((s) => s.kind === CLIENT && dbAttributes.some((a) => s.attributes[a] !== undefined))
          .map((s) => `${s.resource['service.name']} -> ${s.attributes['server.address']}`),
      );
      const host = new URL(world.db.url).hostname || 'localhost';
      for (const service of ['sdops-api', 'sdops-worker', 'sdops-cli', 'sdops-migrate']) {
        expect([...edges], `${service} -> database edge`).to.include(`${service} -> ${host}`);
      }
      // The API's SERVER spans are the other side Tempo pairs (with the caller's CLIENT span, or
      // a virtual client node when the caller is not traced).
      const servers = spans().filter((s) => s.kind === SERVER && s.resource['service.name'] === 'sdops-api');
      expect(servers.length, 'SERVER spans of sdops-api').to.be.greaterThan(5);
    });

    it("labels span metrics with service as well as service_name, the label Grafana's Service Graph table filters by", async () => {
      const series = await promSeries(
        world.prometheus.url,
        `${SPAN_METRICS.calls}{span_kind="SPAN_KIND_SERVER"}`,
      );
      expect(series.length, 'server span-metrics series').to.be.greaterThan(0);
      // Grafana turns the clicked node's client="sdops-api" into service="sdops-api": that table was empty.
      expect(series.filter((l) => l.service !== l.service_name)).to.deep.equal([]);
      expect(series.map((l) => l.service)).to.include('sdops-api');
    });

    it('migration logs carry run_id, entity, count, duration, status and the trace and span ids of their spans', () => {
      const byId = new Map(spans().map((s) => [`${s.traceId}/${s.spanId}`, s]));
      const runIds = new Set(world.ledger.sessions.map((s) => s.runId));
      const records = logs().filter((r) => runIds.has(String(r.attributes.run_id)));
      expect(records.length).to.be.greaterThan(10);
      const complete = records.filter((r) =>
        ['entity', 'count', 'duration', 'status'].every((k) => r.attributes[k] !== undefined),
      );
      expect(complete.length, 'records with entity, count, duration and status').to.be.greaterThan(5);
      for (const r of records) {
        const span = byId.get(`${r.traceId}/${r.spanId}`);
        expect(span, `span of log "${String(r.body)}"`).to.not.equal(undefined);
        expect(span?.attributes.run_id, `log "${String(r.body)}" belongs to the span of its run`).to.equal(
          r.attributes.run_id,
        );
      }
      const ended = records.filter((r) => r.body === 'migration ended');
      expect(new Set(ended.map((r) => r.attributes.state))).to.deep.equal(
        new Set(['partially_failed', 'succeeded', 'failed']),
      );
      expect(new Set(ended.map((r) => r.attributes.status))).to.deep.equal(new Set(['failure', 'success']));
    });

    it('soft-delete and worker logs carry entity, count, duration, status and the ids of an exported span', () => {
      const byId = new Map(spans().map((s) => [`${s.traceId}/${s.spanId}`, s]));
      const withFields = logs().filter(
        (r) =>
          r.traceId !== '' && ['count', 'duration', 'status'].every((k) => r.attributes[k] !== undefined),
      );
      const services = new Set(withFields.map((r) => r.resource['service.name']));
      for (const svc of ['sdops-cli', 'sdops-worker', 'sdops-api']) expect(services).to.include(svc);
      const soft = withFields.filter((r) => {
        const span = byId.get(`${r.traceId}/${r.spanId}`);
        return (
          span?.name.startsWith('soft_delete.') === true && r.attributes.entity === span.attributes.entity
        );
      });
      expect(soft.length, 'logs inside soft_delete.* spans with their entity').to.be.greaterThan(0);
      // Every record with trace context from a process that never saw the outage points at an exported span.
      const orphans = logs().filter(
        (r) =>
          r.traceId !== '' &&
          r.resource['service.name'] === 'sdops-cli' &&
          !byId.has(`${r.traceId}/${r.spanId}`),
      );
      expect(orphans.map((r) => String(r.body))).to.deep.equal([]);
    });
  });
}
