import {
  context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  isSpanContextValid,
  ProxyTracerProvider,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { defer } from './deferred.ts';
import type { SpanAttributes, SpanName } from './span-names.ts';
import { spanContextFromCarrier, type TraceCarrier } from './trace-context.ts';
import { SCOPE_NAME } from './scope.ts';

type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export interface WithSpanOptions {
  readonly kind?: SpanKindName;
  /** Links to other traces: the enqueuing trace of a job, the previous run of a resumed migration. */
  readonly links?: readonly (TraceCarrier | SpanContext | undefined)[];
  /** Start a new trace instead of a child of the active span (a job or run is its own trace). */
  readonly root?: boolean;
  /** Continue a remote trace (e.g. an incoming traceparent header). Ignored when root is true. */
  readonly parent?: TraceCarrier;
}

/** What fn may do to its span; attribute keys are the catalog's, so typos do not compile. */
export interface SpanHandle {
  setAttributes(attributes: SpanAttributes): void;
  addEvent(name: string, attributes?: SpanAttributes): void;
  readonly traceId: string;
  readonly spanId: string;
}

const KINDS: Record<SpanKindName, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

function toLinks(links: WithSpanOptions['links']): Link[] {
  const out: Link[] = [];
  for (const link of links ?? []) {
    const spanContext = link && 'traceparent' in link ? spanContextFromCarrier(link) : link;
    if (spanContext && isSpanContextValid(spanContext)) out.push({ context: spanContext });
  }
  return out;
}

class Handle implements SpanHandle {
  statusSet: boolean;
  /** The span's `status` attribute says failure (a run that ended partially_failed, say). */
  failed: boolean;
  readonly span: Span;

  constructor(span: Span, initial: SpanAttributes) {
    this.span = span;
    this.statusSet = initial.status !== undefined;
    this.failed = initial.status === 'failure';
  }
  get traceId(): string {
    return this.span.spanContext().traceId;
  }
  get spanId(): string {
    return this.span.spanContext().spanId;
  }
  setAttributes(attributes: SpanAttributes): void {
    if (attributes.status !== undefined) {
      this.statusSet = true;
      this.failed = attributes.status === 'failure';
    }
    this.span.setAttributes(attributes);
  }
  addEvent(name: string, attributes?: SpanAttributes): void {
    this.span.addEvent(name, attributes);
  }
}

/** The exception event and `error.type` (the error's stable code, else its class) of a failed span. */
function recordFailure(span: Span, error: unknown, endTime: number): Error {
  const err = error instanceof Error ? error : new Error(String(error));
  span.recordException(err, endTime);
  const code = (error as { code?: unknown } | null)?.code;
  span.setAttribute('error.type', typeof code === 'string' ? code : err.name);
  return err;
}

/**
 * Ending a span is handed over off the caller's path (deferred.ts) with the time it really ended:
 * the span processor's work, and the export a full batch starts, then run while the caller waits
 * for I/O. Children end before parents because tasks run in order; a flush drains them first.
 */
function fail(handle: Handle, error: unknown): void {
  const endTime = performance.now();
  const { span, statusSet } = handle;
  defer(() => {
    const err = recordFailure(span, error, endTime);
    if (!statusSet) span.setAttribute('status', 'failure');
    span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
    span.end(endTime);
  });
}

/** The span's status code agrees with its `status` attribute, also when nothing was thrown. */
function succeed(handle: Handle): void {
  const endTime = performance.now();
  const { span, failed } = handle;
  defer(() => {
    span.setStatus({ code: failed ? SpanStatusCode.ERROR : SpanStatusCode.OK });
    span.end(endTime);
  });
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

let cached: { delegate: TracerProvider; tracer: Tracer } | undefined;

/**
 * The product's tracer from the registered provider, looked up again only when the provider changes
 * (a restart of telemetry in tests): trace.getTracer() builds a lookup key on every call, and this
 * is on the path of every operation and request.
 */
export function currentTracer(): Tracer {
  const global = trace.getTracerProvider();
  const delegate = global instanceof ProxyTracerProvider ? global.getDelegate() : global;
  if (cached?.delegate !== delegate) cached = { delegate, tracer: delegate.getTracer(SCOPE_NAME) };
  return cached.tracer;
}

/**
 * Runs fn inside an active span and returns what fn returns (sync value or promise). The span ends
 * on every path; a throw or rejection records the exception, sets status ERROR and, unless fn set
 * one, the `status` attribute to `failure`; the error is rethrown unchanged.
 */
export function withSpan<T>(
  name: SpanName | `${string} ${string}`,
  attributes: SpanAttributes,
  fn: (span: SpanHandle) => T,
  options: WithSpanOptions = {},
): T {
  const tracer = currentTracer();
  let parent = context.active();
  if (options.root) parent = trace.deleteSpan(parent);
  else if (options.parent) {
    const remote = spanContextFromCarrier(options.parent);
    if (remote) parent = trace.setSpanContext(parent, remote);
  }
  const spanOptions = {
    kind: KINDS[options.kind ?? 'internal'],
    attributes,
    links: toLinks(options.links),
    root: options.root === true,
  };
  return tracer.startActiveSpan(name, spanOptions, parent, (span) => {
    const handle = new Handle(span, attributes);
    let result: T;
    try {
      result = fn(handle);
    } catch (error) {
      fail(handle, error);
      throw error;
    }
    if (isPromiseLike(result)) {
      return Promise.resolve(result).then(
        (value) => {
          succeed(handle);
          return value;
        },
        (error: unknown) => {
          fail(handle, error);
          throw error;
        },
      ) as T;
    }
    succeed(handle);
    return result;
  });
}

/**
 * Runs fn with no span active: statements it makes get no client span, and nothing it starts joins
 * the caller's trace. For queue plumbing shared by several operations (one statement completing
 * the jobs of several traces), which would otherwise land in whichever trace scheduled it.
 */
export function outsideTrace<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}

/**
 * A database client span's name and attributes, built once per distinct statement and database
 * (src/db/traced.ts caches them) so a statement costs no parsing or object building.
 */
export interface DbSpanInfo {
  /** `{db.operation.name} {db.collection.name}`, or what of it is known. */
  readonly name: string;
  readonly attributes: SpanAttributes;
  /** The tracer's start options, built once with the attributes. */
  readonly options: { readonly kind: SpanKind; readonly attributes: SpanAttributes };
}

export function dbSpanInfo(name: string, attributes: SpanAttributes): DbSpanInfo {
  return { name, attributes, options: { kind: SpanKind.CLIENT, attributes } };
}

/**
 * Runs one statement as a CLIENT span that is a child of the active span; with no recording span
 * active (no operation around it, or telemetry off) it just runs it: statements outside an
 * operation would each be a one-span trace. The span is not made active (nothing nests inside a
 * statement) and ends off the caller's path; a failure records the exception, error.type and
 * db.response.status_code (the SQLSTATE) and rethrows unchanged.
 */
const SQLSTATE = /^[0-9A-Z]{5}$/;

export function withDbSpan<T>(info: DbSpanInfo, run: () => Promise<T>): Promise<T> {
  const parent = context.active();
  if (trace.getSpan(parent)?.isRecording() !== true) return run();
  const span = currentTracer().startSpan(info.name, info.options, parent);
  return run().then(
    (value) => {
      const endTime = performance.now();
      defer(() => span.end(endTime));
      return value;
    },
    (error: unknown) => {
      const endTime = performance.now();
      defer(() => {
        const err = recordFailure(span, error, endTime);
        const code = (error as { code?: unknown } | null)?.code;
        // The SQL conventions want the database's own response code on a failed statement.
        if (typeof code === 'string' && SQLSTATE.test(code))
          span.setAttributes({ 'db.response.status_code': code } satisfies SpanAttributes);
        span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
        span.end(endTime);
      });
      throw error;
    },
  );
}
