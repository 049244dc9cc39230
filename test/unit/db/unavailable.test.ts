import { expect } from 'chai';
import { databaseError, isDatabaseUnavailable } from '../../../src/db/index.ts';

describe('a database that cannot be reached', () => {
  it('is said once in the message, also when pg-boss hands ours back as a plain object with its queue appended', () => {
    const first = databaseError(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    );
    expect((first as Error).message).to.equal(
      'the database is unavailable (connect ECONNREFUSED 127.0.0.1:5432)',
    );
    // What pg-boss emits: { ...error, message: `${message} (Queue: ..., Worker: ...)` }, made an Error again.
    const reEmitted = Object.assign(
      new Error(`${(first as Error).message} (Queue: __pgboss__send-it, Worker: w1)`),
      {
        code: 'database_unavailable',
      },
    );
    // Before: "the database is unavailable (the database is unavailable (connect ...) (Queue: ...))".
    expect((databaseError(reEmitted) as Error).message).to.equal(
      'the database is unavailable (connect ECONNREFUSED 127.0.0.1:5432) (Queue: __pgboss__send-it, Worker: w1)',
    );
  });
});

describe('SQLSTATEs that mean "not now"', () => {
  const sqlError = (code: string) => Object.assign(new Error(`error ${code}`), { code });

  it('are the connection, shutdown and insufficient-resource ones (a full disk included), not a refusal', () => {
    for (const code of ['08006', '57P01', '57P03', '53000', '53100', '53200', '53300'])
      expect(isDatabaseUnavailable(sqlError(code)), code).to.equal(true);
    for (const code of ['23505', 'P0001', '42501', '57014', '53400', '40P01'])
      expect(isDatabaseUnavailable(sqlError(code)), code).to.equal(false);
  });
});
