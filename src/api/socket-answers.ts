import type { Duplex } from 'node:stream';

/**
 * Answers written straight to a connection's socket, below the routes (errors.ts: writeClientError).
 * Node's request timeout fires on a request whose body stalls after its route was found: the client
 * gets 408 request_timeout from there, while the route only sees its body end early. Its access line,
 * span and metric point read the answer here, so they say the 408 the client got, not a request
 * aborted with the route's invalid_body.
 */
export interface SocketAnswer {
  readonly status: number;
  readonly code: string;
}

const answers = new WeakMap<Duplex, SocketAnswer>();

export function answeredOnSocket(socket: Duplex, answer: SocketAnswer): void {
  answers.set(socket, answer);
}

/** The answer written straight to this socket, if any. */
export function socketAnswerOf(socket: Duplex | null | undefined): SocketAnswer | undefined {
  return socket ? answers.get(socket) : undefined;
}

/** Sockets whose request was refused for its framing: the route's answer is the last on them. */
const answeredLast = new WeakSet<Duplex>();

/** Marks the socket's current answer as its last (the parser's later refusal of its body writes nothing). */
export function lastAnswerOnSocket(socket: Duplex): void {
  answeredLast.add(socket);
}

/** Whether the socket's last answer is written or on its way (writeClientError then writes none). */
export function isLastAnswerGiven(socket: Duplex): boolean {
  return answeredLast.has(socket);
}
