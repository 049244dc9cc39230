import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * Stands in for Tempo and Loki: an OTLP/HTTP receiver for the collector's JSON-encoded
 * otlp_http exporter (test overlay). Every request body is appended as one line to
 * traces.jsonl / logs.jsonl so a failed test leaves the exported data behind to inspect.
 */

type AttributeScalar = string | number | boolean;
export type Attributes = Record<string, AttributeScalar | AttributeScalar[] | undefined>;

export interface ExportedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly statusCode: number;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  /** Decimal nanoseconds since the epoch, as OTLP/JSON sends them. */
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  readonly attributes: Attributes;
  readonly resource: Attributes;
  readonly scope: string;
}

export interface ExportedLogRecord {
  readonly body: unknown;
  readonly severityText: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Attributes;
  readonly resource: Attributes;
  readonly scope: string;
}

export interface OtlpSink {
  /** Base URL for the otlp_http exporter (it appends /v1/traces, /v1/logs). */
  readonly endpoint: string;
  readonly tracesFile: string;
  readonly logsFile: string;
  readSpans(): ExportedSpan[];
  readLogs(): ExportedLogRecord[];
  /**
   * While on, every export is answered 503 (a backend that is down or overloaded: the collector
   * retries), or with `status` 400 (a backend that refuses the data itself: the collector drops it).
   */
  refuse(on: boolean, status?: 400 | 503): void;
  close(): Promise<void>;
}

interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: unknown;
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpResource {
  attributes?: OtlpKeyValue[];
}
interface OtlpScope {
  name?: string;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  status?: { code?: number };
  kind?: number;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: OtlpKeyValue[];
}
interface OtlpLogRecord {
  body?: OtlpAnyValue;
  severityText?: string;
  traceId?: string;
  spanId?: string;
  attributes?: OtlpKeyValue[];
}
interface TracesRequest {
  resourceSpans?: { resource?: OtlpResource; scopeSpans?: { scope?: OtlpScope; spans?: OtlpSpan[] }[] }[];
}
interface LogsRequest {
  resourceLogs?: {
    resource?: OtlpResource;
    scopeLogs?: { scope?: OtlpScope; logRecords?: OtlpLogRecord[] }[];
  }[];
}

function scalar(value: OtlpAnyValue | undefined): AttributeScalar | AttributeScalar[] | undefined {
  if (value === undefined) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  // OTLP/JSON encodes int64 as a decimal string.
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) {
    return (value.arrayValue.values ?? [])
      .map((v) => scalar(v))
      .filter((v) => typeof v !== 'object') as AttributeScalar[];
  }
  return undefined;
}

function attributes(list: OtlpKeyValue[] | undefined): Attributes {
  const result: Attributes = {};
  for (const { key, value } of list ?? []) result[key] = scalar(value);
  return result;
}

function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as T);
}

export function parseSpans(file: string): ExportedSpan[] {
  return readJsonLines<TracesRequest>(file).flatMap((request) =>
    (request.resourceSpans ?? []).flatMap((rs) =>
      (rs.scopeSpans ?? []).flatMap((ss) =>
        (ss.spans ?? []).map((span) => ({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? '',
          name: span.name,
          statusCode: span.status?.code ?? 0,
          kind: span.kind ?? 0,
          startTimeUnixNano: String(span.startTimeUnixNano ?? 0),
          endTimeUnixNano: String(span.endTimeUnixNano ?? 0),
          attributes: attributes(span.attributes),
          resource: attributes(rs.resource?.attributes),
          scope: ss.scope?.name ?? '',
        })),
      ),
    ),
  );
}

export function parseLogs(file: string): ExportedLogRecord[] {
  return readJsonLines<LogsRequest>(file).flatMap((request) =>
    (request.resourceLogs ?? []).flatMap((rl) =>
      (rl.scopeLogs ?? []).flatMap((sl) =>
        (sl.logRecords ?? []).map((record) => ({
          body: scalar(record.body),
          severityText: record.severityText ?? '',
          traceId: record.traceId ?? '',
          spanId: record.spanId ?? '',
          attributes: attributes(record.attributes),
          resource: attributes(rl.resource?.attributes),
          scope: sl.scope?.name ?? '',
        })),
      ),
    ),
  );
}

export async function startOtlpSink(dir: string): Promise<OtlpSink> {
  const tracesFile = join(dir, 'traces.jsonl');
  const logsFile = join(dir, 'logs.jsonl');
  writeFileSync(tracesFile, '');
  writeFileSync(logsFile, '');
  let refusing: number | undefined;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (refusing !== undefined) {
        response.writeHead(refusing).end();
        return;
      }
      const target = request.url === '/v1/traces' ? tracesFile : request.url === '/v1/logs' ? logsFile : null;
      if (request.method !== 'POST' || target === null) {
        response.writeHead(404).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        // Re-serialise to guarantee one request per line.
        appendFileSync(target, `${JSON.stringify(JSON.parse(body))}\n`);
      } catch {
        response.writeHead(400).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    tracesFile,
    logsFile,
    readSpans: () => parseSpans(tracesFile),
    readLogs: () => parseLogs(logsFile),
    refuse: (on, status = 503) => {
      refusing = on ? status : undefined;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
