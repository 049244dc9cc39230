import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { expect } from 'chai';
import { closedPort, runFixture } from './child-process.ts';
import { measured } from '../../support/measured.ts';

/** From the start of telemetry shutdown to the exit of a CLI-shaped child process. */
async function exitWait(
  endpoint: string,
  env: Record<string, string> = {},
): Promise<{ ms: number; stderr: string }> {
  const child = await runFixture('cli-exit.ts', { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...env });
  const closed = Date.now();
  expect(child.code, child.stderr).to.equal(0);
  const started = Number(child.stdout.trim().split('\n').at(-1));
  expect(Number.isFinite(started), child.stdout).to.equal(true);
  return { ms: closed - started, stderr: child.stderr };
}

/** A collector that answers every OTLP request with 200 after `delayMs`, noting the paths it answered. */
function slowCollector(delayMs: number): Promise<{ server: HttpServer; port: number; answered: string[] }> {
  const answered: string[] = [];
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        answered.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      }, delayMs);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, answered, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

/** A collector that accepts connections and never answers. */
function hangingServer(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, sockets, port: typeof address === 'object' && address ? address.port : 0 });
    });
  });
}

describe('a CLI process whose first export fails', () => {
  it('exits within the 250 ms cap (plus process exit) after its first connection is refused, not after the exporters retry', async function () {
    this.timeout(60_000);
    const port = await closedPort();
    const { ms, stderr } = await exitWait(`http://127.0.0.1:${port}`);
    // The exporters alone retry a refused connection for their whole 3 s timeout before giving up.
    expect(ms, stderr).to.be.below(1500);
    expect(stderr).to.match(/telemetry export failed/);
    measured(`exit ${ms} ms after shutdown began (collector refusing connections)`);
  });

  it('exits within the export timeout plus the cap when the collector accepts but never answers', async function () {
    this.timeout(60_000);
    const { server, sockets, port } = await hangingServer();
    try {
      const { ms, stderr } = await exitWait(`http://127.0.0.1:${port}`);
      // One export waits its 3 s timeout (OTEL_EXPORTER_OTLP_TIMEOUT default); then the cap applies.
      expect(ms, stderr).to.be.below(3000 + 250 + 1500);
      measured(`exit ${ms} ms after shutdown began (collector hanging)`);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });

  it("gives every export, metrics included, the OTEL_EXPORTER_OTLP_TIMEOUT it sets, so a slow collector that answers gets the command's data", async function () {
    this.timeout(60_000);
    const { server, port, answered } = await slowCollector(4000);
    try {
      const { ms, stderr } = await exitWait(`http://127.0.0.1:${port}`, {
        OTEL_EXPORTER_OTLP_TIMEOUT: '8000',
      });
      expect(stderr, 'no export timed out').not.to.match(/telemetry export failed/);
      expect(answered.sort(), 'each signal answered').to.deep.equal([
        '/v1/logs',
        '/v1/metrics',
        '/v1/traces',
      ]);
      expect(ms, stderr).to.be.below(8000 + 1500);
      measured(`exit ${ms} ms after shutdown began (collector answering after 4 s, timeout 8 s)`);
    } finally {
      server.close();
    }
  });

  it('waits an OTEL_EXPORTER_OTLP_TIMEOUT longer than its 5 s stop bound, and warns when a slow collector still does not answer', async function () {
    this.timeout(60_000);
    const { server, port } = await slowCollector(9000);
    try {
      const { ms, stderr } = await exitWait(`http://127.0.0.1:${port}`, {
        OTEL_EXPORTER_OTLP_TIMEOUT: '6000',
      });
      // Before: cut off at 5 s, the exports dropped without a word.
      expect(stderr, 'the export timed out, and said so').to.match(/telemetry export failed/);
      expect(ms, stderr).to.be.within(6000, 6000 + 1500 + 1000);
      measured(`exit ${ms} ms after shutdown began (collector answering after 9 s, timeout 6 s)`);
    } finally {
      server.close();
    }
  });
});
