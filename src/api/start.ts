import type { FastifyInstance } from 'fastify';
import { assertSafeBinding } from './auth.ts';
import { type ApiServerOptions, buildServer } from './server.ts';

export interface ListenOptions {
  readonly host: string;
  /** 0 picks a free port (tests, benchmarks). */
  readonly port: number;
}

export interface RunningApi {
  readonly app: FastifyInstance;
  /** http://host:port as bound (the real port when 0 was asked for). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Builds and binds the server. Refuses (ConfigError) to listen beyond loopback without tokens,
 * before anything is bound.
 */
export async function startApiServer(options: ApiServerOptions & ListenOptions): Promise<RunningApi> {
  assertSafeBinding(options.host, options.tokens);
  const app = await buildServer(options);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return { app, url: `http://${host}:${port}`, close: () => closeWithin(app, CLOSE_GRACE_MS) };
}

/**
 * How long a stop waits for requests in flight. A request still arriving is in flight too, and
 * fastify's close waits for it however long its client takes (seen: 200 s for a client that sent
 * half its headers, with no 408, since the timeouts stop applying once the server closes).
 */
const CLOSE_GRACE_MS = 10_000;

/** Closes the server; connections still open after `graceMs` are destroyed. */
async function closeWithin(app: FastifyInstance, graceMs: number): Promise<void> {
  const timer = setTimeout(() => app.server.closeAllConnections(), graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
}
