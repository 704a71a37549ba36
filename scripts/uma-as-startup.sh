#!/usr/bin/env bash
# Start-up time and idle memory of the release `uma-as` binary with SQLite storage.
#   scripts/uma-as-startup.sh [RUNS]
# UMA_AS_BIN=PATH measures that binary instead of building this tree's.
# Start-up: from exec to the "uma-as listening" log line (a fresh database each run, so the
# signing key is generated and the schema migrated: the slowest start). Memory: VmRSS once idle.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
bin=${UMA_AS_BIN:-target/release/uma-as}
[ -n "${UMA_AS_BIN:-}" ] || cargo build -q --release -p uma-as-core --bin uma-as
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
times=()
rss=()
for i in $(seq "$runs"); do
  fifo="$dir/out$i"
  mkfifo "$fifo"
  start=$(date +%s%N)
  RUST_LOG=info NO_COLOR=1 "$bin" --listen 127.0.0.1:0 --storage "sqlite:$dir/db$i.sqlite" >"$fifo" &
  pid=$!
  while read -r line; do
    case "$line" in *"uma-as listening"*) break ;; esac
  done <"$fifo"
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000 )))
  sleep 1 # idle: let the allocator settle before reading the resident set
  rss+=($(awk '/VmRSS/ {print $2}' "/proc/$pid/status"))
  kill -TERM "$pid"
  wait "$pid" || true
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "start-up to listening, median of $runs: $(median "${times[@]}") µs"
echo "idle resident memory, median of $runs: $(median "${rss[@]}") KiB"
