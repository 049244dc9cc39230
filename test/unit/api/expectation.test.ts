import { connect } from 'node:net';
import { expect } from 'chai';
import { ERROR_CODES } from '../../../src/errors.ts';
import { AS_ADMIN, type OfflineApi, offlineApi } from './offline.ts';

/**
 * Sends raw bytes and resolves with what the server wrote back until `until` matched, the server
 * closed, or it went quiet for a second.
 */
function raw(port: number, request: string, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    socket.setTimeout(1000, () => socket.end());
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString('utf8');
      if (until.test(answer)) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

describe('API Expect header', () => {
  let api: OfflineApi;
  let port: number;

  before(async () => {
    api = await offlineApi();
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    port = (api.app.server.address() as { port: number }).port;
  });
  after(async () => {
    await api?.close();
  });

  it("answers an expectation other than 100-continue with 417 expectation_failed in the API's error shape", async () => {
    const answer = await raw(
      port,
      'POST /v1/documents/bulk-delete HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n' +
        'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
      /\}\}$/,
    );
    const [head, body] = answer.split('\r\n\r\n');
    // Node alone wrote a bare "417 Expectation Failed" without a body.
    expect(head).to.match(/^HTTP\/1\.1 417 /);
    expect(head).to.match(/content-type: application\/json/i);
    const parsed = JSON.parse(body ?? '') as { error: { code: string; message: string } };
    expect(Object.keys(parsed)).to.deep.equal(['error']);
    expect(parsed.error.code).to.equal('expectation_failed');
    expect(parsed.error.message).to.match(/100-continue/);
    expect(ERROR_CODES).to.include('expectation_failed');
  });

  it('keeps the connection open after the 417 and still serves Expect: 100-continue', async () => {
    const answer = await raw(
      port,
      'GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: nonsense\r\n\r\n' +
        'GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n',
      /"status":"ok"\}$/,
    );
    expect(answer).to.match(/^HTTP\/1\.1 417 /);
    expect(answer).to.match(/HTTP\/1\.1 200 OK[\s\S]*\{"status":"ok"\}$/);
  });

  it('answers 413 payload_too_large instead of 100 Continue when the announced body is over the limit', async () => {
    // The client waits for 100 before sending; a 100 would have it upload 1 GB only to be refused.
    const answer = await raw(
      port,
      'POST /v1/documents/bulk-delete HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n' +
        `Authorization: ${AS_ADMIN.authorization}\r\nContent-Type: application/json\r\n` +
        'Content-Length: 1073741824\r\n\r\n',
      /\}\}$/,
    );
    expect(answer).to.not.match(/100 Continue/);
    expect(answer).to.match(/^HTTP\/1\.1 413 /);
    expect(answer).to.match(/"code":"payload_too_large"/);
  });

  it('still answers 100 Continue to a body within the limit, then serves the request', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write(
          'POST /v1/documents/bulk-delete HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n' +
            'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n',
        ),
      );
      socket.setTimeout(2000, () => socket.end());
      let text = '';
      let sent = false;
      socket.on('data', (d: Buffer) => {
        text += d.toString('utf8');
        if (!sent && text.includes('100 Continue')) {
          sent = true;
          socket.write('{}');
        }
        if (/\}\}$/.test(text)) socket.end();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(text));
    });
    expect(answer).to.match(/^HTTP\/1\.1 100 Continue/);
    // No token: the body was read and the request reached the routes' checks.
    expect(answer).to.match(/HTTP\/1\.1 401 /);
  });
});
