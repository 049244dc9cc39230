import { readFileSync } from 'node:fs';

/**
 * Apart from sdk-wiring.ts, which names the version in the resource: the CLI needs it for every
 * command, and importing it from there loaded the whole SDK before a command that never starts
 * telemetry (--help, a refused argument) could answer.
 */

/** This release's version (package.json): service.version, `sdops --version`, the OpenAPI document. */
export function packageVersion(): string {
  try {
    const raw = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(raw) as { version?: unknown }).version;
    return typeof version === 'string' ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
