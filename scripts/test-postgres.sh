#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster for the tests.
#   eval "$(bash scripts/test-postgres.sh start)"   -> exports SDOPS_TEST_PG_URL and SDOPS_TEST_PG_DIR
#   bash scripts/test-postgres.sh stop "$SDOPS_TEST_PG_DIR"
# The fault tests take a cluster of their own down and up again, keeping its port and data:
#   bash scripts/test-postgres.sh restart DIR        (pg_ctl restart -m fast)
#   bash scripts/test-postgres.sh server-stop DIR    (pg_ctl stop -m fast; the data stays)
#   bash scripts/test-postgres.sh server-start DIR   (the same server again, same port)
#   bash scripts/test-postgres.sh crash-restart DIR  (pg_ctl stop -m immediate, then start: a crash)
# The cluster runs without fsync for speed, so a crash may lose commits it confirmed; for a check of
# what survives a crash, start it with SDOPS_TEST_PG_DURABLE=1 (the choice is kept with the cluster).
# Works as root (the server runs as the `postgres` user) and as an ordinary user. Installs Debian's
# postgresql package when no server binaries are found and we are root; otherwise says what is missing.
set -euo pipefail

find_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

ensure_installed() {
  if find_bindir >/dev/null; then return 0; fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-postgres: PostgreSQL server binaries (initdb, pg_ctl) are missing; install Debian's 'postgresql' package or set DATABASE_URL" >&2
    exit 1
  fi
  echo "test-postgres: installing PostgreSQL (apt-get install postgresql)" >&2
  # Keep the package from starting its own cluster: we only want the binaries.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2 || {
    rm -f /usr/sbin/policy-rc.d
    echo "test-postgres: apt-get install postgresql failed; install it by hand or set DATABASE_URL" >&2
    exit 1
  }
  rm -f /usr/sbin/policy-rc.d
  find_bindir >/dev/null || { echo "test-postgres: postgresql installed but initdb not found" >&2; exit 1; }
}

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts the server of cluster $1 on the port recorded in $1/port.
launch() {
  local dir=$1 bindir port
  bindir=$(find_bindir)
  port=$(cat "$dir/port")
  # Durability is pointless for a throwaway cluster; turning it off makes the suite much faster.
  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ -e "$dir/durable" ] && durability=""
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $durability -c max_connections=300" \
    start >/dev/null || { cat "$dir/server.log" >&2; echo "test-postgres: server did not start" >&2; exit 1; }
}

start() {
  ensure_installed
  local bindir dir port
  bindir=$(find_bindir)
  dir=$(mktemp -d /tmp/sdops-pg.XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2; echo "test-postgres: initdb failed" >&2; exit 1; }
  port=$(free_port)
  echo "$port" >"$dir/port"
  [ "${SDOPS_TEST_PG_DURABLE:-}" = 1 ] && touch "$dir/durable"
  launch "$dir"
  echo "export SDOPS_TEST_PG_URL=postgres://postgres@127.0.0.1:$port/postgres"
  echo "export SDOPS_TEST_PG_DIR=$dir"
}

stop() {
  local dir=${1:-${SDOPS_TEST_PG_DIR:-}}
  [ -n "$dir" ] && [ -d "$dir/data" ] || return 0
  local bindir
  bindir=$(find_bindir)
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

cluster_dir() {
  [ -n "${1:-}" ] && [ -f "$1/port" ] || { echo "test-postgres: $0 $2 DIR: no cluster in '${1:-}'" >&2; exit 2; }
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  restart)
    cluster_dir "${2:-}" restart
    as_owner "$(find_bindir)/pg_ctl" -D "$2/data" -l "$2/server.log" -m fast -w -t 60 restart >/dev/null ;;
  server-stop)
    cluster_dir "${2:-}" server-stop
    as_owner "$(find_bindir)/pg_ctl" -D "$2/data" -m fast -w -t 60 stop >/dev/null ;;
  server-start)
    cluster_dir "${2:-}" server-start
    launch "$2" ;;
  crash-restart)
    cluster_dir "${2:-}" crash-restart
    as_owner "$(find_bindir)/pg_ctl" -D "$2/data" -m immediate -w -t 60 stop >/dev/null
    launch "$2" ;;
  *) echo "usage: $0 start | stop [dir] | restart DIR | server-stop DIR | server-start DIR | crash-restart DIR" >&2; exit 2 ;;
esac
