import { loadConfig } from '../../src/config.ts';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import {
  configureLogging,
  defineAttributeValues,
  getLogger,
  softDeleteMetrics,
  startTelemetry,
  withSpan,
} from '../../src/observability/index.ts';
import { LineSink } from '../unit/observability/harness.ts';
import { waitUntil } from '../support/wait.ts';

interface Received {
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('OTLP/HTTP export to a local listener', () => {
  let server: Server;
  const received: Received[] = [];

  before(async () => {
    server = createServer((req, res) => {
      void readBody(req).then((body) => {
        if (req.method === 'POST') {
          received.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body });
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  after(async () => {
    server.close();
  });

  it('sends traces, metrics and logs as OTLP/HTTP POSTs to /v1/traces, /v1/metrics and /v1/logs', async () => {
    const { port } = server.address() as AddressInfo;
    configureLogging({ console: new LineSink(), level: 'info' });
    const telemetry = await startTelemetry({
      role: 'api',
      settings: {
        ...loadConfig().telemetry,
        endpoint: `http://127.0.0.1:${port}`,
        metricExportIntervalMs: 200,
      },
      environment: 'test',
    });
    defineAttributeValues({ entity: ['orders'] });
    await withSpan('soft_delete.delete', { entity: 'orders', operation: 'delete' }, async () => {
      softDeleteMetrics.recordOperation({
        entity: 'orders',
        operation: 'delete',
        status: 'success',
        rows: 1,
        durationSeconds: 0.003,
      });
      getLogger('core').info('soft delete done', { entity: 'orders', count: 1, status: 'success' });
    });
    await telemetry.shutdown(5000);

    const paths = () => new Set(received.map((r) => r.path));
    await waitUntil('requests on all three OTLP paths', () => paths().size >= 3, { timeoutMs: 10_000 });
    expect([...paths()].sort()).to.deep.equal(['/v1/logs', '/v1/metrics', '/v1/traces']);
    const body = (path: string) =>
      received
        .filter((r) => r.path === path)
        .map((r) => r.body)
        .join('\n');
    for (const r of received) expect(r.contentType).to.match(/application\/(json|x-protobuf)/);
    expect(body('/v1/traces')).to.include('soft_delete.delete').and.include('sdops-api');
    expect(body('/v1/metrics')).to.include('soft_delete.operations.total');
    expect(body('/v1/metrics')).to.include('soft_delete.operations.duration_seconds');
    const logs = body('/v1/logs');
    expect(logs).to.include('soft delete done');
    // The log record is correlated with the span it was written in.
    const traces = JSON.parse(body('/v1/traces').split('\n')[0]!) as {
      resourceSpans: { scopeSpans: { spans: { traceId: string; name: string }[] }[] }[];
    };
    const span = traces.resourceSpans[0]!.scopeSpans[0]!.spans.find((s) => s.name === 'soft_delete.delete')!;
    expect(logs).to.include(span.traceId);
    expect(body('/v1/traces')).to.include('deployment.environment.name');
  });
});
