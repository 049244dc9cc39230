import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';

const scripts = [
  ['scripts/collector-build.sh', 'collector-build', 'the collector', 'SDOPS_OTELCOL_BIN'],
  ['scripts/prometheus-build.sh', 'prometheus-build', 'Prometheus', 'SDOPS_PROMETHEUS_BIN_DIR'],
  ['scripts/ensure-pint.sh', 'ensure-pint', 'pint', 'SDOPS_PINT_BIN'],
] as const;

describe('the build scripts on a machine whose Go is too old', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sdops-old-go-'));
    // A Go before 1.21 cannot fetch the toolchain the modules name; it failed with its own go.mod error.
    writeFileSync(
      path.join(dir, 'go'),
      '#!/bin/sh\nif [ "$1" = env ]; then echo go1.19.13; else echo "go version go1.19.13 linux/amd64"; fi\n',
    );
    chmodSync(path.join(dir, 'go'), 0o755);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [script, prefix, what, variable] of scripts) {
    it(`${script} refuses it at once, in one line naming the version, what to install and ${variable}`, () => {
      const env: NodeJS.ProcessEnv = {
        PATH: `${dir}:/usr/bin:/bin`,
        HOME: dir,
        SDOPS_CACHE_DIR: path.join(dir, 'cache'),
      };
      const result = spawnSync('bash', [script], { env, encoding: 'utf8' });
      expect(result.status, result.stderr).to.equal(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(
        new RegExp(`^${prefix}: go1\\.19\\.13 is too old to build ${what}: install Go >= 1\\.26 `),
      );
      expect(lines[0]).to.include(`or set ${variable} `);
      expect(result.stdout).to.equal('');
    });
  }
});
