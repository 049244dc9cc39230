/**
 * `node test/alerts/pint-offline.ts`: pint's offline checks on prometheus/rules/ with .pint.hcl.
 * Not a mocha spec because pint must be installable first (scripts/ensure-pint.sh needs the Go
 * module proxy to serve github.com/cloudflare/pint, or SDOPS_PINT_BIN set to a pint binary).
 */
import { runPintOffline } from '../../grafana/src/index.ts';

runPintOffline().then(
  (result) => {
    process.stdout.write(result.output);
    console.log(
      `pint ${result.args.join(' ')}: ${result.ok ? 'passed' : `failed (exit ${result.exitCode})`}`,
    );
    process.exitCode = result.ok ? 0 : 1;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
