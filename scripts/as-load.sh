#!/usr/bin/env bash
# The `uma-as` release binary (SQLite, every write durable) under load from its own process:
# the server pinned to core 0, the load generator to core 1; a fresh server and database for each
# run; binaries and rows interleaved over ROUNDS rounds of SECONDS each, 32 connections.
# Rows: GET /jwks and client_credentials (wrk), whole UMA grants (examples/grant_load.rs: a
# permission ticket, then its redemption). Prints one Markdown row per run; see BENCHMARKS.md.
#
#   scripts/as-load.sh [ROUNDS] [SECONDS] [LABEL=PATH-TO-UMA-AS[,SIGNING-ALGORITHM] ...]
#
# With no binaries named, it measures the one built from this tree. A signing algorithm after
# the path (EdDSA or RS256) is set as `signing_algorithm` for that entry's runs.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-5}
shift $(( $# < 2 ? $# : 2 ))
command -v wrk >/dev/null || { echo "needs wrk (Debian package wrk)" >&2; exit 1; }

cargo build --release -q -p uma-as-core --bin uma-as
cargo build --release -q --example grant_load
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=("this tree=target/release/uma-as")

dir=$(mktemp -d)
server=
trap 'kill "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat > "$dir/uma-as.toml" <<'TOML'
password_grant = true
TOML
cat scripts/bench-parties.toml >> "$dir/uma-as.toml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"

start() { # binary [signing algorithm]
  rm -f "$dir"/state.db*
  config="$dir/uma-as.toml"
  if [ -n "${2:-}" ]; then
    config="$dir/uma-as-$2.toml"
    { echo "signing_algorithm = \"$2\""; cat "$dir/uma-as.toml"; } > "$config"
  fi
  RUST_LOG=warn taskset -c 0 "$1" --config "$config" --listen "127.0.0.1:$port" \
    --storage "sqlite:$dir/state.db" &
  server=$!
  until curl -sf "$url/jwks" >/dev/null; do sleep 0.1; done
}
stop() { kill "$server"; wait "$server" 2>/dev/null || true; }
wrk_rps() { taskset -c 1 wrk -t1 -c32 -d"${seconds}s" "$@" | awk '/Requests\/sec/ {printf "%.0f", $2}'; }

echo "| round | binary | GET /jwks /s | client_credentials /s | UMA grants /s |"
echo "|---:|---|---:|---:|---:|"
for round in $(seq "$rounds"); do
  for entry in "${binaries[@]}"; do
    label=${entry%%=*}; binary=${entry#*=}; alg=
    case "$binary" in *,*) alg=${binary#*,}; binary=${binary%%,*} ;; esac
    start "$binary" "$alg"
    jwks=$(wrk_rps "$url/jwks")
    cc=$(wrk_rps -s scripts/wrk/client_credentials.lua "$url/token")
    stop; start "$binary" "$alg"
    grants=$(taskset -c 1 target/release/examples/grant_load "$url" "$seconds" 32)
    stop
    echo "| $round | $label | $jwks | $cc | $grants |"
  done
done
