#!/usr/bin/env bash
# The guard with a cold cache: COUNT distinct JWT RPTs (100,000 by default, each minted by a
# whole UMA grant before the load) cycle through `/jwt` of examples/guard_server.rs (release,
# pinned to core 0), loaded by wrk (pinned to core 1, 32 connections) with a Lua script that sends
# them in turn. Run once with the default cache (10,000 answers: nearly every request is a miss,
# judged by an Ed25519 signature check) and once with a cache as large as the set (100,000: every
# request after the first pass is a hit). Prints requests/s per round and the server's resident
# memory (VmRSS) after minting and after each round, and its peak (VmHWM). The authorization
# server that minted the RPTs lives in the same process and keeps them (most of the memory after
# minting); the guard's share is the growth from there. A first row loads the unguarded route with
# the same requests: the ceiling of this Lua-driven load generator and server.
#
#   scripts/guard-cold.sh [ROUNDS] [SECONDS] [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-10}
count=${3:-100000}
command -v wrk >/dev/null || { echo "needs wrk (Debian package wrk)" >&2; exit 1; }
cargo build --release -q --example guard_server

tmp=$(mktemp -d)
server=
trap 'kill "$server" 2>/dev/null || true; rm -rf "$tmp"' EXIT
cat > "$tmp/cycle.lua" <<'LUA'
local tokens = {}
for line in io.lines(os.getenv("RPTS")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", os.getenv("ROUTE"), {["Authorization"] = "Bearer " .. tokens[i]})
end
LUA
memory() { # field
  awk -v f="$1:" '$1 == f {printf "%.0f", $2 / 1024}' "/proc/$server/status"
}

echo "| cache entries | round | requests/s | VmRSS MiB after the round |"
echo "|---:|---:|---:|---:|"
for entries in 10000 "$count"; do
  started=$(date +%s)
  RUST_LOG=warn taskset -c 0 target/release/examples/guard_server "$tmp/rpts" "$count" "$entries" \
    > "$tmp/out" &
  server=$!
  until grep -q '^READY ' "$tmp/out"; do
    kill -0 "$server" 2>/dev/null || { echo "guard_server stopped" >&2; exit 1; }
    sleep 0.5
  done
  read -r _ addr _ < <(grep '^READY ' "$tmp/out")
  echo "| $entries | minted $count RPTs in $(( $(date +%s) - started )) s | — | $(memory VmRSS) |"
  # The same requests to the unguarded route: what the Lua-driven wrk and the server manage
  # without the guard, the ceiling for the rows below.
  rate=$(ROUTE=/bare RPTS="$tmp/rpts" taskset -c 1 wrk -t1 -c32 -d"${seconds}s" -s "$tmp/cycle.lua" \
    "http://$addr/bare" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  echo "| $entries | /bare, same requests | $rate | $(memory VmRSS) |"
  for round in $(seq "$rounds"); do
    rate=$(ROUTE=/jwt RPTS="$tmp/rpts" taskset -c 1 wrk -t1 -c32 -d"${seconds}s" -s "$tmp/cycle.lua" \
      "http://$addr/jwt" | awk '/Requests\/sec/ {printf "%.0f", $2}')
    echo "| $entries | $round | $rate | $(memory VmRSS) |"
  done
  echo "| $entries | peak | — | $(memory VmHWM) |"
  non2xx=$(ROUTE=/jwt RPTS="$tmp/rpts" taskset -c 1 wrk -t1 -c4 -d1s -s "$tmp/cycle.lua" "http://$addr/jwt" \
    | awk '/Non-2xx/ {print $NF}')
  [ -z "$non2xx" ] || { echo "refusals: $non2xx non-2xx answers" >&2; exit 1; }
  kill "$server"; wait "$server" 2>/dev/null || true
done
