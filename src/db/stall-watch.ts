import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';

/**
 * Statements a frozen or partitioned server never answers. Such a server keeps its connections open,
 * so a statement sent on one waits until TCP gives up (about 15 minutes on Linux): an API request,
 * a cleanup job's batch or a migration batch would hang that long. A statement may just as well run
 * long (a cascade, a lock wait), so its age alone says nothing. Once one has waited STALL_AFTER_MS,
 * a fresh connection asks the server `SELECT 1`; only if that gets no answer within PROBE_TIMEOUT_MS
 * either are the pool's connections closed. Their statements then fail as in a server restart (503
 * `unavailable`, waited out by the worker and the migration runner), and the pool opens new
 * connections once the server answers again.
 */
export const STALL_AFTER_MS = 10_000;
const CHECK_EVERY_MS = 2_500;
const PROBE_TIMEOUT_MS = 5_000;

const STALLED_MESSAGE =
  `no answer from the database for ${STALL_AFTER_MS / 1000} s, ` +
  `nor to a new connection within ${PROBE_TIMEOUT_MS / 1000} s`;

/** A socket-level code, so that the driver's error is read as "database unavailable" (errors.ts). */
function stalledError(): Error {
  return Object.assign(new Error(STALLED_MESSAGE), { code: 'ETIMEDOUT' });
}

/** The driver's socket: closing it fails the connection's statement at once and its 'error' event. */
function closeConnection(client: pg.ClientBase): void {
  (
    client as unknown as { connection?: { stream?: { destroy(error: Error): void } } }
  ).connection?.stream?.destroy(stalledError());
}

/** True when the server answers at all: an error with a SQLSTATE (too many clients, starting up) is an answer. */
async function serverAnswers(settings: pg.ClientConfig): Promise<boolean> {
  const client = new pg.Client({
    ...settings,
    connectionTimeoutMillis: PROBE_TIMEOUT_MS,
    query_timeout: PROBE_TIMEOUT_MS,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
  } finally {
    // Not end(): it waits for the server to close the connection, which a frozen one never does.
    closeConnection(client);
  }
}

const holding = new AsyncLocalStorage<true>();

/**
 * Statements sent inside fn are never closed by the watch: they wait for the server however long
 * it is frozen. For a statement whose answer must not be lost: a job claim commits on the server
 * when it wakes up, and with its connection closed nobody received the jobs, which then sat
 * `active` for their whole lease and were charged a retry.
 */
export function holdThroughStall<T>(fn: () => Promise<T>): Promise<T> {
  return holding.run(true, fn);
}

export interface StallWatchEvents {
  /** The server did not answer: `closed` connections were closed, `waiting` of them had a statement out. */
  stalled(closed: number, waiting: number): void;
}

export class StallWatch {
  /** When each connection's statement in flight was sent. */
  readonly #sentAt = new Map<pg.ClientBase, number>();
  /** Connections whose statement in flight is held through a stall (holdThroughStall). */
  readonly #held = new Set<pg.ClientBase>();
  /** Every open connection, idle ones too: after a failed probe none of them is worth a try. */
  readonly #open = new Set<pg.ClientBase>();
  readonly #settings: pg.ClientConfig;
  readonly #events: StallWatchEvents;
  readonly #timer: NodeJS.Timeout;
  #probing = false;

  constructor(settings: pg.ClientConfig, events: StallWatchEvents) {
    this.#settings = settings;
    this.#events = events;
    this.#timer = setInterval(() => void this.#check(), CHECK_EVERY_MS).unref();
  }

  /** A connection to close if the server stops answering, until it ends. */
  adopt(client: pg.ClientBase): void {
    this.#open.add(client);
    // A listener for as long as it lives: the pool drops its own while the connection is checked
    // out, and a closed socket's 'error' event with no listener would end the process.
    client.on('error', () => undefined);
    client.once('end', () => {
      this.#open.delete(client);
      this.#sentAt.delete(client);
    });
  }

  /** `statement` as sent on `client`, watched until it settles. */
  async watch<T>(client: pg.ClientBase, statement: () => Promise<T>): Promise<T> {
    const held = holding.getStore() === true;
    if (held) this.#held.add(client);
    else this.#sentAt.set(client, performance.now());
    try {
      return await statement();
    } finally {
      if (held) this.#held.delete(client);
      else this.#sentAt.delete(client);
    }
  }

  /** Connections with a statement in flight right now (held ones included). */
  get waiting(): number {
    return this.#sentAt.size + this.#held.size;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Closes every open connection, held ones included: the process is closing the pool. */
  closeAll(): number {
    const open = [...this.#open];
    for (const client of open) closeConnection(client);
    return open.length;
  }

  async #check(): Promise<void> {
    if (this.#probing || !this.#anyStalled()) return;
    this.#probing = true;
    try {
      if (await serverAnswers(this.#settings)) return;
      const waiting = this.#sentAt.size;
      const open = [...this.#open].filter((client) => !this.#held.has(client));
      for (const client of open) closeConnection(client);
      this.#events.stalled(open.length, waiting);
    } finally {
      this.#probing = false;
    }
  }

  #anyStalled(): boolean {
    const now = performance.now();
    for (const sentAt of this.#sentAt.values()) if (now - sentAt >= STALL_AFTER_MS) return true;
    return false;
  }
}
