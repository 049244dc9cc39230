import type { Logger } from '../../src/observability/index.ts';

/** A logger that keeps its info, warn and error messages, each as "<level>: <message>". */
export function keptLog(): { log: Logger; said: string[] } {
  const said: string[] = [];
  const log: Logger = {
    debug: () => {},
    info: (message) => said.push(`info: ${message}`),
    warn: (message) => said.push(`warn: ${message}`),
    error: (message) => said.push(`error: ${message}`),
    child: () => log,
  };
  return { log, said };
}
