#!/usr/bin/env bash
# Makes sure `prometheus` and `promtool` are on PATH for the pipeline tests,
# installing Debian's `prometheus` package when they are missing.
#
# The Debian package ships a service that would start on install and occupy
# :9090 (and scrape nothing useful). The tests start their own Prometheus on
# a free port, so the packaged service is prevented from starting (policy-rc.d
# returns 101 = "action forbidden") and stopped/disabled if it started anyway.
set -euo pipefail

fail() {
  echo "ensure-prometheus: $*" >&2
  exit 1
}

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  echo "ensure-prometheus: found $(prometheus --version 2>&1 | head -n1)" >&2
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  fail "prometheus/promtool are not installed and this script is not running as root. Run 'sudo bash scripts/ensure-prometheus.sh' or 'sudo apt-get install -y prometheus' (then 'sudo systemctl disable --now prometheus')."
fi
command -v apt-get >/dev/null 2>&1 ||
  fail "prometheus/promtool are missing and apt-get is unavailable; install Prometheus >= 2.42 so that 'prometheus' and 'promtool' are on PATH."

policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
cleanup() {
  if [[ "$created_policy" -eq 1 ]]; then rm -f "$policy"; fi
}
trap cleanup EXIT

echo "ensure-prometheus: installing Debian's prometheus package" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update >&2 || fail "apt-get update failed"
apt-get install -y --no-install-recommends prometheus >&2 || fail "apt-get install prometheus failed"

# Belt and braces: if a service manager started it despite policy-rc.d, stop it.
if command -v systemctl >/dev/null 2>&1; then
  # `disable` works without a running systemd (it only removes the symlink).
  systemctl disable prometheus >&2 2>/dev/null || true
  systemctl stop prometheus >&2 2>/dev/null || true
fi
if command -v service >/dev/null 2>&1; then
  service prometheus stop >&2 2>/dev/null || true
fi
if command -v update-rc.d >/dev/null 2>&1; then
  update-rc.d prometheus disable >&2 2>/dev/null || true
fi

command -v prometheus >/dev/null 2>&1 || fail "prometheus is still not on PATH after installing the package"
command -v promtool >/dev/null 2>&1 || fail "promtool is still not on PATH after installing the package"
echo "ensure-prometheus: installed $(prometheus --version 2>&1 | head -n1)" >&2
