//go:build tools

// The wrapper module scripts/prometheus-build.sh builds: it pins the Prometheus release
// compose.yaml runs (module v0.3XX.Y = release v3.XX.Y) and names the two commands the tests
// need. Nothing of Prometheus is vendored or committed; the sources come from the Go module proxy.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
