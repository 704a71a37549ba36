#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: initdb in DIR, a server on a free loopback port,
# a role and a database `uma`. Prints the URL to export as UMA_TEST_POSTGRES_URL.
#
#   scripts/test-postgres.sh start DIR    # prints postgres://uma:uma@127.0.0.1:PORT/uma
#   scripts/test-postgres.sh stop DIR
#
# Needs PostgreSQL's server binaries (Debian: postgresql). As root, the cluster runs as the
# `postgres` user, since PostgreSQL refuses to run as root.
set -euo pipefail
action=${1:?start or stop}
dir=${2:?a directory for the cluster}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -n "$bindir" ] || bindir=$(dirname "$(command -v pg_ctl)")
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case $action in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync >/dev/null
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300" start >/dev/null
    "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
      -c "CREATE ROLE uma LOGIN PASSWORD 'uma'" -c "CREATE DATABASE uma OWNER uma"
    echo "postgres://uma:uma@127.0.0.1:$port/uma"
    ;;
  stop)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  *) echo "start or stop" >&2; exit 2 ;;
esac
