import { type IncomingMessage, STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError } from 'fastify';
import { type ErrorCode, type ErrorKind, httpStatusFor, SdopsError } from '../errors.ts';
import { refusedByDatabase } from '../db/index.ts';
import {
  CURSOR_PATTERN,
  ID_PATTERN,
  idRule,
  NOT_BLANK_PATTERN,
  PLAIN_TEXT_RULE,
} from '../validation/index.ts';
import { answeredOnSocket, isLastAnswerGiven } from './socket-answers.ts';
import { TEXT_FORMAT } from './validation.ts';

/**
 * The one error shape of the API: `{ "error": { "code", "message" } }`. Codes are stable and
 * documented in the OpenAPI document; clients branch on them, never on messages.
 */
interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string };
}

/**
 * An error raised by the API layer itself (auth, routing, readiness, the edge's own checks). Its
 * status follows from its code and kind like every other error's (httpStatusFor); a `cause` on a 5xx
 * is logged and recorded on the span, never sent to the caller.
 */
export class ApiError extends SdopsError {
  readonly status: number;

  constructor(
    code: ErrorCode,
    message: string,
    kind: ErrorKind = 'invalid_input',
    options?: { cause?: unknown },
  ) {
    super(code, message, kind, options);
    this.status = httpStatusFor(this);
  }
}

export function unauthorized(message: string): ApiError {
  return new ApiError('unauthorized', message);
}

export function forbidden(message: string): ApiError {
  return new ApiError('forbidden', message);
}

export interface MappedError {
  readonly status: number;
  readonly body: ErrorBody;
  /** Set for 5xx: the error to record on the span and in the log (never sent to the caller). */
  readonly internal?: unknown;
}

function body(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/** A refusal of bad input by its code, with the status the code maps to. */
function refusal(code: ErrorCode, message: string): MappedError {
  return { status: httpStatusFor({ code, kind: 'invalid_input' }), body: body(code, message) };
}

/**
 * A field the schema refused that has a code of its own (the one the core and the CLI give the same
 * mistake), by where it is and its path: clients branch on one code whichever check saw it first.
 * Only for a malformed value: a value of the wrong JSON type stays invalid_body.
 */
const FIELD_CODES: Readonly<Record<string, ErrorCode>> = {
  'params/entity': 'unknown_entity',
  'params/id': 'invalid_id',
  'body/ids/*': 'invalid_id',
  'params/name': 'unknown_migration',
  'params/runId': 'invalid_run_id',
  'body/jobId': 'invalid_job_id',
  'params/jobId': 'invalid_job_id',
  'body/batchSize': 'invalid_batch_size',
  'body/params/olderThanDays': 'invalid_older_than_days',
  'body/params/entities': 'invalid_migration_param',
  'body/params/entities/*': 'invalid_migration_param',
  'querystring/limit': 'invalid_limit',
  'querystring/scope': 'invalid_scope',
  'querystring/after': 'invalid_id',
  'headers/idempotency-key': 'invalid_idempotency_key',
};

/** The code of a refused field: its own (FIELD_CODES), else the part of the request it is in. */
function validationCode(error: FastifyError): ErrorCode {
  const where = error.validationContext ?? 'body';
  const first = error.validation?.[0];
  // A value of the wrong JSON type is an ill-typed body, whatever the field.
  // An item of a list is one field whatever its index: body/ids/7 is body/ids/*.
  const path = (first?.instancePath ?? '').replace(/\/\d+(?=\/|$)/g, '/*');
  // The core refuses any filter value of a column's wrong kind as invalid_filter (1.5 for an id column).
  if (where === 'body' && outOfRangeFilterValue(first)) return 'invalid_filter';
  // 1.5 for an integer is the right JSON type with a malformed value, as "abc" for an id is.
  const refused = (first as { data?: unknown } | undefined)?.data;
  const wrongType =
    first?.keyword === 'type' && !(first.params?.type === 'integer' && typeof refused === 'number');
  const field = wrongType ? undefined : FIELD_CODES[`${where}${path}`];
  if (field) return field;
  if (where === 'params') return 'invalid_params';
  if (where === 'querystring') return 'invalid_query';
  return 'invalid_body';
}

/** One error of a refused request's validation (fastify's list of ajv errors). */
type ValidationIssue = NonNullable<FastifyError['validation']>[number] | undefined;

/**
 * A filter value such as 1e400, which JSON.parse reads as Infinity: ajv's `number` refuses it as a
 * type, but it is a number, malformed, as 1.5 is for an id column.
 */
function outOfRangeFilterValue(first: ValidationIssue): boolean {
  const refused = (first as { data?: unknown } | undefined)?.data;
  return (
    typeof refused === 'number' &&
    !Number.isFinite(refused) &&
    /^\/filter\/[^/]+$/.test(first?.instancePath ?? '')
  );
}

function fastifyMessage(error: FastifyError): string {
  // Validation messages name the field ("body/ids must NOT have more than 1000 items"); they never
  // echo the value, so they are safe to return.
  const first = error.validation?.[0];
  if (outOfRangeFilterValue(first)) {
    return `${error.validationContext ?? 'body'}${first?.instancePath}: a number past JSON's range (it reads as ${String((first as { data?: unknown }).data)})`;
  }
  if (first?.keyword === 'format' && first.params?.format === TEXT_FORMAT) {
    return `${error.validationContext ?? 'body'}${first.instancePath} must be text ${PLAIN_TEXT_RULE}`;
  }
  if (first?.keyword === 'pattern' && first.params?.pattern === NOT_BLANK_PATTERN) {
    return `${error.validationContext ?? 'body'}${first.instancePath} must not be empty or blank`;
  }
  // The id pattern spells out the bigint range digit by digit: its text says nothing to a reader.
  if (first?.keyword === 'pattern' && [ID_PATTERN, CURSOR_PATTERN].includes(String(first.params?.pattern))) {
    return `${error.validationContext ?? 'body'}${first.instancePath}: ${idRule((first as { data?: unknown }).data)}`;
  }
  // ajv's "must be equal to one of the allowed values" leaves out which ones (a migration name, a state).
  const allowed = first?.keyword === 'enum' ? first.params?.allowedValues : undefined;
  if (Array.isArray(allowed)) {
    const listed = allowed.map((v) => JSON.stringify(v)).join(', ');
    return `${error.validationContext ?? 'body'}${first?.instancePath ?? ''} must be one of ${listed.length > 300 ? `${listed.slice(0, 300)}...` : listed}`;
  }
  // ajv names the property it refused only in its params: "body must NOT have additional properties".
  const extra = first?.keyword === 'additionalProperties' ? first.params?.additionalProperty : undefined;
  const message = typeof extra === 'string' ? `${error.message} ("${extra.slice(0, 100)}")` : error.message;
  return message.length > 300 ? `${message.slice(0, 300)}...` : message;
}

const TOO_LARGE = 'request body is larger than the limit';
const NOT_JSON = 'send the body as application/json';

/**
 * Maps anything a handler or fastify itself throws to a status and the error body. Unknown errors
 * become a generic 500: their messages can carry SQL or internals and are not for callers.
 */
export function mapError(error: unknown): MappedError {
  if (error instanceof ApiError) {
    const mapped = { status: error.status, body: body(error.code, error.message) };
    return error.status >= 500 && error.cause !== undefined ? { ...mapped, internal: error.cause } : mapped;
  }
  if (error instanceof SdopsError) {
    const status = httpStatusFor(error);
    if (status >= 500) {
      return {
        status,
        body:
          error.kind === 'unavailable'
            ? body('unavailable', 'the service is temporarily unavailable; retry shortly')
            : body('internal_error', 'internal error'),
        internal: error,
      };
    }
    return { status, body: body(error.code, error.message) };
  }
  const refused = refusedByDatabase(error);
  if (refused) return { status: httpStatusFor(refused), body: body(refused.code, refused.message) };
  const fe = error as Partial<FastifyError> | null;
  if (fe && typeof fe === 'object') {
    if (fe.validation) {
      return refusal(validationCode(fe as FastifyError), fastifyMessage(fe as FastifyError));
    }
    switch (fe.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return refusal('payload_too_large', TOO_LARGE);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return refusal('unsupported_media_type', NOT_JSON);
      case 'FST_ERR_MAX_PARAM_LENGTH':
        return refusal('uri_too_long', 'a path parameter is too long');
      case 'FST_ERR_BAD_URL':
        return refusal('invalid_params', 'the URL is not valid');
      default:
        break;
    }
    const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
    if (status === 413) return refusal('payload_too_large', TOO_LARGE);
    if (status === 415) return refusal('unsupported_media_type', NOT_JSON);
    // Malformed JSON, empty JSON body, bad content-length: all are a bad body.
    if (status >= 400 && status < 500) return refusal('invalid_body', fastifyMessage(fe as FastifyError));
  }
  return { status: 500, body: body('internal_error', 'internal error'), internal: error };
}

/**
 * What Node's HTTP parser refuses before fastify sees a request (a header block over its limit, a
 * broken request line or framing, a timeout) gets the one error shape too, written straight to the
 * socket as fastify's default handler does; then the connection is closed.
 */
export function writeClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed || isLastAnswerGiven(socket)) return;
  const { status, body: answer } =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? refusal('headers_too_large', 'the request line or headers are too large')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? refusal('request_timeout', 'the request did not arrive in time')
        : refusal('malformed_request', 'the request is not valid HTTP');
  const json = JSON.stringify(answer);
  if (socket.writable) {
    answeredOnSocket(socket, { status, code: answer.error.code });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(json)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${json}`,
    );
  }
  socket.destroy(error);
}

/**
 * Node answers a request whose Expect header is anything but 100-continue with a bare 417 and no
 * body, unless the server listens for `checkExpectation`: this listener gives it the one error shape.
 * Like the parser's refusals, the request reaches no route (no token check, no span, no access line);
 * Node drains its body and keeps the connection.
 */
export function answerExpectation(_request: IncomingMessage, response: ServerResponse): void {
  const { status, body: answer } = refusal(
    'expectation_failed',
    'the only expectation the server meets is 100-continue: leave out Expect',
  );
  const json = JSON.stringify(answer);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  response.end(json);
}
