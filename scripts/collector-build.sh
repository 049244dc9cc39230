#!/usr/bin/env bash
# Builds the sdops OpenTelemetry Collector from otel-collector/builder-config.yaml
# with ocb (the OpenTelemetry Collector Builder) and prints the binary's path
# on the last stdout line. Everything else goes to stderr so callers can do
#   bin="$(bash scripts/collector-build.sh | tail -n1)"
#
# The binary is cached under ${SDOPS_CACHE_DIR:-<repo>/.cache}/otelcol/<key>/
# where <key> hashes the manifest and `go version`: editing the manifest or
# upgrading Go rebuilds, anything else reuses the cached binary. SDOPS_OTELCOL_BIN short-circuits
# everything (a prebuilt otelcol-sdops of the same manifest).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest="$repo_root/otel-collector/builder-config.yaml"
cache_root="${SDOPS_CACHE_DIR:-$repo_root/.cache}/otelcol"
binary_name="otelcol-sdops"

fail() {
  echo "collector-build: $*" >&2
  exit 1
}

if [[ -n "${SDOPS_OTELCOL_BIN:-}" ]]; then
  [[ -x "$SDOPS_OTELCOL_BIN" ]] || fail "SDOPS_OTELCOL_BIN=$SDOPS_OTELCOL_BIN is not an executable file"
  echo "$SDOPS_OTELCOL_BIN"
  exit 0
fi

# shellcheck source=scripts/require-go.sh
source "$repo_root/scripts/require-go.sh"
require_go "the collector" "SDOPS_OTELCOL_BIN to a prebuilt otelcol-sdops binary"
command -v sha256sum >/dev/null 2>&1 || fail "sha256sum (coreutils) is required to key the build cache."
[[ -f "$manifest" ]] || fail "manifest not found: $manifest"

# The manifest's dist.version is the one collector release the repo pins; ocb
# must come from the same release or it rejects the component versions.
ocb_version="$(sed -n 's/^  version: *\([0-9][0-9.]*\).*/\1/p' "$manifest" | head -n1)"
[[ -n "$ocb_version" ]] || fail "could not read dist.version from $manifest"

go_version="$(go version)"
key="$( { cat "$manifest"; echo "$go_version"; } | sha256sum | cut -c1-16)"
entry="$cache_root/$key"
binary="$entry/$binary_name"

if [[ -x "$binary" ]]; then
  echo "collector-build: reusing cached $binary" >&2
  echo "$binary"
  exit 0
fi

mkdir -p "$cache_root"
# Concurrent test runs must not build into the same folder at once.
exec 9>"$cache_root/.lock"
if command -v flock >/dev/null 2>&1; then
  echo "collector-build: waiting for the build lock" >&2
  flock 9
fi
if [[ -x "$binary" ]]; then
  echo "collector-build: reusing $binary (built by a concurrent run)" >&2
  echo "$binary"
  exit 0
fi

gobin="$cache_root/gobin-v$ocb_version"
ocb="$gobin/builder"
if [[ ! -x "$ocb" ]]; then
  echo "collector-build: installing ocb v$ocb_version into $gobin" >&2
  GOBIN="$gobin" go install "go.opentelemetry.io/collector/cmd/builder@v$ocb_version" >&2 ||
    fail "go install go.opentelemetry.io/collector/cmd/builder@v$ocb_version failed (network access to the Go module proxy is needed on a cold cache)"
fi

work="$(mktemp -d "$cache_root/.build-XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "collector-build: building $binary_name (collector v$ocb_version, $go_version); the first build takes minutes" >&2
started=$SECONDS
# dist.output_path is relative (./build), so ocb writes into the temp dir.
(cd "$work" && GOFLAGS="${GOFLAGS:--buildvcs=false}" "$ocb" --config "$manifest") >&2 ||
  fail "ocb failed to build the collector from $manifest (see the output above)"
[[ -x "$work/build/$binary_name" ]] || fail "ocb finished but $work/build/$binary_name is missing"

mkdir -p "$entry"
cp "$manifest" "$entry/builder-config.yaml"
# Rename last so a half-written binary is never picked up as a cache hit.
mv "$work/build/$binary_name" "$entry/$binary_name.tmp"
mv "$entry/$binary_name.tmp" "$binary"
echo "collector-build: built in $((SECONDS - started))s" >&2
echo "$binary"
