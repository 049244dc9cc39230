#!/usr/bin/env bash
# The whole test suite: the README's test command (`npm test`) runs this, and so does .ci/run.
# It installs and starts what the tests need: node modules, PostgreSQL (a throwaway cluster unless
# DATABASE_URL is set), Prometheus/promtool and the OpenTelemetry Collector (built once with ocb, cached).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if [ ! -x node_modules/.bin/mocha ]; then
  step "installing node modules (npm ci)"
  npm ci --no-audit --no-fund
fi

step "lint and typecheck"
npm run --silent lint

step "Prometheus and promtool"
bash scripts/ensure-prometheus.sh

step "OpenTelemetry Collector (ocb build, cached by manifest)"
SDOPS_OTELCOL_BIN=$(bash scripts/collector-build.sh | tail -n 1)
export SDOPS_OTELCOL_BIN

if [ -n "${DATABASE_URL:-}" ]; then
  export SDOPS_TEST_PG_URL=$DATABASE_URL
else
  step "throwaway PostgreSQL cluster"
  eval "$(bash scripts/test-postgres.sh start)"
  trap 'bash scripts/test-postgres.sh stop "$SDOPS_TEST_PG_DIR"' EXIT
fi
# The tests themselves must never reach a server through the operator's variable.
unset DATABASE_URL

step "mocha: unit, integration, alerts and pipeline tests"
if [ "$#" -eq 0 ]; then set -- "test/**/*.test.ts"; fi
npx mocha "$@"
