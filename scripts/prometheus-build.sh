#!/usr/bin/env bash
# Builds Prometheus and promtool of the release compose.yaml pins, from the Go module
# (prometheus/module: a wrapper module requiring github.com/prometheus/prometheus v0.3XX.Y, which
# is release v3.XX.Y), and prints the folder holding both binaries on the last stdout line:
#   bindir="$(bash scripts/prometheus-build.sh | tail -n1)"
# The binaries are cached under ${SDOPS_CACHE_DIR:-<repo>/.cache}/prometheus/<key>/ where <key>
# hashes the wrapper module and `go version`. SDOPS_PROMETHEUS_BIN_DIR short-circuits everything
# (a folder with prebuilt prometheus and promtool of the same release).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
module_dir="$repo_root/prometheus/module"
cache_root="${SDOPS_CACHE_DIR:-$repo_root/.cache}/prometheus"

fail() {
  echo "prometheus-build: $*" >&2
  exit 1
}

if [[ -n "${SDOPS_PROMETHEUS_BIN_DIR:-}" ]]; then
  [[ -x "$SDOPS_PROMETHEUS_BIN_DIR/prometheus" && -x "$SDOPS_PROMETHEUS_BIN_DIR/promtool" ]] ||
    fail "SDOPS_PROMETHEUS_BIN_DIR=$SDOPS_PROMETHEUS_BIN_DIR has no executable prometheus and promtool"
  echo "$SDOPS_PROMETHEUS_BIN_DIR"
  exit 0
fi

# shellcheck source=scripts/require-go.sh
source "$repo_root/scripts/require-go.sh"
require_go "Prometheus" "SDOPS_PROMETHEUS_BIN_DIR to a folder with prometheus and promtool"
command -v sha256sum >/dev/null 2>&1 || fail "sha256sum (coreutils) is required to key the build cache."

module_version="$(sed -n 's/^require github.com\/prometheus\/prometheus \(v[0-9.]*\).*/\1/p' "$module_dir/go.mod")"
[[ -n "$module_version" ]] || fail "could not read the github.com/prometheus/prometheus version from $module_dir/go.mod"
# v0.313.0 -> 3.13.0: the module's minor is the release's major*100 + minor.
release="$(echo "$module_version" | awk -F. '{ printf "%d.%d.%d", substr($2,1,1), substr($2,2), $3 }')"

go_version="$(go version)"
key="$( { cat "$module_dir/go.mod" "$module_dir/tools.go"; echo "$go_version"; } | sha256sum | cut -c1-16)"
entry="$cache_root/$key"

if [[ -x "$entry/prometheus" && -x "$entry/promtool" ]]; then
  echo "prometheus-build: reusing cached Prometheus $release in $entry" >&2
  echo "$entry"
  exit 0
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
if command -v flock >/dev/null 2>&1; then
  echo "prometheus-build: waiting for the build lock" >&2
  flock 9
fi
if [[ -x "$entry/prometheus" && -x "$entry/promtool" ]]; then
  echo "prometheus-build: reusing $entry (built by a concurrent run)" >&2
  echo "$entry"
  exit 0
fi

work="$(mktemp -d "$cache_root/.build-XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$module_dir/go.mod" "$module_dir/tools.go" "$work/"
echo "prometheus-build: building Prometheus $release ($module_version, $go_version); the first build takes 10-16 minutes" >&2
started=$SECONDS
ldflags="-X github.com/prometheus/common/version.Version=$release -X github.com/prometheus/common/version.Branch=HEAD -X github.com/prometheus/common/version.BuildUser=sdops"
(
  cd "$work"
  export GOFLAGS="${GOFLAGS:--buildvcs=false}"
  go mod tidy >&2 || fail "go mod tidy failed (the Go module proxy must serve github.com/prometheus/prometheus@$module_version)"
  go build -tags netgo -ldflags "$ldflags" -o "$work/bin/" \
    github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool >&2 ||
    fail "go build of prometheus and promtool failed (see the output above)"
)
mkdir -p "$entry.tmp"
mv "$work/bin/prometheus" "$work/bin/promtool" "$entry.tmp/"
rm -rf "$entry"
mv "$entry.tmp" "$entry"
echo "prometheus-build: built in $((SECONDS - started))s" >&2
echo "$entry"
