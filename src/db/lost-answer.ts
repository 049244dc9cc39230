/**
 * A write whose answer may be lost: its statement committed, then the connection dropped (a database
 * restart at that moment), and the guard's retry then changes nothing, since the first one took what
 * it was fenced to (a run's owner, a job's `active` state). Told apart from a write that really lost
 * its fence by reading back, on a retry only: a first answer is the statement's own.
 */
export function readBackOnRetry<T>(write: () => Promise<T>, landed: () => Promise<T>): () => Promise<T> {
  let calls = 0;
  return async () => {
    const retried = ++calls > 1;
    const written = await write();
    return written || !retried ? written : landed();
  };
}
