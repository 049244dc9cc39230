#!/usr/bin/env bash
# The whole test suite: the README's test command (`npm test`) runs this, and so does .ci/run.
# It installs and starts what the tests need: node modules (with the pinned Node 24), PostgreSQL (a
# throwaway cluster unless DATABASE_URL is set), Prometheus/promtool of the release compose.yaml
# runs and the OpenTelemetry Collector (both built once from their Go modules, cached in .cache/).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if [ ! -x node_modules/.bin/mocha ]; then
  step "installing node modules (npm ci)"
  npm ci --no-audit --no-fund
fi

step "lint and typecheck"
npm run --silent lint

# Both builds are cached by their inputs; on a cold cache they run side by side (minutes).
step "Prometheus and promtool (Go module build, cached) and the OpenTelemetry Collector (ocb build, cached)"
prom_out=$(mktemp)
bash scripts/prometheus-build.sh >"$prom_out" &
prom_pid=$!
SDOPS_OTELCOL_BIN=$(bash scripts/collector-build.sh | tail -n 1)
wait "$prom_pid" || { rm -f "$prom_out"; echo "test: building Prometheus failed (see above)" >&2; exit 1; }
SDOPS_PROMETHEUS_BIN_DIR=$(tail -n 1 "$prom_out")
rm -f "$prom_out"
export SDOPS_OTELCOL_BIN SDOPS_PROMETHEUS_BIN_DIR

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
