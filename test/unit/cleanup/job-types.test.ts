import { expect } from 'chai';
import { parsePayload } from '../../../src/cleanup/index.ts';
import { InvalidPayloadError } from '../../../src/cleanup/errors.ts';
import { MAX_OLDER_THAN_DAYS, MAX_ROWS_PER_CALL } from '../../../src/validation/index.ts';
import { parseEnvelope } from '../../../src/cleanup/job-envelope.ts';

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
    // invalid_payload like any other bad field: a job that died of unknown_entity matched no runbook branch.
    expect(() => parsePayload('purge_expired', { entity: 'users' })).to.throw(
      InvalidPayloadError,
      /entity must be one of customers, orders, order_items, documents, got "users"/,
    );
    expect(() => parsePayload('purge_expired', { entity: 'orders', force: true })).to.throw(
      InvalidPayloadError,
      /force/,
    );
    expect(() => parsePayload('purge_expired', { batchSize: 0 })).to.throw(InvalidPayloadError, /batchSize/);
    expect(() => parsePayload('noop', [])).to.throw(InvalidPayloadError, /JSON object/);
  });

  it('takes a retention age and row budget within the bounds `sdops purge|archive` take them', () => {
    // Before: 1.5 days was refused here while the CLI accepted it, and the CLI took any --max-rows.
    expect(parsePayload('archive_entity', { entity: 'orders', olderThanDays: 1.5 })).to.include({
      olderThanDays: 1.5,
    });
    expect(parsePayload('purge_expired', { maxRows: MAX_ROWS_PER_CALL })).to.include({
      maxRows: MAX_ROWS_PER_CALL,
    });
    expect(() => parsePayload('purge_expired', { maxRows: MAX_ROWS_PER_CALL + 1 })).to.throw(
      InvalidPayloadError,
      /maxRows/,
    );
    for (const olderThanDays of [-0.5, MAX_OLDER_THAN_DAYS + 1, '2', Number.NaN]) {
      expect(() => parsePayload('purge_expired', { olderThanDays }), String(olderThanDays)).to.throw(
        InvalidPayloadError,
        /olderThanDays/,
      );
    }
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
    // As PostgreSQL writes a uuid: the cascade compares it with the parent's delete_op_id as text, and
    // an op id pasted in capitals skipped the cascade as "parent deleted again" (probe M).
    const opId = '0193A3F4-0000-7000-8000-00000000C4C2';
    for (const type of ['cascade_soft_delete', 'bulk_soft_delete'] as const) {
      const payload = {
        entity: 'customers',
        ...(type === 'bulk_soft_delete' ? { ids: ['1'] } : { id: 1 }),
        opId,
      };
      expect(parsePayload(type, payload), type).to.include({ opId: opId.toLowerCase() });
    }
  });

  it('refuses a cascade job of an entity without children: it could only ever do nothing', () => {
    // Before: `queue enqueue restore_cascade {"entity":"documents",...}` was accepted, exit 0.
    for (const jobType of ['cascade_soft_delete', 'restore_cascade'] as const) {
      expect(() => parsePayload(jobType, { entity: 'documents', id: '1' })).to.throw(
        InvalidPayloadError,
        `invalid ${jobType} payload: entity must be an entity with children (customers, orders), got "documents"`,
      );
    }
    expect(parsePayload('restore_cascade', { entity: 'orders', id: '1' })).to.deep.equal({
      entity: 'orders',
      id: '1',
    });
  });

  it('takes a reason as the API does: up to 1000 characters counted as code points, not blank', () => {
    const cascade = { entity: 'customers', id: '1' };
    // Was 500 UTF-16 units: an API delete that became a job refused a reason the API had accepted.
    for (const reason of ['r'.repeat(1000), '😀'.repeat(1000)]) {
      expect(parsePayload('cascade_soft_delete', { ...cascade, reason })).to.include({ reason });
      expect(parsePayload('bulk_soft_delete', { entity: 'documents', ids: ['1'], reason })).to.include({
        reason,
      });
    }
    // A blank one was taken, and the job failed until it was dead.
    for (const reason of ['r'.repeat(1001), '   ', '', '\u200b\ufeff']) {
      expect(() => parsePayload('bulk_soft_delete', { entity: 'documents', ids: ['1'], reason })).to.throw(
        InvalidPayloadError,
        /reason must be text of 1 to 1000 characters, not blank/,
      );
    }
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
