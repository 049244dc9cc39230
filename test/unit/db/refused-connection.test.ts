import { expect } from 'chai';
import { isDatabaseUnavailable, refusedConnection } from '../../../src/db/index.ts';
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

describe("a server's 08P01 (protocol violation) at connect", () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it("is invalid_config when PostgreSQL refused DATABASE_URL's start-up packet: waiting never changes it", () => {
    for (const message of [
      'invalid startup packet layout: expected terminator as last byte',
      'extended query protocol not supported in a replication connection',
    ]) {
      const error = pgError('08P01', message);
      expect(isDatabaseUnavailable(error), message).to.equal(false);
      expect(refusedConnection(error), message).to.be.instanceOf(ConfigError);
    }
  });

  it('is an outage when PgBouncer says its server is down or its pool is full (it uses 08P01 too)', () => {
    for (const message of [
      'client_login_timeout (server down)',
      'no more connections allowed (max_client_conn)',
      'pgbouncer cannot connect to server',
    ]) {
      const error = pgError('08P01', message);
      expect(isDatabaseUnavailable(error), message).to.equal(true);
      expect(refusedConnection(error), message).to.equal(undefined);
    }
  });
});
