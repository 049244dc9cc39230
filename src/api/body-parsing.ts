import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { keyProblem, quoted } from '../validation/index.ts';
import { ApiError } from './errors.ts';
import { lastAnswerOnSocket } from './socket-answers.ts';

/**
 * How the API reads request bodies: JSON only, as UTF-8, uncompressed, with an empty body taken as
 * none and a key given twice refused.
 */

/** Charsets a UTF-8 body may be declared in: US-ASCII text is UTF-8 as it stands. */
const UTF8_CHARSETS: ReadonlySet<string> = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);

/** The charset parameter of a Content-Type header, lower-cased; undefined when none is given. */
function declaredCharset(header: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(header ?? '');
  return match?.[1]?.toLowerCase();
}

/** Registers the body parsing on `app`, before its routes. */
export function readJsonBodies(app: FastifyInstance): void {
  // Only JSON bodies: text/plain would reach the schema as a string and blur "wrong media type".
  app.removeContentTypeParser('text/plain');
  // An empty JSON body is no body (many clients send the header anyway): a route whose body may be
  // left out takes it, one that needs a body refuses it as missing. Anything else: fastify's parser.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // JSON is UTF-8 (RFC 8259); the body is read as such whatever the header says, so a body declared
    // in another charset is refused as sent, not parsed into other characters than the client meant.
    const charset = declaredCharset(request.headers['content-type']);
    if (charset !== undefined && !UTF8_CHARSETS.has(charset)) {
      done(
        new ApiError('unsupported_media_type', `send the body as UTF-8 JSON, not charset=${charset}`),
        undefined,
      );
      return;
    }
    if (body === '') {
      done(null, undefined);
      return;
    }
    json(request, body as string, (error, value) => {
      const problem = keyProblem(body as string, !error);
      if (problem) done(new ApiError('invalid_body', problem), undefined);
      else if (error) done(error, undefined);
      else done(null, value);
    });
  });
  app.addHook('preParsing', (request, _reply, payload, done) => {
    // The body parser does not decompress: a gzip body would be read as JSON text, or fail as one.
    // A route that takes no body (every GET) ignores one, however it is encoded.
    const encoding = request.headers['content-encoding'];
    const readsBody = request.routeOptions.schema?.body !== undefined;
    if (readsBody && encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      done(new ApiError('unsupported_media_type', 'send the body uncompressed (no Content-Encoding)'));
      return;
    }
    // Node's parser undoes `chunked` and passes any other transfer coding's bytes on as they are: a
    // gzip one failed as JSON, and a mislabelled plain one ran.
    const coding = otherTransferCoding(request.headers['transfer-encoding']);
    if (readsBody && coding !== undefined) {
      done(
        new ApiError(
          'unsupported_media_type',
          `send the body with no transfer coding but chunked, not ${quoted(coding)}`,
        ),
      );
      return;
    }
    done(null, payload);
  });
}

/**
 * A request whose Transfer-Encoding does not end in chunked has no length a server can trust (RFC 9112
 * 6.3: answer 400 and close the connection). Node's parser handed such a request to the routes and
 * only then failed on its body: the client got the route's answer and then the parser's, and a
 * delete could run. The refusal is the connection's last answer.
 */
export function refuseUnframedBody(request: FastifyRequest, reply: FastifyReply): ApiError | undefined {
  const header = request.headers['transfer-encoding'];
  if (header === undefined || transferCodings(header).at(-1) === 'chunked') return undefined;
  lastAnswerOnSocket(request.raw.socket);
  reply.header('connection', 'close');
  return new ApiError(
    'malformed_request',
    `a request body's Transfer-Encoding must end in chunked, not ${quoted(header)}`,
  );
}

/** The transfer codings a Transfer-Encoding header lists, in order, lower-cased. */
function transferCodings(header: string): string[] {
  return header
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '');
}

/** The first transfer coding of a Transfer-Encoding header other than chunked (or identity). */
function otherTransferCoding(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return transferCodings(header).find((c) => c !== 'chunked' && c !== 'identity');
}
