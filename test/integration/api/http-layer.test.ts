import { connect } from 'node:net';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../../src/api/server.ts';
import { type Database, openDatabase } from '../../../src/db/index.ts';
import { AS_ADMIN, AS_READ, TOKENS } from './support.ts';

/** Sends raw bytes and resolves with everything the server wrote back before closing. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString('utf8');
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

/**
 * Requests Node's HTTP parser refuses never reach a route: they still get the one error shape
 * (fastify's default answered `{"error":"Bad Request","message":"Client Error","statusCode":400}`).
 */
describe('HTTP API below the routes: what the HTTP parser refuses', () => {
  let db: Database;
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    db = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/gone', poolSize: 1 });
    app = await buildServer({ db, tokens: TOKENS });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  after(async () => {
    await app?.close();
    await db?.close();
  });

  for (const [what, request, status, code] of [
    [
      'a header block over the limit',
      `GET /v1/customers/${'1'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      431,
      'headers_too_large',
    ],
    ['a broken request line', 'NOT HTTP AT ALL\r\n\r\n', 400, 'malformed_request'],
    [
      // Node kept the first: admin-then-read passed, read-then-admin was refused (403).
      'two Authorization headers',
      `GET /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: ${AS_ADMIN.authorization}\r\nAuthorization: ${AS_READ.authorization}\r\nConnection: close\r\n\r\n`,
      400,
      'malformed_request',
    ],
    [
      // Node undoes chunked only: this plain body ran (200), and a really gzipped one failed as JSON (400).
      'a body in a transfer coding other than chunked',
      `POST /v1/documents/bulk-delete HTTP/1.1\r\nHost: x\r\nAuthorization: ${AS_ADMIN.authorization}\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\nd\r\n{"ids":["1"]}\r\n0\r\n\r\n`,
      415,
      'unsupported_media_type',
    ],
    [
      'a non-numeric Content-Length',
      'POST /v1/documents/bulk-delete HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}',
      400,
      'malformed_request',
    ],
  ] as const) {
    it(`answers ${what} with ${status} ${code} in the API's error shape`, async () => {
      const answer = await raw(port, request);
      const [head, body] = answer.split('\r\n\r\n');
      expect(head).to.match(new RegExp(`^HTTP/1.1 ${status} `));
      expect(head).to.match(/content-type: application\/json/i);
      const parsed = JSON.parse(body ?? '') as { error: { code: string; message: string } };
      expect(Object.keys(parsed)).to.deep.equal(['error']);
      expect(parsed.error.code).to.equal(code);
      expect(parsed.error.message).to.be.a('string').and.not.equal('');
    });
  }

  // RFC 9112 6.3: no trustworthy length, so 400 and close. The route answered (here 415, or 503 from
  // the unreachable database) and then Node's parser wrote a second answer, 400, on the same connection.
  for (const coding of ['gzip', 'identity']) {
    it(`answers a body whose Transfer-Encoding ends in ${coding}, not chunked, once (400 malformed_request) and closes`, async () => {
      const answer = await raw(
        port,
        `POST /v1/documents/bulk-delete HTTP/1.1\r\nHost: x\r\nAuthorization: ${AS_ADMIN.authorization}\r\nContent-Type: application/json\r\nTransfer-Encoding: ${coding}\r\n\r\n{"ids":["1"]}`,
      );
      expect(answer.match(/HTTP\/1.1 /g), answer).to.have.length(1);
      const [head, body] = answer.split('\r\n\r\n');
      expect(head).to.match(/^HTTP\/1.1 400 /);
      expect(head).to.match(/^connection: close$/im);
      expect(JSON.parse(body ?? '')).to.deep.equal({
        error: {
          code: 'malformed_request',
          message: `a request body's Transfer-Encoding must end in chunked, not "${coding}"`,
        },
      });
    });
  }

  // A fragment never belongs to the request; one sent anyway was read as the query, or into a value.
  for (const target of ['/v1/customers#limit=0', '/v1/customers?scope=all#limit=0']) {
    it(`ignores the fragment of ${target}, as a client would have`, async () => {
      const answer = await raw(
        port,
        `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: ${AS_READ.authorization}\r\nConnection: close\r\n\r\n`,
      );
      // The query is valid once the fragment is gone: the answer is the unreachable database's.
      expect(answer).to.match(/^HTTP\/1.1 503 /);
    });
  }

  // HTTP/1.0 clients, `nc -N` and many scripts close their sending side once the request is out.
  // Node aborted such a request at once and sent nothing, while its handler went on (a DELETE landed
  // with no answer): here the database is unreachable, an answer that takes a moment.
  it('answers a request whose client closed its sending side after it, once the answer is ready', async () => {
    const answer = await raw(
      port,
      `GET /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: ${AS_READ.authorization}\r\n\r\n`,
    );
    expect(answer).to.match(/^HTTP\/1.1 503 /);
    expect(answer).to.include('"code":"unavailable"');
  });
});
