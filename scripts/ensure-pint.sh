#!/usr/bin/env bash
# Installs pint (Cloudflare's Prometheus rule linter) at the pinned version into a git-ignored
# cache, .cache/pint/<version>/pint, and prints the binary's path on the last stdout line:
#   pint="$(bash scripts/ensure-pint.sh | tail -n1)"
# A cached binary is reused; SDOPS_PINT_BIN short-circuits everything (a prebuilt pint).
set -euo pipefail

# Keep in sync with PINT_VERSION in grafana/src/pint.ts (test/alerts/rules.test.ts checks it).
PINT_VERSION="v0.73.7"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fail() {
  echo "ensure-pint: $*" >&2
  exit 1
}

if [[ -n "${SDOPS_PINT_BIN:-}" ]]; then
  [[ -x "$SDOPS_PINT_BIN" ]] || fail "SDOPS_PINT_BIN=$SDOPS_PINT_BIN is not an executable file"
  echo "$SDOPS_PINT_BIN"
  exit 0
fi

dir="${SDOPS_CACHE_DIR:-$repo_root/.cache}/pint/$PINT_VERSION"
binary="$dir/pint"
if [[ -x "$binary" ]]; then
  echo "ensure-pint: reusing $binary" >&2
  echo "$binary"
  exit 0
fi

# shellcheck source=scripts/require-go.sh
source "$repo_root/scripts/require-go.sh"
require_go "pint" "SDOPS_PINT_BIN to a pint $PINT_VERSION binary"
mkdir -p "$dir"
echo "ensure-pint: go install github.com/cloudflare/pint/cmd/pint@$PINT_VERSION into $dir" >&2
GOBIN="$dir" go install "github.com/cloudflare/pint/cmd/pint@$PINT_VERSION" >&2 ||
  fail "go install github.com/cloudflare/pint/cmd/pint@$PINT_VERSION failed (the Go module proxy must serve github.com/cloudflare/pint; set SDOPS_PINT_BIN to use a prebuilt binary instead)"
[[ -x "$binary" ]] || fail "go install finished but $binary is missing"
echo "$binary"
