/**
 * Log redaction. Logs leave the process (OTLP -> Loki), so secrets and row contents must be removed
 * before a record reaches any transport, not by the collector.
 */

const REDACTED = '[REDACTED]';
const OMITTED = '[OMITTED]';

const SECRET_KEY =
  /password|passwd|^pass$|_pass$|secret|token|authorization|api[-_]?key|cookie|credential|private[-_]?key|database[-_]?url|connection[-_]?string|conn[-_]?str|^dsn$/i;

/** Keys that carry row data; a row may hold personal data, so only counts and ids are loggable. */
const ROW_KEY = /^(row|rows|record|records|before|after|payload|body|data|values)$/i;

/** user:password@ inside any URL-looking string (postgres://u:p@h/db, https://u:p@h). */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^:/@\s]+):([^@/\s]+)@/gi;
/** The same without a scheme (`u:p@collector:4318`, a URL given without one), as a whole word. */
const BARE_CREDENTIALS = /(^|[\s"'=(<,])([^:/@\s"'=(<,]+):([^@/\s"']+)@(?=[^\s@])/g;
const BEARER = /\b(bearer|basic)\s+[a-z0-9._~+/=-]+/gi;

const MAX_DEPTH = 4;

/** Both patterns need an '@' or whitespace; most logged strings (names, statuses) have neither. */
const MAY_HOLD_CREDENTIALS = /[@\s]/;

export function redactString(value: string): string {
  if (!MAY_HOLD_CREDENTIALS.test(value)) return value;
  return value
    .replace(URL_CREDENTIALS, `$1$2:${REDACTED}@`)
    .replace(BARE_CREDENTIALS, `$1$2:${REDACTED}@`)
    .replace(BEARER, `$1 ${REDACTED}`);
}

function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** Returns a copy safe to log; never mutates the input. */
export function redactValue(key: string, value: unknown, depth = 0): unknown {
  if (isSecretKey(key)) return REDACTED;
  if (ROW_KEY.test(key)) return OMITTED;
  if (value === null || value === undefined) return value;
  if (typeof value === 'string') return redactString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return serializeError(value);
  if (depth >= MAX_DEPTH) return OMITTED;
  if (Array.isArray(value)) return value.map((item) => redactValue('', item, depth + 1));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = redactValue(k, v, depth + 1);
    }
    return out;
  }
  return undefined;
}

export interface SerializedError {
  readonly type: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

/**
 * Error kinds (the `kind` of the product's errors, src/errors.ts) that are outcomes the product
 * expects: a row that does not exist, a conflict, bad input, a database that is down. Where such an
 * error was thrown says nothing an operator can use (a refused connection's stack is the driver's
 * socket code), so its stack is left out; unexpected errors keep theirs. Every kind but `internal`
 * (a test holds it to ERROR_KINDS: observability imports nothing of ours).
 */
export const EXPECTED_KINDS: ReadonlySet<unknown> = new Set([
  'invalid_input',
  'not_found',
  'conflict',
  'unavailable',
]);

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const { code, kind } = error as { code?: unknown; kind?: unknown };
    const stack = error.stack && !EXPECTED_KINDS.has(kind) ? error.stack : undefined;
    return {
      type: error.name,
      message: redactString(error.message),
      ...(typeof code === 'string' || typeof code === 'number' ? { code: String(code) } : {}),
      ...(stack ? { stack: redactString(stack) } : {}),
    };
  }
  return { type: typeof error, message: redactString(String(error)) };
}
