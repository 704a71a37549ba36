#!/usr/bin/env bash
# The guard under load from another process: examples/guard_server.rs (release) pinned to core 0
# serves one hello-world route three times (`/bare` without the guard, `/jwt` with a cached
# local-JWT RPT, `/introspect` with a cached introspected RPT); wrk pinned to core 1 loads each
# route in turn, ROUNDS rounds of SECONDS, 32 connections, every request carrying an RPT (the
# bare route's too, so that the routes differ by the guard's work only). Prints one Markdown row
# per run, then each route's median and range, its ratio to the bare route, and the time the
# guard adds per request (1/rate minus the bare route's 1/rate: the server has one core).
#
#   scripts/guard-load.sh [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-5}
command -v wrk >/dev/null || { echo "needs wrk (Debian package wrk)" >&2; exit 1; }
cargo build --release -q --example guard_server

out=$(mktemp)
server=
trap 'kill "$server" 2>/dev/null || true; rm -f "$out"' EXIT
RUST_LOG=warn taskset -c 0 target/release/examples/guard_server > "$out" &
server=$!
until grep -q '^READY ' "$out"; do
  kill -0 "$server" 2>/dev/null || { echo "guard_server stopped" >&2; exit 1; }
  sleep 0.1
done
read -r _ addr jwt opaque < <(grep '^READY ' "$out")

rate() { # path rpt
  taskset -c 1 wrk -t1 -c32 -d"${seconds}s" -H "Authorization: Bearer $2" "http://$addr/$1" \
    | awk '/Requests\/sec/ {printf "%.0f", $2}'
}

results=$(mktemp)
echo "| round | /bare /s | /jwt /s | /introspect /s |"
echo "|---:|---:|---:|---:|"
for round in $(seq "$rounds"); do
  bare=$(rate bare "$jwt"); local_jwt=$(rate jwt "$jwt"); introspected=$(rate introspect "$opaque")
  echo "| $round | $bare | $local_jwt | $introspected |"
  echo "$bare $local_jwt $introspected" >> "$results"
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [list(map(float, line.split())) for line in open(sys.argv[1])]
names = ["/bare", "/jwt (guard, local JWT, cached)", "/introspect (guard, introspected, cached)"]
bare = statistics.median(r[0] for r in rows)
print()
print("| route | requests/s, median (min–max) | ratio to /bare | µs added per request |")
print("|---|---:|---:|---:|")
for i, name in enumerate(names):
    column = [r[i] for r in rows]
    median = statistics.median(column)
    # Per round, the guarded route's cost per request minus the bare route's, on one core.
    added = [1e6 / r[i] - 1e6 / r[0] for r in rows]
    added_text = "—" if i == 0 else f"{statistics.median(added):.2f} ({min(added):.2f}–{max(added):.2f})"
    print(f"| {name} | {median:,.0f} ({min(column):,.0f}–{max(column):,.0f}) | {median / bare:.3f} | {added_text} |")
PY
rm -f "$results"
