#!/usr/bin/env bash
# The owner's console under an owner with 1,000 resources and 10,000 decisions: seeds a SQLite
# database (examples/console_load.rs), serves it with the release `uma-as` pinned to core 0,
# and times each page from core 1, one request at a time. See BENCHMARKS.md.
#
#   scripts/console-load.sh [ROUNDS] [REQUESTS PER PAGE PER ROUND]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
requests=${2:-200}
cargo build --release -q -p uma-as-core --bin uma-as
cargo build --release -q --example console_load

dir=$(mktemp -d)
server=
trap 'kill "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
cp scripts/bench-parties.toml "$dir/uma-as.toml"
target/release/examples/console_load seed "$dir/state.db"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
RUST_LOG=warn taskset -c 0 target/release/uma-as --config "$dir/uma-as.toml" \
  --listen "127.0.0.1:$port" --storage "sqlite:$dir/state.db" &
server=$!
until curl -sf "$url/jwks" >/dev/null; do sleep 0.1; done
echo "console pages, $rounds rounds of $requests requests each, $(date -u +%F) at $(git rev-parse --short HEAD)"
taskset -c 1 target/release/examples/console_load time "$url" "$rounds" "$requests"
