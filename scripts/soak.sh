#!/usr/bin/env bash
# The soak: GRANTS whole UMA grants against the `uma-as` release binary on SQLite (every write
# durable), with short lifetimes (tickets 5 s, RPTs 60 s, RPT refresh tokens 120 s, decisions
# kept 10 minutes), so that the database reaches its steady state. The server is pinned to core
# 0, the driver (examples/grant_load.rs --soak) to core 1. Prints the database's size, the
# server's memory and the grant latency every 10 s; see BENCHMARKS.md.
#
# With RATE, a grant is due every 1/RATE s (open loop, at most CONCURRENCY in flight) and its
# latency counts from when it was due; without, CONCURRENCY grants run back to back, saturating
# the server.
#
#   scripts/soak.sh [GRANTS] [CONCURRENCY] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
grants=${1:-1000000}
concurrency=${2:-16}
rate=${3:-}
cargo build --release -q -p uma-as-core --bin uma-as
cargo build --release -q --example grant_load

dir=$(mktemp -d)
server=
trap 'kill "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat > "$dir/uma-as.toml" <<'TOML'
password_grant = true
ticket_lifetime = 5
rpt_lifetime = 60
rpt_refresh_tokens = true
refresh_token_lifetime = 120
decision_retention = 600
TOML
cat scripts/bench-parties.toml >> "$dir/uma-as.toml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
RUST_LOG=warn taskset -c 0 target/release/uma-as --config "$dir/uma-as.toml" \
  --listen "127.0.0.1:$port" --storage "sqlite:$dir/state.db" &
server=$!
until curl -sf "$url/jwks" >/dev/null; do sleep 0.1; done
echo "soak of $grants grants, $concurrency at a time${rate:+, $rate a second}, $(date -u +%F) at $(git rev-parse --short HEAD)"
taskset -c 1 target/release/examples/grant_load --soak "$url" "$grants" "$concurrency" \
  "$dir/state.db" "$server" $rate
