import { connect } from 'node:net';
import { expect } from 'chai';
import { waitUntil } from '../../support/wait.ts';
import { AS_ADMIN, offlineApi } from './offline.ts';

describe('API while it shuts down', () => {
  it("answers a request that arrives on a kept-alive connection with 503 unavailable, Retry-After, in the API's shape", async () => {
    const api = await offlineApi();
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = api.app.server.address() as { port: number };
    let headersRead = false;
    api.app.server.once('request', () => {
      headersRead = true;
    });
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString('utf8');
    });
    let closed: Promise<void> | undefined;
    try {
      // A request in flight (its body not sent yet) keeps the connection from being closed as idle.
      socket.write(
        'POST /v1/documents/bulk-delete HTTP/1.1\r\nHost: x\r\n' +
          `Authorization: ${AS_ADMIN.authorization}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n`,
      );
      await waitUntil('the server to read the first request', () => headersRead);
      closed = api.close();
      socket.write('{}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitUntil('both answers', () => answer.split('HTTP/1.1 ').length === 3 && answer.endsWith('}'));
      const second = `HTTP/1.1 ${answer.split('HTTP/1.1 ')[2]}`;
      const [head, body] = second.split('\r\n\r\n');
      // fastify's own answer: {"error":"Service Unavailable",...,"statusCode":503}, no Retry-After.
      expect(head).to.match(/^HTTP\/1\.1 503 /);
      expect(head).to.match(/^retry-after: \d+$/im);
      expect(head).to.match(/^connection: close$/im);
      expect(JSON.parse(body ?? '')).to.have.nested.property('error.code', 'unavailable');
    } finally {
      socket.destroy();
      await (closed ?? api.close());
    }
  });
});
