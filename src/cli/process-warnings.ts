import { getLogger } from '../observability/index.ts';

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
    if (said.has(key)) return;
    said.add(key);
    getLogger('process').warn(warning.message, { warning: warning.name });
  });
}
