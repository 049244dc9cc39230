import { getLogger } from '../observability/index.ts';

/**
 * node-postgres's notice that sslmode prefer, require and verify-ca mean verify-full: README's
 * DATABASE_URL row says so. Logged, it was a second line beside the one line of a refused DATABASE_URL
 * (exit 2: the server does not support SSL), and noise on every other command.
 */
const DOCUMENTED =
  /^SECURITY WARNING: The SSL modes 'prefer', 'require', and 'verify-ca' are treated as aliases/;

/**
 * Node prints a process warning as prose on stderr (the driver's about `sslmode=require` is nine
 * lines, on every connection), where every other line is a JSON log line that tools parse, `--json`
 * included. Each distinct warning becomes one warn record instead, once per process.
 */
export function processWarningsAsLogLines(): void {
  const said = new Set<string>();
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    const key = `${warning.name}:${warning.message}`;
    if (said.has(key) || DOCUMENTED.test(warning.message)) return;
    said.add(key);
    getLogger('process').warn(warning.message, { warning: warning.name });
  });
}
