#!/usr/bin/env bash
# The guard under load from another process: examples/guard_server.rs (release) pinned to core 0
# serves one hello-world route three times (`/bare` without the guard, `/jwt` with a cached
# local-JWT RPT, `/introspect` with a cached introspected RPT); wrk pinned to core 1 loads each
# route in turn, ROUNDS rounds of SECONDS, 32 connections, every request carrying an RPT (the
# bare route's too, so that the routes differ by the guard's work only).
#
# Two measures per run: requests/s, and the server's CPU time per request (its utime + stime from
# /proc over the run, divided by the requests wrk completed). The second is the steadier one on a
# shared machine: time stolen by the hypervisor or spent waiting on wrk is nobody's CPU time. The
# time the guard adds is, per round, the guarded route's CPU time per request minus the bare
# route's; the ratio to the bare route is given both as a ratio of medians and as the median of
# each round's own ratio (the routes of one round run back to back, so a noisy minute on a shared
# machine weighs on both sides of that round's ratio).
#
#   scripts/guard-load.sh [ROUNDS] [SECONDS] [SERVER_BINARY...]
#
# With several server binaries (say, builds of two commits), all are started and each round loads
# each of them in turn, so that the builds are compared under the same conditions.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-5}
shift $(( $# < 2 ? $# : 2 ))
command -v wrk >/dev/null || { echo "needs wrk (Debian package wrk)" >&2; exit 1; }
if [ $# -eq 0 ]; then
  cargo build --release -q --example guard_server
  set -- target/release/examples/guard_server
fi

tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
declare -a addrs jwts opaques
for i in $(seq 0 $(( $# - 1 ))); do
  binary=${@:$((i + 1)):1}
  RUST_LOG=warn taskset -c 0 "$binary" > "$tmp/out$i" &
  pids+=($!)
  until grep -q '^READY ' "$tmp/out$i"; do
    kill -0 "${pids[$i]}" 2>/dev/null || { echo "$binary stopped" >&2; exit 1; }
    sleep 0.1
  done
  read -r _ addrs[i] jwts[i] opaques[i] < <(grep '^READY ' "$tmp/out$i")
done

cpu_ticks() { # pid: utime + stime, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat"
}

load() { # server-index path rpt: prints "requests/s cpu-µs-per-request"
  local before after
  before=$(cpu_ticks "${pids[$1]}")
  taskset -c 1 wrk -t1 -c32 -d"${seconds}s" -H "Authorization: Bearer $3" \
    "http://${addrs[$1]}/$2" > "$tmp/wrk"
  after=$(cpu_ticks "${pids[$1]}")
  awk -v ticks=$(( after - before )) -v hz="$(getconf CLK_TCK)" '
    / requests in / {requests = $1}
    /Requests\/sec/ {rate = $2}
    END {printf "%.0f %.3f\n", rate, ticks / hz * 1e6 / requests}' "$tmp/wrk"
}

echo "| round | server | /bare /s (CPU µs) | /jwt /s (CPU µs) | /introspect /s (CPU µs) |"
echo "|---:|---|---:|---:|---:|"
for round in $(seq "$rounds"); do
  for i in $(seq 0 $(( $# - 1 ))); do
    read -r bare bare_cpu < <(load "$i" bare "${jwts[$i]}")
    read -r jwt jwt_cpu < <(load "$i" jwt "${jwts[$i]}")
    read -r intro intro_cpu < <(load "$i" introspect "${opaques[$i]}")
    echo "| $round | $i | $bare ($bare_cpu) | $jwt ($jwt_cpu) | $intro ($intro_cpu) |"
    echo "$i $bare $bare_cpu $jwt $jwt_cpu $intro $intro_cpu" >> "$tmp/results"
  done
done
echo
for i in $(seq 0 $(( $# - 1 ))); do echo "server $i: ${@:$((i + 1)):1}"; done
python3 - "$tmp/results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
names = ["/bare", "/jwt (guard, local JWT, cached)", "/introspect (guard, introspected, cached)"]
def spread(values, digits=0):
    f = f"{{:,.{digits}f}}"
    return f"{f.format(statistics.median(values))} ({f.format(min(values))}–{f.format(max(values))})"
print()
print("| server | route | requests/s, median (min–max) | ratio to /bare (medians) | ratio to /bare, per round: median (min–max) | server CPU µs per request | µs added per request (CPU) |")
print("|---|---|---:|---:|---:|---:|---:|")
for server in sorted({r[0] for r in rows}):
    mine = [list(map(float, r[1:])) for r in rows if r[0] == server]
    bare = statistics.median(r[0] for r in mine)
    for i, name in enumerate(names):
        rate = [r[2 * i] for r in mine]
        cpu = [r[2 * i + 1] for r in mine]
        added = "—" if i == 0 else spread([r[2 * i + 1] - r[1] for r in mine], 2)
        paired = "—" if i == 0 else spread([r[2 * i] / r[0] for r in mine], 3)
        print(f"| {server} | {name} | {spread(rate)} | {statistics.median(rate) / bare:.3f} | {paired} | {spread(cpu, 2)} | {added} |")
PY
