import { expect } from 'chai';
import { assertSafeBinding, parseApiTokens } from '../../../src/api/index.ts';
import { isLoopbackHost, TokenVerifier } from '../../../src/api/auth.ts';
import { mapError } from '../../../src/api/errors.ts';
import { refusedByOpenServer } from '../../../src/api/auth.ts';
import { SdopsError } from '../../../src/errors.ts';

const ADMIN = 'a'.repeat(24);
const READ = 'r'.repeat(24);

describe('API auth and error mapping', () => {
  it('parses SDOPS_API_TOKENS into roles and refuses malformed entries without echoing tokens', () => {
    expect(parseApiTokens(` admin:${ADMIN} , read:${READ}`)).to.deep.equal([
      { role: 'admin', token: ADMIN },
      { role: 'read', token: READ },
    ]);
    expect(parseApiTokens(undefined)).to.deep.equal([]);
    for (const bad of [
      `root:${ADMIN}`,
      'admin:short',
      ADMIN,
      `admin:${ADMIN},read`,
      // Matched under no encoding a client sends: the role was locked out.
      `admin:${ADMIN}é`,
      // One token, two roles: it was resolved to admin.
      `admin:${ADMIN},read:${ADMIN}`,
    ]) {
      expect(() => parseApiTokens(bad))
        .to.throw(/SDOPS_API_TOKENS/)
        .that.satisfies((e: Error) => !e.message.includes(ADMIN));
    }
  });

  it('gives 401 for a missing or wrong token and 403 for a read token on an admin route', () => {
    const v = new TokenVerifier(parseApiTokens(`admin:${ADMIN},read:${READ}`));
    expect(v.authorize(`Bearer ${ADMIN}`, 'admin')).to.equal('admin');
    expect(v.authorize(`bearer ${READ}`, 'read')).to.equal('read');
    const status = (fn: () => unknown) => {
      try {
        fn();
        return 0;
      } catch (e) {
        return mapError(e).status;
      }
    };
    expect(status(() => v.authorize(undefined, 'read'))).to.equal(401);
    expect(status(() => v.authorize(`Bearer ${ADMIN}x`, 'read'))).to.equal(401);
    expect(status(() => v.authorize(`Basic ${ADMIN}`, 'read'))).to.equal(401);
    expect(status(() => v.authorize(`Bearer ${READ}`, 'admin'))).to.equal(403);
  });

  it('takes a token out of what a client wrote, as sent, encoded once, and encoded twice (a proxy)', () => {
    const percent = 'Adm%41n~Tok@[x]+secret!';
    const v = new TokenVerifier([
      { role: 'admin', token: percent },
      { role: 'read', token: READ },
    ]);
    // Before: decoded first, %41 became A and the token in the user agent stayed (a re-check probe).
    expect(v.withoutTokens(`client/1.0 ${percent}`)).to.equal('client/1.0 [REDACTED]');
    expect(v.withoutTokens(`/v1/${encodeURIComponent(percent)}/1`)).to.equal('/v1/[REDACTED]/1');
    const twice = [...READ].map((c) => `%25${c.charCodeAt(0).toString(16)}`).join('');
    expect(v.withoutTokens(`/v1/${twice}/1`)).to.equal('/v1/[REDACTED]/1');
    expect(v.withoutTokens('/v1/orders/%2541')).to.equal('/v1/orders/%2541');
  });

  it('refuses to bind beyond loopback without tokens', () => {
    for (const h of ['127.0.0.1', '::1', 'localhost', '[::1]', '127.1.2.3'])
      expect(isLoopbackHost(h), h).to.equal(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com'])
      expect(isLoopbackHost(h), h).to.equal(false);
    expect(() => assertSafeBinding('0.0.0.0', [])).to.throw(/refusing to listen on 0.0.0.0/);
    expect(() => assertSafeBinding('0.0.0.0', [{ role: 'admin', token: ADMIN }])).to.not.throw();
    expect(() => assertSafeBinding('127.0.0.1', [])).to.not.throw();
  });

  it('lets a server without tokens answer loopback names and pages of its own origin only', () => {
    for (const [host, origin] of [
      ['127.0.0.1:8080', undefined],
      ['localhost:8080', 'http://localhost:8080'],
      ['localhost:80', 'http://localhost'],
      ['[::1]:8080', 'http://[::1]:8080'],
      [undefined, undefined],
    ] as const)
      expect(refusedByOpenServer(host, origin), `${host} ${origin}`).to.equal(undefined);
    for (const [host, origin] of [
      ['evil.example', undefined],
      ['127.0.0.1.evil.example:8080', undefined],
      ['127.0.0.1:8080@evil.example', undefined],
      ['127.0.0.1/.evil.example', undefined],
      ['127.0.0.1\\evil.example', undefined],
      ['127.0.0.1:8080?.evil.example', undefined],
      ['127.0.0.1:8080#.evil.example', undefined],
      ['', undefined],
      ['127.0.0.1:8080', 'http://evil.example'],
      ['127.0.0.1:8080', 'null'],
      ['127.0.0.1:8080', 'not a url'],
      // Another loopback page (a dev server, Grafana) is another origin: it could drive the API.
      ['localhost:8080', 'http://localhost:3000'],
      ['127.0.0.1:8080', 'http://localhost:8080'],
      ['127.0.0.1:8080', 'https://127.0.0.1:8080'],
      [undefined, 'http://127.0.0.1:8080'],
    ] as const)
      expect(refusedByOpenServer(host, origin), `${host} ${origin}`).to.match(/SDOPS_API_TOKENS/);
  });

  it('maps error kinds to statuses and hides internal messages', () => {
    expect(mapError(new SdopsError('conflict', 'x', 'conflict')).status).to.equal(409);
    expect(mapError(new SdopsError('unknown_entity', 'x', 'invalid_input')).status).to.equal(404);
    const internal = mapError(new Error('password=hunter2 in SQL'));
    expect(internal.status).to.equal(500);
    expect(internal.body).to.deep.equal({ error: { code: 'internal_error', message: 'internal error' } });
  });
});
