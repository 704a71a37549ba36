#!/usr/bin/env bash
# GET /jwks latency while 8 clients sign in through the password grant in a loop: the `uma-as`
# release binary pinned to core 0, the driver (examples/guessing_load.rs) to core 1, the modes
# interleaved over ROUNDS rounds of SECONDS each. Prints Markdown rows; see BENCHMARKS.md.
#
#   scripts/guessing-load.sh [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-10}

cargo build --release -q -p uma-as-core --bin uma-as
cargo build --release -q --example guessing_load

dir=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
{
  echo 'password_grant = true'
  for i in 1 2 3 4 5 6 7 8; do
    printf '[[clients]]\nclient_id = "app-%s"\nclient_secret = "secret-%s"\n' "$i" "$i"
  done
  for i in 1 2 3 4 5 6 7 8; do
    printf '[[users]]\nusername = "user-%s"\npassword = "password-%s"\n' "$i" "$i"
  done
} > "$dir/uma-as.toml"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The server is restarted for each run, so that no run inherits another's throttle state.
start_server() {
  RUST_LOG=warn taskset -c 0 target/release/uma-as --config "$dir/uma-as.toml" \
    --listen "127.0.0.1:$port" --storage memory &
  server=$!
  until curl -sf "http://127.0.0.1:$port/jwks" >/dev/null; do sleep 0.1; done
}

echo "| mode | probes | median ms | p90 ms | p99 ms | max ms | sign-ins 200 | 400 | 429 |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for round in $(seq "$rounds"); do
  for mode in idle wrong right; do
    start_server
    taskset -c 1 target/release/examples/guessing_load "http://127.0.0.1:$port" "$mode" "$seconds"
    kill "$server"; wait "$server" 2>/dev/null || true
  done
done
