import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that a test can break for one process only, while others reach
 * the database directly:
 *   cut()     closes every connection and refuses new ones (a crashed server, a reset network);
 *   freeze()  keeps every connection open but carries nothing either way, and new connections are
 *             accepted and never answered (a SIGSTOPped server, a partition that drops packets);
 *   restore() carries traffic again, including what was held back during a freeze.
 */
export interface BreakableProxy {
  readonly url: string;
  cut(): void;
  freeze(): void;
  restore(): void;
  close(): void;
}

interface Link {
  readonly from: Socket;
  readonly to: Socket;
  readonly held: Buffer[];
}

export async function breakableProxy(url: string): Promise<BreakableProxy> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  const links: Link[] = [];
  let state: 'open' | 'cut' | 'frozen' = 'open';

  const carry = (from: Socket, to: Socket): void => {
    const link: Link = { from, to, held: [] };
    links.push(link);
    from.on('data', (chunk: Buffer) => {
      if (state === 'frozen') link.held.push(chunk);
      else to.write(chunk);
    });
    from.on('close', () => to.destroy());
  };

  const server: Server = createServer((client) => {
    if (state === 'cut') {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    carry(client, upstream);
    carry(upstream, client);
    upstream.connect(Number(target.port), target.hostname);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxied = new URL(url);
  proxied.port = String((server.address() as { port: number }).port);
  return {
    url: proxied.toString(),
    cut() {
      state = 'cut';
      for (const s of sockets) s.destroy();
    },
    freeze() {
      state = 'frozen';
    },
    restore() {
      state = 'open';
      for (const link of links.splice(0)) {
        for (const chunk of link.held.splice(0)) if (!link.to.destroyed) link.to.write(chunk);
        if (!link.from.destroyed) links.push(link);
      }
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
