#!/usr/bin/env bash
# Whole UMA grants per second with each storage, same driver, same run: SQLite (one `uma-as`),
# PostgreSQL with one replica, PostgreSQL with two replicas (one driver per replica, the rates
# summed). `uma-as` processes pinned to core 0, the drivers (examples/grant_load.rs) to core 1,
# PostgreSQL unpinned (on a 2-core machine it shares both); a fresh database per run; storages
# interleaved over ROUNDS rounds of SECONDS. Needs UMA_TEST_POSTGRES_URL (a database the role may
# create schemas in; scripts/test-postgres.sh makes one). Prints Markdown rows; see BENCHMARKS.md.
#
# UMA_AS_BIN runs another build of `uma-as` (e.g. an older commit's, for a before/after).
#
#   scripts/storage-load.sh [ROUNDS] [SECONDS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-10}
concurrency=${3:-32}
: "${UMA_TEST_POSTGRES_URL:?set it to a PostgreSQL database (see scripts/test-postgres.sh)}"
cargo build --release -q -p uma-as-core --bin uma-as
cargo build --release -q --example grant_load

dir=$(mktemp -d)
servers=()
trap 'kill "${servers[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat > "$dir/uma-as.toml" <<'TOML'
issuer = "http://uma.test"
password_grant = true
TOML
cat scripts/bench-parties.toml >> "$dir/uma-as.toml"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# A fresh schema in the PostgreSQL database, as a URL.
fresh_schema() {
  local schema="bench_$(date +%s%N)"
  psql -q "$UMA_TEST_POSTGRES_URL" -c "CREATE SCHEMA $schema"
  case $UMA_TEST_POSTGRES_URL in *\?*) sep='&' ;; *) sep='?' ;; esac
  echo "${UMA_TEST_POSTGRES_URL}${sep}options[search_path]=$schema"
}
started=
start() { # storage -> sets $started to the URL of a started replica
  local port; port=$(free_port)
  RUST_LOG=warn taskset -c 0 "${UMA_AS_BIN:-target/release/uma-as}" --config "$dir/uma-as.toml" \
    --listen "127.0.0.1:$port" --storage "$1" >/dev/null &
  servers+=($!)
  until curl -sf "http://127.0.0.1:$port/jwks" >/dev/null; do sleep 0.1; done
  started="http://127.0.0.1:$port"
}
stop_all() { kill "${servers[@]}" 2>/dev/null || true; wait "${servers[@]}" 2>/dev/null || true; servers=(); }
drive() { # url... -> summed grants per second, one driver per replica
  local pids=() total=0 n=0
  for url in "$@"; do
    n=$(( n + 1 ))
    taskset -c 1 target/release/examples/grant_load "$url" "$seconds" $(( concurrency / $# )) \
      > "$dir/rate.$n" &
    pids+=($!)
  done
  wait "${pids[@]}"
  for i in $(seq "$n"); do total=$(( total + $(cat "$dir/rate.$i") )); done
  echo "$total"
}

echo "| round | SQLite, 1 process | PostgreSQL, 1 replica | PostgreSQL, 2 replicas |"
echo "|---:|---:|---:|---:|"
for round in $(seq "$rounds"); do
  rm -f "$dir"/state.db*
  start "sqlite:$dir/state.db"; sqlite=$(drive "$started"); stop_all
  pg=$(fresh_schema)
  start "$pg"; one=$(drive "$started"); stop_all
  pg=$(fresh_schema)
  start "$pg"; a=$started; start "$pg"; two=$(drive "$a" "$started"); stop_all
  echo "| $round | $sqlite | $one | $two |"
done
