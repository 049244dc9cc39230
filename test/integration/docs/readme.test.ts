import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { REPO_ROOT, SDOPS_BIN } from '../../support/cli.ts';
import { codeSpans, readDoc, tableRows } from '../../unit/docs/support/markdown.ts';

/** The API table in README.md against the OpenAPI document the real server serves. */

interface OpenApi {
  info?: { version?: string };
  paths: Record<string, Record<string, { security?: unknown[] }>>;
}

/** `sdops --memory serve --port 0` until it prints its URL; the caller stops it. */
function startServer(): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SDOPS_BIN, '--memory', 'serve', '--port', '0'], {
      cwd: REPO_ROOT,
      env: { ...process.env, OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'warn', SDOPS_API_TOKENS: undefined },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sdops serve did not report its URL within 60 s:\n${stderr}`));
    }, 60_000);
    child.stderr?.on('data', (d) => {
      stderr += d;
      const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ child, url });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sdops serve exited with ${code}:\n${stderr}`));
    });
  });
}

describe('the API reference in README.md', function () {
  this.timeout(90_000);
  let server: { child: ChildProcess; url: string };
  let openapi: OpenApi;

  before(async () => {
    server = await startServer();
    const res = await fetch(`${server.url}/openapi.json`);
    expect(res.status).to.equal(200);
    openapi = (await res.json()) as OpenApi;
  });

  after(() => {
    server?.child.kill('SIGTERM');
  });

  it('lists exactly the routes of the served /openapi.json, public ones as public', () => {
    const served = new Map<string, boolean>();
    for (const [path, ops] of Object.entries(openapi.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        served.set(`${method.toUpperCase()} ${path}`, (op.security ?? [{}]).length === 0);
      }
    }
    const documented = new Map<string, boolean>(
      tableRows(readDoc('README.md'), 'Method').map((row) => [
        `${row[0]} ${codeSpans(row[1] ?? '')[0]}`,
        row[2] === 'public',
      ]),
    );
    expect([...documented.keys()].sort()).to.deep.equal([...served.keys()].sort());
    for (const [route, isPublic] of served)
      expect(documented.get(route), `${route} public`).to.equal(isPublic);
  });

  it("names this release's version in the served document, as package.json does", () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    // Was "0.0.0".
    expect(openapi.info?.version).to.equal(pkg.version);
  });
});
