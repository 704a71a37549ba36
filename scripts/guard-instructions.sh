#!/usr/bin/env bash
# Instructions the guard adds per request, counted by callgrind (uma-rs-guard/benches/
# instructions.rs): REQUESTS requests without the guard, with a cached local-JWT answer and with
# a cached introspection answer. Deterministic to a few instructions, unlike timings here; the
# headline timings stay those of scripts/guard-load.sh.
#
#   scripts/guard-instructions.sh [REQUESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-10000}
command -v valgrind >/dev/null || { echo "needs valgrind (Debian package valgrind)" >&2; exit 1; }
binary=$(cargo bench -p uma-rs-guard --bench instructions --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "instructions" and m.get("executable"):
        print(m["executable"])')
count() { # case
  valgrind --tool=callgrind --toggle-collect='*measured*' --callgrind-out-file=/dev/null \
    "$binary" "$1" "$requests" 2>&1 | awk '/Collected :/ {print $NF}'
}
bare=$(count bare)
echo "| case | instructions per request | added by the guard |"
echo "|---|---:|---:|"
echo "| without the guard | $(( bare / requests )) | — |"
for case in jwt introspection; do
  ir=$(count "$case")
  echo "| $case, cached | $(( ir / requests )) | $(( (ir - bare) / requests )) |"
done
