#!/usr/bin/env bash
# Bytes of SQLite database per UMA grant: the `uma-as` release binary on a fresh file, whole
# grants (examples/grant_load.rs) for SECONDS, then the file's growth divided by the grants it
# recorded (every row of every grant still live: nothing has expired yet), and where the bytes
# went (SQLite's dbstat). See BENCHMARKS.md.
#
#   scripts/bytes-per-grant.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
command -v sqlite3 >/dev/null || { echo "needs sqlite3 (Debian package sqlite3)" >&2; exit 1; }
cargo build --release -q -p uma-as-core --bin uma-as
cargo build --release -q --example grant_load

dir=$(mktemp -d)
server=
trap 'kill "$server" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
cat > "$dir/uma-as.toml" <<'TOML'
password_grant = true
TOML
cat scripts/bench-parties.toml >> "$dir/uma-as.toml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
RUST_LOG=warn target/release/uma-as --config "$dir/uma-as.toml" --listen "127.0.0.1:$port" \
  --storage "sqlite:$dir/state.db" &
server=$!
until curl -sf "$url/jwks" >/dev/null; do sleep 0.1; done
# Setup rows (clients' tokens, the resource, the policy) are made before the baseline.
target/release/examples/grant_load "$url" 1 1 >/dev/null
kill "$server"; wait "$server" 2>/dev/null || true
sqlite3 "$dir/state.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
before=$(stat -c %s "$dir/state.db")
grants_before=$(sqlite3 "$dir/state.db" "SELECT count(*) FROM decisions")

RUST_LOG=warn target/release/uma-as --config "$dir/uma-as.toml" --listen "127.0.0.1:$port" \
  --storage "sqlite:$dir/state.db" &
server=$!
until curl -sf "$url/jwks" >/dev/null; do sleep 0.1; done
target/release/examples/grant_load "$url" "$seconds" 16 >/dev/null
kill "$server"; wait "$server" 2>/dev/null || true
sqlite3 "$dir/state.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
after=$(stat -c %s "$dir/state.db")
grants=$(( $(sqlite3 "$dir/state.db" "SELECT count(*) FROM decisions") - grants_before ))
echo "database: $dir/state.db" >&2
echo "grants: $grants; file: $before -> $after bytes; $(( (after - before) / grants )) bytes per grant"
echo "| table or index | bytes per grant |"
echo "|---|---:|"
sqlite3 -separator ' ' "$dir/state.db" \
  "SELECT name, sum(pgsize) FROM dbstat GROUP BY name HAVING sum(pgsize) > 40960 ORDER BY 2 DESC" |
  while read -r name bytes; do echo "| $name | $(( bytes / grants )) |"; done
