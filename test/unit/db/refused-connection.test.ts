import { expect } from 'chai';
import { refusedConnection } from '../../../src/db/index.ts';
import { ConfigError } from '../../../src/errors.ts';

describe('a database refusing what DATABASE_URL names', () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('is invalid_config: no such database or role, a wrong or missing password, a role without privileges', () => {
    for (const error of [
      pgError('3D000', 'database "nope" does not exist'),
      pgError('28000', 'role "nobody" does not exist'),
      pgError('28P01', 'password authentication failed for user "app"'),
      pgError('42501', 'permission denied for table sdops_schema_migrations'),
      // The driver's own words when the server asks for a password the URL does not give (was exit 1).
      new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string'),
    ]) {
      const refused = refusedConnection(error);
      expect(refused, error.message).to.be.instanceOf(ConfigError);
      expect(refused?.message).to.match(/DATABASE_URL/);
    }
  });

  it("is invalid_config when the server's certificate is refused, naming the sslmode ways out", () => {
    // node-postgres checks the certificate for sslmode=require (libpq does not): a self-signed one
    // was exit 1, "failed", naming no setting.
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED']) {
      const refused = refusedConnection(pgError(code, 'self-signed certificate'));
      expect(refused, code).to.be.instanceOf(ConfigError);
      expect(refused?.message).to.match(
        /certificate was refused .*sslrootcert=.*sslmode=no-verify.*uselibpqcompat=true/,
      );
    }
  });

  it('leaves every other error alone', () => {
    expect(refusedConnection(pgError('23505', 'duplicate key'))).to.equal(undefined);
    expect(refusedConnection(new Error('connect ECONNREFUSED'))).to.equal(undefined);
    expect(refusedConnection('text')).to.equal(undefined);
  });
});
