import { type AnyValue, type Context, type Logger, logs, SeverityNumber } from '@opentelemetry/api';
import TransportStream from 'winston-transport';
import { SCOPE_NAME } from './scope.ts';

/** The context a record was made in; winston hands records to transports later (deferred.ts). */
export const EMIT_CONTEXT = Symbol('sdops.log.context');

type Info = Record<string | symbol, unknown>;

/** Instrumentation scope of every log record; the tracer and the meter use the same name. */

const SEVERITY: Readonly<Record<string, SeverityNumber>> = {
  error: SeverityNumber.ERROR,
  warn: SeverityNumber.WARN,
  info: SeverityNumber.INFO,
  debug: SeverityNumber.DEBUG,
};

/** Carried by the record itself (trace context) or its body: not repeated as attributes. */
const NOT_ATTRIBUTES = new Set(['level', 'message', 'trace_id', 'span_id', 'error']);

/**
 * Winston -> OTLP: each record becomes one OTel log record on the global LoggerProvider that
 * startTelemetry registers. Body = message, severity from level, the other fields as attributes,
 * the logged error as the record's exception (sdk-logs sets exception.type/message/stacktrace),
 * and the trace context of the call that made the record. Records hold only scalars and the
 * serialised error (logger.ts guarantees it), so no normalisation pass is needed.
 *
 * Our own bridge instead of @opentelemetry/winston-transport: that package still emits through the
 * 2.x-line @opentelemetry/api-logs global, which the 3.x SDK (logs in @opentelemetry/api 1.10)
 * never registers, so its records went nowhere.
 */
export class OtlpLogTransport extends TransportStream {
  private readonly logger: Logger;

  constructor(options: { readonly level: string }) {
    super(options);
    this.logger = logs.getLogger(SCOPE_NAME);
  }

  override log(info: Info, callback: () => void): void {
    try {
      const attributes: Record<string, AnyValue> = {};
      for (const key of Object.keys(info)) {
        const value = info[key];
        // A field without a value (route: null, no route matched) is left out, not sent as an
        // empty OTLP value that Loki shows as a field with nothing in it.
        if (!NOT_ATTRIBUTES.has(key) && value !== null && value !== undefined)
          attributes[key] = value as AnyValue;
      }
      const level = String(info.level);
      this.logger.emit({
        severityNumber: SEVERITY[level] ?? SeverityNumber.UNSPECIFIED,
        severityText: level,
        body: String(info.message),
        attributes,
        ...(info.error !== undefined ? { exception: info.error } : {}),
        ...(info[EMIT_CONTEXT] !== undefined ? { context: info[EMIT_CONTEXT] as Context } : {}),
      });
    } catch {
      // Telemetry must never break the operation that logs.
    }
    callback();
  }
}
