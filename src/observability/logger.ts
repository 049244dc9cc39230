import { type Context, context, isSpanContextValid, trace } from '@opentelemetry/api';
import { type AnyValueMap, type Logger as OtelLogger, logs, SeverityNumber } from '@opentelemetry/api-logs';
import { redactValue, serializeError } from './redact.ts';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
const SEVERITY: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
const OTEL_SEVERITY: Record<LogLevel, SeverityNumber> = {
  error: SeverityNumber.ERROR,
  warn: SeverityNumber.WARN,
  info: SeverityNumber.INFO,
  debug: SeverityNumber.DEBUG,
};

/** Only scalars and scalar lists: the type itself keeps row objects out of logs. */
export type LogFieldValue = string | number | boolean | null | undefined | readonly (string | number)[];

/** The documented fields (docs/telemetry.md "Log fields") plus free scalar fields. */
export interface LogFields {
  readonly [key: string]: LogFieldValue;
  readonly run_id?: string;
  readonly entity?: string;
  readonly count?: number;
  /** Seconds. */
  readonly duration?: number;
  readonly status?: string;
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields, error?: unknown): void;
  error(message: string, fields?: LogFields, error?: unknown): void;
  /** A logger that adds `fields` to every record (e.g. run_id for one run). */
  child(fields: LogFields): Logger;
}

/** Fields a record can carry by design; docs/telemetry.md "Log fields" is checked against this. */
export const LOG_FIELDS = [
  'timestamp',
  'level',
  'message',
  'component',
  'trace_id',
  'span_id',
  'run_id',
  'entity',
  'count',
  'duration',
  'status',
  'error',
] as const;

export type ConsoleDestination = 'stdout' | 'stderr' | 'none' | NodeJS.WritableStream;

export interface LoggingOptions {
  /** Level for OTLP and the default console level. Default: LOG_LEVEL, else 'info'. */
  readonly level?: LogLevel;
  /** Where JSON lines go. serve/worker: stdout; CLI commands: stderr so `--json` stdout stays clean. */
  readonly console?: ConsoleDestination;
  /** Quieter console level (e.g. 'warn' for the CLI). Ignored when LOG_LEVEL is set explicitly. */
  readonly consoleLevel?: LogLevel;
}

/**
 * The instrumentation scope OTLP log records have always carried (they used to be emitted through
 * @opentelemetry/winston-transport 0.34.0); kept so a Loki query or dashboard filtering on it is
 * unaffected by the records now being emitted directly.
 */
const OTLP_SCOPE = { name: '@opentelemetry/winston-transport', version: '0.34.0' } as const;

/**
 * Records are written straight to the console stream and to the OTel logs API rather than through
 * winston: its stream pipeline and the winston OTLP transport's per-record normalisation were most
 * of the per-call cost of telemetry (bench/telemetry.ts). Output is unchanged: console lines are
 * the JSON winston's timestamp()+json() formats produced (keys sorted), OTLP records have the body,
 * severity, attributes, exception and context the transport gave them.
 */
interface State {
  readonly console: NodeJS.WritableStream | undefined;
  readonly otlp: OtelLogger | undefined;
  /** Most verbose severity each destination takes (-1: none). */
  readonly consoleMax: number;
  readonly otlpMax: number;
  readonly options: LoggingOptions;
}

let state: State | undefined;

export function parseLogLevel(raw: string | undefined): LogLevel | undefined {
  const value = raw?.trim().toLowerCase();
  return LOG_LEVELS.find((l) => l === value);
}

function consoleStream(destination: ConsoleDestination): NodeJS.WritableStream | undefined {
  if (destination === 'none') return undefined;
  if (destination === 'stdout') return process.stdout;
  if (destination === 'stderr') return process.stderr;
  return destination;
}

function build(options: LoggingOptions, otlp: boolean): State {
  const envLevel = parseLogLevel(process.env.LOG_LEVEL);
  const level = options.level ?? envLevel ?? 'info';
  const consoleLevel = envLevel ?? options.consoleLevel ?? level;
  const console = consoleStream(options.console ?? 'stdout');
  return {
    console,
    otlp: otlp ? logs.getLogger(OTLP_SCOPE.name, OTLP_SCOPE.version) : undefined,
    consoleMax: console ? SEVERITY[consoleLevel] : -1,
    otlpMax: otlp ? SEVERITY[level] : -1,
    options,
  };
}

function current(): State {
  state ??= build({}, false);
  return state;
}

/** Reconfigures every logger (existing getLogger() handles included). Call once at process start. */
export function configureLogging(options: LoggingOptions): void {
  state = build(options, state?.otlp !== undefined);
}

/**
 * Internal: telemetry.ts turns OTLP records on after the global LoggerProvider is registered (the
 * OTel logger is resolved here, once) and off at shutdown.
 */
export function setOtlpLogging(enabled: boolean): void {
  state = build(state?.options ?? {}, enabled);
}

type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json | undefined };

/** JSON with object keys sorted at every level, as safe-stable-stringify (winston's json()) writes it. */
function stableJson(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => stableJson(v as Json)).join(',')}]`;
  const object = value as { readonly [key: string]: Json | undefined };
  let out = '';
  for (const key of Object.keys(object).sort()) {
    const v = object[key];
    if (v === undefined) continue;
    out += `${out ? ',' : ''}${JSON.stringify(key)}:${stableJson(v)}`;
  }
  return `{${out}}`;
}

function writeLine(stream: NodeJS.WritableStream, line: Record<string, Json | undefined>): void {
  stream.write(`${stableJson(line)}\n`);
}

interface ErrorFields {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

function errorFields(error: unknown): ErrorFields {
  const e = serializeError(error);
  return { name: e.type, message: e.message, ...(e.code ? { code: e.code } : {}), stack: e.stack };
}

class ComponentLogger implements Logger {
  constructor(
    private readonly component: string,
    private readonly base: LogFields,
  ) {}

  /** component, then base and call fields redacted; undefined values dropped. */
  private fields(fields: LogFields | undefined): Record<string, Json> {
    const out: Record<string, Json> = { component: this.component };
    for (const source of [this.base, fields]) {
      if (!source) continue;
      for (const key of Object.keys(source)) {
        // level and message are the record's own; a field must not overwrite them.
        if (key === 'level' || key === 'message') continue;
        const value = redactValue(key, source[key]);
        if (value !== undefined) out[key] = value as Json;
      }
    }
    return out;
  }

  private write(level: LogLevel, message: string, fields: LogFields | undefined, error?: unknown): void {
    try {
      const s = current();
      const severity = SEVERITY[level];
      const toConsole = severity <= s.consoleMax;
      const toOtlp = severity <= s.otlpMax;
      // The common case for debug lines and, under LOG_LEVEL=warn, for info: nothing is built.
      if (!toConsole && !toOtlp) return;
      const attributes = this.fields(fields);
      const err = error === undefined ? undefined : errorFields(error);
      const active = context.active();
      if (toOtlp) emitOtlp(s.otlp as OtelLogger, level, message, attributes, err, active);
      if (toConsole) {
        const spanContext = trace.getSpan(active)?.spanContext();
        const traced = spanContext && isSpanContextValid(spanContext);
        writeLine(s.console as NodeJS.WritableStream, {
          ...attributes,
          ...(traced ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {}),
          ...(err ? { error: err as unknown as Json } : {}),
          level,
          message,
          timestamp: new Date().toISOString(),
        });
      }
    } catch {
      // Logging must never break the operation that logs.
    }
  }

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }
  warn(message: string, fields?: LogFields, error?: unknown): void {
    this.write('warn', message, fields, error);
  }
  error(message: string, fields?: LogFields, error?: unknown): void {
    this.write('error', message, fields, error);
  }
  child(fields: LogFields): Logger {
    return new ComponentLogger(this.component, { ...this.base, ...fields });
  }
}

/**
 * One OTLP record: the trace context comes from `active` (not from trace_id/span_id attributes),
 * and an error becomes the record's exception (exception.type/message/stacktrace attributes).
 */
function emitOtlp(
  logger: OtelLogger,
  level: LogLevel,
  message: string,
  attributes: Record<string, Json>,
  error: ErrorFields | undefined,
  active: Context,
): void {
  logger.emit({
    severityNumber: OTEL_SEVERITY[level],
    severityText: level,
    body: message,
    attributes: attributes as AnyValueMap,
    context: active,
    ...(error ? { exception: error } : {}),
  });
}

export function getLogger(component: string): Logger {
  return new ComponentLogger(component, {});
}

/**
 * Internal: a warning about telemetry itself. Goes to the console only, never over OTLP: when the
 * collector is down the warning must still be seen, and it must not feed the failing pipeline.
 */
export function warnConsoleOnly(message: string, fields: LogFields): void {
  try {
    const s = current();
    if (SEVERITY.warn > s.consoleMax) return;
    const line: Record<string, Json | undefined> = { component: 'telemetry' };
    for (const key of Object.keys(fields)) line[key] = fields[key] as Json | undefined;
    writeLine(s.console as NodeJS.WritableStream, {
      ...line,
      level: 'warn',
      message,
      timestamp: new Date().toISOString(),
    });
  } catch {
    // see ComponentLogger.write
  }
}
