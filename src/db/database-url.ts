import { accessSync, constants } from 'node:fs';
import { ConfigError } from '../errors.ts';

/**
 * What the driver (pg, through pg-connection-string) would later refuse in DATABASE_URL, or take
 * silently in a way nobody meant, checked when the configuration is read: a refusal then is one
 * line and exit code 2, not an internal failure of the first query. The value is never echoed: it
 * may hold a password.
 */
export function checkDatabaseUrl(raw: string): void {
  if (!/^postgres(ql)?:\/\//.test(raw)) {
    throw new ConfigError('DATABASE_URL must start with postgres:// or postgresql://');
  }
  const { url } = parseUrl(raw);
  // Without a host the driver quietly tried 127.0.0.1:5432 and the start waited out its budget.
  if (url.hostname === '' && !url.searchParams.has('host')) {
    throw new ConfigError('DATABASE_URL names no host: postgres://<user>@<host>:<port>/<database>');
  }
  // The URL parser takes port 0, and a ?port= is the driver's alone: it then waited out the start-up
  // budget as for an outage.
  const queryPort = url.searchParams.get('port');
  const badQueryPort = queryPort !== null && !(/^[1-9]\d*$/.test(queryPort) && Number(queryPort) <= 65535);
  if (url.port === '0' || badQueryPort) throw new ConfigError("DATABASE_URL's port must be from 1 to 65535");
  // Without one the driver connected to the user's default database (often `postgres`, the
  // maintenance database), created sdops's tables there and found none of the rows asked for.
  if (url.pathname.replace(/^\//, '') === '') {
    throw new ConfigError(
      'DATABASE_URL names no database: postgres://<user>@<host>:<port>/<database> (the database sdops keeps its tables in)',
    );
  }
  checkParameterNames(url.searchParams);
  checkSsl(url.searchParams);
}

/**
 * The query parameters node-postgres reads from a URL (pg-connection-string and pg's connection
 * parameters). It ignores any other without a word: `?ssl_mode=require` or `?sslMode=require`
 * connected unencrypted, and libpq's own `target_session_attrs` or `connect_timeout` had no effect.
 */
const DRIVER_PARAMETERS = [
  'host',
  'port',
  'user',
  'password',
  'db',
  'encoding',
  'client_encoding',
  'sslmode',
  'ssl',
  'sslcert',
  'sslkey',
  'sslrootcert',
  'sslnegotiation',
  'uselibpqcompat',
  'application_name',
  'fallback_application_name',
  'options',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'query_timeout',
  'replication',
  'binary',
];

const fold = (name: string) => name.toLowerCase().replace(/[_-]/g, '');

function checkParameterNames(params: URLSearchParams): void {
  for (const name of new Set(params.keys())) {
    if (DRIVER_PARAMETERS.includes(name)) continue;
    const meant = DRIVER_PARAMETERS.find((known) => fold(known) === fold(name));
    const shown = name.length > 40 ? `${name.slice(0, 40)}...` : name;
    throw new ConfigError(
      `DATABASE_URL's parameter '${shown}' is not one the driver (node-postgres) reads, so it would have no effect` +
        (meant ? `: did you mean ${meant}?` : `; it reads ${DRIVER_PARAMETERS.join(', ')}`),
    );
  }
}

/**
 * libpq's socket form names the host in ?host= and leaves the authority's host empty, also after a
 * user (postgres://app@/db?host=/var/run/postgresql). The driver reads it; the URL parser refuses a
 * user before an empty host, so that form is checked without its user.
 */
function parseUrl(raw: string): { url: URL; user: string } {
  const userBeforeNoHost = /^(postgres(?:ql)?:\/\/)([^/?#@:]*)(?::([^/?#@]*))?@(?=[/?#]|$)/.exec(raw);
  const text = userBeforeNoHost ? `${userBeforeNoHost[1]}${raw.slice(userBeforeNoHost[0].length)}` : raw;
  if (!URL.canParse(text)) {
    throw new ConfigError(
      'DATABASE_URL is not a valid URL (check the host, the port and that special characters in the password are percent-encoded)',
    );
  }
  const url = new URL(text);
  decoded(url.pathname, 'database name');
  // Only whether it decodes: the password itself is never named. A stray % was sent as it stands,
  // and the refusal read as a wrong password.
  decoded(userBeforeNoHost?.[3] ?? url.password, 'password', '; write a % in it as %25');
  return { url, user: decoded(userBeforeNoHost?.[2] ?? url.username, 'user') };
}

/** A URL part percent-decoded; a malformed escape (`%zz`) failed as "failed: URI malformed". */
function decoded(part: string, what: string, hint = ''): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError(
      `DATABASE_URL's ${what} has a malformed percent-escape (a % not followed by two hex digits)${hint}`,
    );
  }
}

/** Where a DATABASE_URL leads, without its credentials: span attributes and the database's name. */
export interface DatabaseAddress {
  /** A host name or address, or the socket directory of the socket form. */
  readonly host: string;
  readonly port: number;
  readonly database: string;
}

/** Of a URL checkDatabaseUrl accepted (it names its database). Defaults as libpq's: localhost, 5432. */
export function databaseAddress(raw: string): DatabaseAddress {
  const { url } = parseUrl(raw);
  const param = (name: string) => url.searchParams.get(name) || undefined;
  return {
    host: url.hostname || param('host') || 'localhost',
    port: Number(url.port || param('port') || 5432),
    database: decoded(url.pathname.replace(/^\//, ''), 'database name'),
  };
}

/** libpq's sslmode values, and pg's own no-verify. */
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];
/** pg reads these as true or false; anything else it would pass on as it is. */
const SSL_FLAGS = ['true', 'false', '1', '0'];
/** Files the driver reads when it parses the URL (an unreadable one failed as "failed: ENOENT"). */
const SSL_FILES = ['sslcert', 'sslkey', 'sslrootcert'];

function checkSsl(params: URLSearchParams): void {
  const mode = params.get('sslmode');
  // The driver took any other value (a typo included) as "use SSL".
  if (mode !== null && !SSL_MODES.includes(mode)) {
    throw new ConfigError(`DATABASE_URL's sslmode must be one of ${SSL_MODES.join(', ')}`);
  }
  const flag = params.get('ssl');
  if (flag !== null && !SSL_FLAGS.includes(flag)) {
    throw new ConfigError(`DATABASE_URL's ssl must be one of ${SSL_FLAGS.join(', ')}`);
  }
  for (const name of SSL_FILES) {
    const path = params.get(name);
    if (path === null) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new ConfigError(
        `DATABASE_URL's ${name} names a file this process cannot read (${typeof code === 'string' ? code : 'unreadable'}): ${path}`,
      );
    }
  }
}
