import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { ConflictError } from '../errors.ts';

/** The request header a client repeats with a retried bulk request (IETF draft-ietf-httpapi-idempotency-key-header). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** Its schema: what fastify checks before the route runs (invalid_idempotency_key, api/errors.ts). */
export const idempotencyHeaders = {
  type: 'object',
  properties: {
    [IDEMPOTENCY_HEADER]: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7e]+$',
      description:
        'Makes a request that becomes a job safe to retry (a lost answer, a 503): the same key with the same body on the same route and entity answers 202 with the same job and opId instead of queueing another; with another body, 409 idempotency_key_reused. Kept as long as the job is kept.',
    },
  },
} as const;

/**
 * A UUID named by what identifies a keyed request (RFC 9562 version 8: SHA-256 of the parts), so a
 * repeat finds the job the first one queued, and the op id its rows carry.
 */
export function keyedUuid(...parts: readonly string[]): string {
  const bytes = createHash('sha256').update(JSON.stringify(parts)).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The job a keyed request found: refused unless it carries the payload this request would queue. */
export function assertSameRequest(key: string, queued: unknown, requested: unknown): void {
  if (isDeepStrictEqual(queued, requested)) return;
  throw new ConflictError(
    'idempotency_key_reused',
    `Idempotency-Key ${JSON.stringify(key)} was used by an earlier request with another body; use a new key for a new request`,
  );
}
