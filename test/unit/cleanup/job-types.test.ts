import { expect } from 'chai';
import { InvalidPayloadError, parsePayload } from '../../../src/cleanup/index.ts';
import { parseEnvelope } from '../../../src/cleanup/job-envelope.ts';
import { UnknownEntityError } from '../../../src/soft-delete/index.ts';

describe('cleanup job payloads', () => {
  it('accepts a retention payload without an entity (fan-out) and keeps only the given fields', () => {
    expect(parsePayload('purge_expired', {})).to.deep.equal({});
    expect(
      parsePayload('archive_entity', { entity: 'orders', olderThanDays: 0, batchSize: 10 }),
    ).to.deep.equal({
      entity: 'orders',
      olderThanDays: 0,
      batchSize: 10,
    });
  });

  it('refuses unknown entities, unknown fields and out-of-range numbers with typed errors', () => {
    expect(() => parsePayload('purge_expired', { entity: 'users' })).to.throw(UnknownEntityError);
    expect(() => parsePayload('purge_expired', { entity: 'orders', force: true })).to.throw(
      InvalidPayloadError,
      /force/,
    );
    expect(() => parsePayload('purge_expired', { batchSize: 0 })).to.throw(InvalidPayloadError, /batchSize/);
    expect(() => parsePayload('noop', [])).to.throw(InvalidPayloadError, /JSON object/);
  });

  it('normalises cascade ids to strings and requires entity and id', () => {
    expect(parsePayload('cascade_soft_delete', { entity: 'customers', id: 42 })).to.deep.equal({
      entity: 'customers',
      id: '42',
    });
    expect(() => parsePayload('cascade_soft_delete', { entity: 'customers' })).to.throw(
      InvalidPayloadError,
      /id/,
    );
    expect(() => parsePayload('cascade_soft_delete', { entity: 'customers', id: '1; drop' })).to.throw(
      InvalidPayloadError,
    );
    expect(() => parsePayload('cascade_soft_delete', { entity: 'customers', id: 1, opId: 'x' })).to.throw(
      InvalidPayloadError,
      /opId/,
    );
  });

  it('requires restore_cascade deletedAt to be a timestamp', () => {
    expect(
      parsePayload('restore_cascade', { entity: 'orders', id: '7', deletedAt: '2026-01-01T00:00:00Z' }),
    ).to.include({
      deletedAt: '2026-01-01T00:00:00Z',
    });
    expect(() =>
      parsePayload('restore_cascade', { entity: 'orders', id: '7', deletedAt: 'yesterday' }),
    ).to.throw(InvalidPayloadError);
  });

  it('reads a job envelope and ignores a malformed trace carrier', () => {
    const env = parseEnvelope({
      jobType: 'noop',
      payload: {},
      meta: { jobId: 'a', trace: { traceparent: 5 } },
    });
    expect(env).to.deep.equal({ jobType: 'noop', payload: {}, meta: { jobId: 'a' } });
    expect(parseEnvelope({ payload: {} })).to.equal(undefined);
  });
});
