#!/usr/bin/env bash
# The whole UMA flow (permission request + UMA grant) under load across many owners, resources and
# parties: `uma-as` (release, SQLite on disk, every write durable) pinned to core 0, the driver
# (examples/flow_load.rs) pinned to core 1, CONCURRENCY flows at a time for SECONDS after a 2-s
# warm-up, each on a resource and party chosen at random. The data set (RESOURCES resources of
# OWNERS owners, each shared with 10 of PARTIES parties) is seeded once into a database that each
# round copies, so that every round starts from the same state on a fresh server. Prints one
# Markdown row per round, then the median and range of each column (p99.9 rests on some 30
# flows of a 10-s round at 3,000 flows/s: it shows the stalls p99 can hide); the CPU column is the
# server's CPU time per counted flow (from /proc, which the hypervisor's steal does not inflate
# as it does the rate). The last column gauges the hour: the same server's discovery document
# (`GET /.well-known/uma2-configuration`, wrk pinned to core 1, 32 connections, 2 s, just before
# the flows), the yardstick issue #13 gave beside its own figures (43,000–48,000/s).
#
#   scripts/as-flow.sh [ROUNDS] [SECONDS] [CONCURRENCY] [RESOURCES] [OWNERS] [PARTIES] [SERVER_BINARY...]
#
# With server binaries named (say, builds of two commits), each round runs each of them in turn,
# so that before and after meet the same hour of this shared machine; the summary has one row per
# binary. Without, it builds and runs this checkout's `uma-as`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "needs wrk (Debian package wrk)" >&2; exit 1; }
rounds=${1:-5}
seconds=${2:-10}
concurrency=${3:-32}
resources=${4:-100000}
owners=${5:-1000}
parties=${6:-100}
binaries=("${@:7}")

if [ ${#binaries[@]} -eq 0 ]; then
  cargo build --release -q -p uma-as-core --bin uma-as
  binaries=(target/release/uma-as)
fi
cargo build --release -q --example flow_load
dir=$(mktemp -d)
server=
trap 'kill "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT

seeding=$(date +%s)
{ echo "password_grant = true"; cat scripts/bench-parties.toml; } > "$dir/uma-as.toml"
target/release/examples/flow_load --seed "$dir/seed.db" "$resources" "$owners" "$parties" \
  >> "$dir/uma-as.toml"
echo "seeded $resources resources of $owners owners for $parties parties in $(( $(date +%s) - seeding )) s"
echo
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"

echo "| round | server | whole flows/s | p50 ms | p99 ms | p99.9 ms | server CPU µs/flow | discovery GET/s |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
for round in $(seq "$rounds"); do
  for binary in "${binaries[@]}"; do
    rm -f "$dir"/state.db*
    # The seed's last writes may still be in its write-ahead log: copy both.
    cp "$dir/seed.db" "$dir/state.db"
    [ ! -f "$dir/seed.db-wal" ] || cp "$dir/seed.db-wal" "$dir/state.db-wal"
    RUST_LOG=warn taskset -c 0 "$binary" --config "$dir/uma-as.toml" \
      --listen "127.0.0.1:$port" --storage "sqlite:$dir/state.db" &
    server=$!
    until curl -sf "$url/jwks" >/dev/null; do sleep 0.1; done
    discovery=$(taskset -c 1 wrk -t1 -c32 -d2s "$url/.well-known/uma2-configuration" \
      | awk '/Requests\/sec/ {printf "%.0f", $2}')
    read -r rate p50 p99 p999 cpu < <(taskset -c 1 target/release/examples/flow_load \
      "$url" "$seconds" "$concurrency" "$resources" "$parties" "$server")
    echo "| $round | $binary | $rate | $p50 | $p99 | $p999 | $cpu | $discovery |"
    echo "$binary $rate $p50 $p99 $p999 $cpu $discovery" >> "$dir/results"
    kill "$server"; wait "$server" 2>/dev/null || true
  done
done
python3 - "$dir/results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
print()
print("| server | whole flows/s | p50 ms | p99 ms | p99.9 ms | server CPU µs/flow | discovery GET/s |")
print("|---|---:|---:|---:|---:|---:|---:|")
for binary in dict.fromkeys(r[0] for r in rows):
    mine = [list(map(float, r[1:])) for r in rows if r[0] == binary]
    cells = []
    for i in range(6):
        column = [r[i] for r in mine]
        digits = 0 if i in (0, 4, 5) else 1
        f = f"{{:,.{digits}f}}"
        cells.append(f"{f.format(statistics.median(column))} ({f.format(min(column))}–{f.format(max(column))})")
    print(f"| {binary}: median (min–max) of {len(mine)} rounds | " + " | ".join(cells) + " |")
PY
