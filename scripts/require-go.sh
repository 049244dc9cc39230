# Sourced by the build scripts after they define fail(): Go must be on PATH and new enough to build
# the pinned modules. Go 1.21 and later fetch the toolchain a go.mod names (GOTOOLCHAIN=auto, from
# the module proxy); an older Go fails on the go.mod line with a message of its own that names
# nothing to do, so it is refused here first.
# Usage: require_go "<what it builds>" "<the variable that skips the build>"
require_go() {
  command -v go >/dev/null 2>&1 ||
    fail "Go is required to build $1 but 'go' is not on PATH. Install Go >= 1.26 (https://go.dev/dl/) or set $2."
  local version
  version="$(go env GOVERSION 2>/dev/null || true)"
  if [[ "$version" =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] < 21)); then
    fail "$version is too old to build $1: install Go >= 1.26 (https://go.dev/dl/; Go 1.21 or later also works, fetching the 1.26 toolchain from the module proxy) or set $2."
  fi
}
