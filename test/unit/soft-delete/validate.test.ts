import { expect } from 'chai';
import fc from 'fast-check';
import { InvalidInputError } from '../../../src/errors.ts';
import { entityNames, getEntity, parseId } from '../../../src/soft-delete/index.ts';
import { ENTITIES } from '../../../src/soft-delete/registry.ts';
import {
  InvalidBatchSizeError,
  InvalidFilterError,
  InvalidIdError,
  UnknownEntityError,
} from '../../../src/soft-delete/errors.ts';
import { cascadeTree } from '../../../src/soft-delete/registry.ts';
import { restoreSql, softDeleteSql } from '../../../src/soft-delete/sql.ts';
import {
  compileFilter,
  Params,
  parseBatchSize,
  parseIdList,
  parseTarget,
  parseText,
} from '../../../src/soft-delete/validate.ts';

describe('soft-delete input validation', () => {
  describe('parseId', () => {
    it('accepts positive integers up to the int8 maximum as canonical strings', () => {
      expect(parseId('1')).to.equal('1');
      expect(parseId('9223372036854775807')).to.equal('9223372036854775807');
    });

    it('rejects zero, negatives, leading zeros, decimals, blanks, overflow and SQL with invalid_id', () => {
      for (const bad of [
        '0',
        '-1',
        '01',
        '1.5',
        '',
        ' 1',
        '1e3',
        '9223372036854775808',
        '1; DROP TABLE customers',
        "1' OR '1'='1",
      ]) {
        expect(() => parseId(bad), bad)
          .to.throw(InvalidIdError)
          .with.property('code', 'invalid_id');
      }
    });

    it('never accepts a string that is not exactly a positive decimal integer', () => {
      fc.assert(
        fc.property(fc.string(), (s) => {
          const ok = /^[1-9][0-9]{0,18}$/.test(s) && BigInt(s) <= 9223372036854775807n;
          if (ok) expect(parseId(s)).to.equal(s);
          else expect(() => parseId(s)).to.throw(InvalidIdError);
        }),
      );
    });

    it('is an InvalidInputError so callers map it to exit code 2 / HTTP 400', () => {
      expect(() => parseId('x')).to.throw(InvalidInputError);
    });
  });

  it('sorts id lists numerically and drops duplicates so batches are keyset ranges', () => {
    expect(parseIdList(['10', '9', '100', '9', '2'])).to.deep.equal(['2', '9', '10', '100']);
  });

  it('rejects batch sizes that are not integers from 1 to 100000', () => {
    for (const bad of [0, -5, 1.5, 100_001, Number.NaN]) {
      expect(() => parseBatchSize(bad, 10), String(bad))
        .to.throw(InvalidBatchSizeError)
        .with.property('code', 'invalid_batch_size');
    }
    expect(parseBatchSize(undefined, 10)).to.equal(10);
    expect(parseBatchSize(100_000, 10)).to.equal(100_000);
  });

  describe('registry', () => {
    it('declares customers, orders, order_items and documents', () => {
      expect(entityNames()).to.deep.equal(['customers', 'orders', 'order_items', 'documents']);
      expect(ENTITIES.every((e) => e.archiveTable === `${e.table}_archive`)).to.equal(true);
    });

    it('rejects unknown and injection-shaped entity names with unknown_entity', () => {
      for (const bad of ['users', 'customers; DROP TABLE customers', '__proto__', 'Customers', '']) {
        expect(() => getEntity(bad), bad)
          .to.throw(UnknownEntityError)
          .with.property('code', 'unknown_entity');
      }
    });

    it('cascades customers to orders to order_items, parents first', () => {
      expect(cascadeTree(getEntity('customers')).map((n) => n.entity.name)).to.deep.equal([
        'customers',
        'orders',
        'order_items',
      ]);
      expect(cascadeTree(getEntity('documents'))).to.have.length(1);
    });
  });

  describe('free text', () => {
    it('counts characters as code points, as the API schema does: 1000 emoji are 1000 characters', () => {
      expect(parseText('reason', '😀'.repeat(1000))).to.have.length(2000);
      expect(() => parseText('reason', '😀'.repeat(1001))).to.throw(
        InvalidInputError,
        /1 to 1000 characters/,
      );
    });

    it('says a filter text is too long, quoting only its start', () => {
      const customers = getEntity('customers');
      const long = 'x'.repeat(100_000);
      let message = '';
      try {
        compileFilter(customers, { country: long }, new Params());
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).to.include('at most 1000 characters').and.include('(100002 characters)');
      expect(message.length).to.be.below(300);
      expect(() => compileFilter(customers, { country: '😀'.repeat(1000) }, new Params())).to.not.throw();
    });
  });

  describe('filters', () => {
    const orders = getEntity('orders');

    it('compiles registry columns and time keys to parameterised SQL', () => {
      const p = new Params();
      const sql = compileFilter(
        orders,
        { status: 'paid', customer_id: '7', deletedBefore: '2024-01-01T00:00:00Z', currency: null },
        p,
      );
      expect(sql).to.equal(
        'status = $1 AND customer_id = $2 AND deleted_at < $3::timestamptz AND currency IS NULL',
      );
      expect(p.values).to.deep.equal(['paid', '7', '2024-01-01T00:00:00Z']);
    });

    it('keeps values out of the SQL text, whatever they contain', () => {
      fc.assert(
        fc.property(fc.string(), (s) => {
          const p = new Params();
          const sql = compileFilter(orders, { status: s }, p);
          expect(sql).to.equal('status = $1');
          expect(p.values).to.deep.equal([s]);
        }),
      );
    });

    it('rejects columns outside the registry, empty filters and ill-typed values with invalid_filter', () => {
      const bad: Record<string, unknown>[] = [
        {},
        { email: 'x' },
        { 'status = status OR 1=1 --': 'x' },
        { customer_id: 'abc' },
        { customer_id: '1 OR 1=1' },
        { is_deleted: 'yes' },
        { delete_op_id: 'not-a-uuid' },
        { createdBefore: 'yesterday' },
        { constructor: 'x' },
      ];
      for (const f of bad) {
        expect(() => compileFilter(orders, f as never, new Params()), JSON.stringify(f))
          .to.throw(InvalidFilterError)
          .with.property('code', 'invalid_filter');
      }
    });
  });

  it('requires exactly one of id, ids or filter in a target', () => {
    const e = getEntity('documents');
    expect(() => parseTarget(e, {} as never))
      .to.throw(InvalidInputError)
      .with.property('code', 'invalid_target');
    expect(() => parseTarget(e, { id: '1', ids: ['2'] } as never)).to.throw(InvalidInputError);
    expect(parseTarget(e, { id: '5' })).to.deep.equal({ kind: 'id', ids: ['5'] });
  });

  it('builds one statement per cascade, matching children through the parent set', () => {
    const nodes = cascadeTree(getEntity('customers'));
    const del = softDeleteSql(nodes);
    expect(del).to.match(/UPDATE "orders" SET[\s\S]*"customer_id" = ANY\(ARRAY\(SELECT id FROM n0\)\)/);
    expect(del).to.match(/UPDATE "order_items" SET[\s\S]*"order_id" = ANY\(ARRAY\(SELECT id FROM n1\)\)/);
    expect(restoreSql(nodes)).to.include('delete_op_id = ANY(ARRAY(SELECT op FROM n0 WHERE op IS NOT NULL))');
  });
});
