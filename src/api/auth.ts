import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { ConfigError } from '../errors.ts';
import { forbidden, unauthorized } from './errors.ts';

export type Role = 'read' | 'admin';
/** What a route needs: public routes skip authentication entirely. */
export type Access = 'public' | Role;

export interface ApiToken {
  readonly role: Role;
  readonly token: string;
}

/** Tokens shorter than this are refused at start: a short bearer token is guessable. */
const MIN_TOKEN_LENGTH = 16;

/**
 * Parses `admin:<token>,read:<token>` (SDOPS_API_TOKENS). The value never appears in an error
 * message: a typo in it must not print the other tokens.
 */
export function parseApiTokens(raw: string | undefined): ApiToken[] {
  if (raw === undefined || raw.trim() === '') return [];
  const tokens: ApiToken[] = [];
  raw.split(',').forEach((entry, index) => {
    const item = entry.trim();
    const colon = item.indexOf(':');
    const role = colon > 0 ? item.slice(0, colon).trim() : '';
    const token = colon > 0 ? item.slice(colon + 1).trim() : '';
    if (role !== 'admin' && role !== 'read') {
      throw new ConfigError(
        `SDOPS_API_TOKENS entry ${index + 1} must look like admin:<token> or read:<token>`,
      );
    }
    // Visible ASCII only: a client sends the header as bytes, and a token with other characters
    // matched under no encoding (its role was locked out, at start-up without a word).
    if (token.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token)) {
      throw new ConfigError(
        `SDOPS_API_TOKENS entry ${index + 1} (${role}) must be at least ${MIN_TOKEN_LENGTH} characters of visible ASCII (no spaces)`,
      );
    }
    // One token for two roles was resolved to admin: a copy-paste slip gave read users admin.
    const same = tokens.findIndex((t) => t.token === token);
    if (same !== -1) {
      throw new ConfigError(`SDOPS_API_TOKENS entries ${same + 1} and ${index + 1} are the same token`);
    }
    tokens.push({ role, token });
  });
  return tokens;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Encoded once by the client and once more by a proxy: deeper is no URL a client sends. */
const MAX_DECODINGS = 2;

/** %XX escapes of visible ASCII decoded (what a token is made of); anything else left as sent. */
function decodePrintable(text: string): string {
  if (!text.includes('%')) return text;
  return text.replace(/%([2-7][0-9A-Fa-f])/g, (sequence, hex: string) => {
    const code = Number.parseInt(hex, 16);
    return code > 0x20 && code < 0x7f ? String.fromCharCode(code) : sequence;
  });
}

/**
 * Checks bearer tokens in constant time: the presented token and every configured one are hashed to
 * equal-length digests and all are compared (no early exit), so timing reveals neither which entry
 * matched nor how much of a token was right.
 */
export class TokenVerifier {
  private readonly entries: readonly { role: Role; hash: Buffer }[];
  private readonly secrets: readonly string[];

  constructor(tokens: readonly ApiToken[]) {
    this.entries = tokens.map((t) => ({ role: t.role, hash: digest(t.token) }));
    this.secrets = tokens.map((t) => t.token);
  }

  /**
   * The text with every configured token in it replaced: a client that put its token in the URL
   * (`/v1/<token>`) had it written to the access line and the span's url.path.
   */
  withoutTokens(text: string): string {
    // A URL carries a token percent-encoded as often as not (`encodeURIComponent` encodes `@ [ ] ~`
    // ..., a token may hold any visible ASCII), any character may be sent encoded, and a proxy may
    // encode it once more: compared as sent, then decoded once and twice, and written in the first
    // form that shows a token, with the token taken out. As sent first: a token may hold `%` itself
    // (`Adm%41n`), which decoding turns into another text (a user agent is not encoded at all).
    let form = text;
    for (let decodings = 0; decodings <= MAX_DECODINGS; decodings++) {
      if (this.secrets.some((secret) => form.includes(secret))) {
        let out = form;
        for (const secret of this.secrets) out = out.replaceAll(secret, '[REDACTED]');
        return out;
      }
      const next = decodePrintable(form);
      if (next === form) return text;
      form = next;
    }
    return text;
  }

  /** No token configured: the server only listens on loopback and lets every local caller in (see refusedByOpenServer). */
  get open(): boolean {
    return this.entries.length === 0;
  }

  roleOf(token: string): Role | undefined {
    const presented = digest(token);
    let found: Role | undefined;
    for (const entry of this.entries) {
      // parseApiTokens refuses one token twice, so at most one entry matches.
      if (timingSafeEqual(presented, entry.hash)) found = entry.role;
    }
    return found;
  }

  /** Throws 401/403 ApiErrors; returns the caller's role. */
  authorize(authorization: string | undefined, access: Role): Role {
    if (this.open) return 'admin';
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match?.[1]) throw unauthorized('send Authorization: Bearer <token>');
    const role = this.roleOf(match[1]);
    if (!role) throw unauthorized('the bearer token is not valid');
    if (access === 'admin' && role !== 'admin')
      throw forbidden('this operation needs a token with the admin role');
    return role;
  }
}

export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * The name of a Host header, which is `name[:port]` and nothing more: URL parsing would read
 * `127.0.0.1/.evil.example` or `127.0.0.1\evil.example` as 127.0.0.1 with a path (probe S).
 */
function hostnameOf(host: string): string | undefined {
  if (/[/\\?#@\s]/.test(host)) return undefined;
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Without tokens every caller is admin, and binding to loopback keeps out other machines but not
 * this machine's browser: a web page can POST to 127.0.0.1 without a CORS preflight (a request
 * with no body is a "simple request"), and DNS rebinding sends a foreign name's requests there. So
 * an open server answers only requests addressed to a loopback name (Host) and not sent by a page of
 * another origin than its own (Origin; a browser sends it with every POST and DELETE). Returns why a request
 * is refused, or undefined.
 */
export function refusedByOpenServer(
  host: string | undefined,
  origin: string | undefined,
): string | undefined {
  const setTokens = 'set SDOPS_API_TOKENS to serve other callers';
  if (host !== undefined) {
    const name = hostnameOf(host);
    if (name === undefined || !isLoopbackHost(name))
      return `this server has no tokens and answers only requests addressed to a loopback name, not to Host ${JSON.stringify(host.slice(0, 100))}: ${setTokens}`;
  }
  // Only the server's own origin: a page on another loopback port (a dev server, Grafana on :3000)
  // is another origin, and may be anyone's page.
  if (origin !== undefined && !isOwnOrigin(origin, host))
    return `this server has no tokens and refuses requests from web pages of another origin (${JSON.stringify(origin.slice(0, 100))}): ${setTokens}`;
  return undefined;
}

/** `origin` is http://<the Host the request was sent to>, default port or not. */
function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    const page = new URL(origin);
    return (
      page.protocol === 'http:' && page.origin === origin && page.host === new URL(`http://${host}`).host
    );
  } catch {
    return false;
  }
}

/** Refuses an unauthenticated server on anything but loopback, with a message that says what to do. */
export function assertSafeBinding(host: string, tokens: readonly ApiToken[]): void {
  if (tokens.length > 0 || isLoopbackHost(host)) return;
  throw new ConfigError(
    `refusing to listen on ${host} without authentication: set SDOPS_API_TOKENS="admin:<token>,read:<token>" ` +
      'or listen on 127.0.0.1',
  );
}
