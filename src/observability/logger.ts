import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import winston from 'winston';
import type Transport from 'winston-transport';
import { defer, drainDeferred } from './deferred.ts';
import { formatLine, JsonLinesTransport, MADE_AT } from './json-lines-transport.ts';
import { scopedLogFields } from './log-context.ts';
import { consoleLossReporter } from './console-loss.ts';
import { batchedStdio, type LineSink, onConsoleLoss, streamSink, writeBatchedLinesNow } from './line-sink.ts';
import { EMIT_CONTEXT, OtlpLogTransport } from './otlp-log-transport.ts';
import { redactValue, serializeError } from './redact.ts';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const SEVERITY: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Only scalars and scalar lists: the type itself keeps row objects out of logs. */
type LogFieldValue = string | number | boolean | null | undefined | readonly (string | number)[];

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
  info(message: string, fields?: LogFields, error?: unknown): void;
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
  'migration',
  'job_type',
  'job_id',
  'attempt',
  'error_code',
  'error',
] as const;

type ConsoleDestination = 'stdout' | 'stderr' | 'none' | NodeJS.WritableStream;

export interface LoggingOptions {
  /** Level for OTLP and the default console level (the CLI passes LOG_LEVEL). Default 'info'. */
  readonly level?: LogLevel;
  /** Where JSON lines go. serve/worker: stdout; CLI commands: stderr so `--json` stdout stays clean. */
  readonly console?: ConsoleDestination;
  /** Quieter console level (e.g. 'warn' for one-shot CLI commands while LOG_LEVEL is unset). */
  readonly consoleLevel?: LogLevel;
}

interface State {
  root: winston.Logger;
  /** Where the console transport writes; telemetry's own warnings go straight here (warnConsoleOnly). */
  consoleSink: LineSink | undefined;
  otlp: Transport | undefined;
  level: LogLevel;
  consoleLevel: LogLevel;
  options: LoggingOptions;
}

let state: State | undefined;

function moreVerbose(a: LogLevel, b: LogLevel): LogLevel {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

function consoleSink(destination: ConsoleDestination): LineSink | undefined {
  if (destination === 'none') return undefined;
  if (destination === 'stdout') return batchedStdio(1);
  if (destination === 'stderr') return batchedStdio(2);
  return streamSink(destination);
}

/**
 * winston runs every record through its logger-level format, json() unless told otherwise, which
 * would stringify each record once more for nobody: each transport formats for itself (the OTLP
 * transport reads fields, not a string). The identity is the cheapest format winston accepts.
 */
const noLoggerFormat = winston.format((info) => info)();

function build(options: LoggingOptions, keepOtlp: boolean): State {
  const level = options.level ?? 'info';
  const consoleLevel = options.consoleLevel ?? level;
  const sink = consoleSink(options.console ?? 'stdout');
  const console = sink ? new JsonLinesTransport({ level: consoleLevel }, sink) : undefined;
  const otlp = keepOtlp ? new OtlpLogTransport({ level }) : undefined;
  const transports: Transport[] = [console, otlp].filter((t) => t !== undefined);
  const root = winston.createLogger({
    levels: SEVERITY,
    level: moreVerbose(level, consoleLevel),
    format: noLoggerFormat,
    transports,
    // With no console and no OTLP, winston would warn on every record about having no transports.
    silent: transports.length === 0,
    exitOnError: false,
  });
  return { root, consoleSink: sink, otlp, level, consoleLevel, options };
}

function current(): State {
  state ??= build({}, false);
  return state;
}

/**
 * Writes out the console lines of every record made so far. A record reaches the console a few
 * event-loop turns after the call (deferred.ts, winston's stream) and its batch up to 20 ms later,
 * so a CLI command's own last lines (a failed migration's summary, the error line) came before the
 * warnings that led to them; the CLI calls this before writing them.
 */
export async function consoleCaughtUp(): Promise<void> {
  drainDeferred();
  await new Promise<void>((resolve) => setImmediate(resolve));
  drainDeferred();
  await writeBatchedLinesNow();
}

/** Reconfigures every logger (existing getLogger() handles included). Call once at process start. */
export function configureLogging(options: LoggingOptions): void {
  const keepOtlp = state?.otlp !== undefined;
  closeState();
  state = build(options, keepOtlp);
}

function closeState(): void {
  if (!state) return;
  // Records made under this configuration go out through it, before its transports are detached.
  drainDeferred();
  // Transports are not closed: the stream ones wrap process.stdout/stderr, which must stay open.
  state.root.clear();
  state = undefined;
}

/**
 * Internal: telemetry.ts attaches the OTLP transport after the global LoggerProvider is registered
 * (the transport resolves its OTel logger at construction) and detaches it at shutdown.
 */
export function setOtlpLogging(enabled: boolean): void {
  const options = state?.options ?? {};
  closeState();
  state = build(options, enabled);
}

/** The winston info object for one record: level, message, component, trace ids, redacted fields. */
function record(
  level: LogLevel,
  message: string,
  component: string,
  base: LogFields,
  fields: LogFields | undefined,
): winston.LogEntry {
  const out: winston.LogEntry & { [EMIT_CONTEXT]?: unknown; [MADE_AT]?: number } = {
    level,
    message,
    component,
  };
  out[MADE_AT] = Date.now();
  const active = context.active();
  const span = trace.getSpan(active);
  const spanContext = span?.spanContext();
  if (spanContext && isSpanContextValid(spanContext)) {
    out.trace_id = spanContext.traceId;
    out.span_id = spanContext.spanId;
  }
  for (const source of [scopedLogFields(), base, fields]) {
    if (!source) continue;
    for (const key of Object.keys(source)) {
      if (key === 'level' || key === 'message') continue;
      const value = redactValue(key, source[key]);
      if (value !== undefined) out[key] = value;
    }
  }
  // Winston may hand records to transports asynchronously; pin the context the call was made in.
  out[EMIT_CONTEXT] = active;
  return out;
}

class ComponentLogger implements Logger {
  private readonly component: string;
  private readonly base: LogFields;

  constructor(component: string, base: LogFields) {
    this.component = component;
    this.base = base;
  }

  private write(level: LogLevel, message: string, fields: LogFields | undefined, error?: unknown): void {
    try {
      const { root } = current();
      if (!root.isLevelEnabled(level)) return;
      const info = record(level, message, this.component, this.base, fields);
      if (error !== undefined) {
        const e = serializeError(error);
        info.error = {
          name: e.type,
          message: e.message,
          ...(e.code ? { code: e.code } : {}),
          stack: e.stack,
        };
      }
      // Everything the record needs (fields, trace ids, context, time) is in `info` already; winston
      // and its transports run off the caller's path. One-argument log() is winston's hot path.
      defer(() => root.log(info));
    } catch {
      // Logging must never break the operation that logs.
    }
  }

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }
  info(message: string, fields?: LogFields, error?: unknown): void {
    this.write('info', message, fields, error);
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

export function getLogger(component: string): Logger {
  return new ComponentLogger(component, {});
}

onConsoleLoss(consoleLossReporter(getLogger('telemetry'), () => state?.otlp !== undefined));

/**
 * Internal: a warning about telemetry itself. Goes to the console only, never over OTLP: when the
 * collector is down the warning must still be seen, and it must not feed the failing pipeline.
 */
export function warnConsoleOnly(message: string, fields: LogFields): void {
  try {
    const { consoleSink, consoleLevel } = current();
    if (!consoleSink || SEVERITY[consoleLevel] < SEVERITY.warn) return;
    // Redacted like every other line: an endpoint or a refused value may hold user:password@.
    const safe = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, redactValue(k, v)]));
    consoleSink.writeLine(formatLine({ level: 'warn', message, component: 'telemetry', ...safe }));
  } catch {
    // see ComponentLogger.write
  }
}
