#!/usr/bin/env bash
# Engine speed, natively: builds `clusterlab` (release) and runs each scenario
# BENCH_RUNS times (default 5), timing the whole process. Prints a Markdown
# table: events, best and median wall seconds, best and median events/second.
#
#   scripts/bench.sh                      # every engine/scenarios/*.json
#   scripts/bench.sh a.json b.json        # just these
#   BENCH_RUNS=10 scripts/bench.sh
#
# Run by hand; not part of scripts/test.sh. Wall time covers the whole
# process (start, parse, simulate, print the JSON report); the engine runs on
# one thread. On a shared or noisy machine, trust "best" more than "median".
set -euo pipefail
LOG_TAG=bench
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

runs="${BENCH_RUNS:-5}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a whole number of at least 1, got '$runs'"

if (($# > 0)); then
  scenarios=("$@")
else
  scenarios=("$ROOT"/engine/scenarios/*.json)
fi
for f in "${scenarios[@]}"; do
  [[ -f "$f" ]] || die "no such scenario file: $f"
done

log "building clusterlab (release)"
cargo build --release -q -p clusterlab-cli || die "cargo build --release -p clusterlab-cli failed"
bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/clusterlab"
[[ -x "$bin" ]] || die "built, but no binary at $bin"

log "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(rustc --version)"
log "$runs runs per scenario"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Median of numbers on stdin (one a line).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

printf '| scenario | events | best wall (s) | median wall (s) | best events/s | median events/s |\n'
printf '|---|--:|--:|--:|--:|--:|\n'
for f in "${scenarios[@]}"; do
  name="$(basename "$f" .json)"
  : >"$tmp/times"
  events=""
  for ((i = 1; i <= runs; i++)); do
    t0=$(date +%s%N)
    if ! "$bin" run "$f" >"$tmp/report.json" 2>"$tmp/stderr"; then
      log "clusterlab run $f failed (run $i of $runs):"
      sed 's/^/    /' "$tmp/stderr" >&2
      die "benchmark aborted: the CLI failed on $f"
    fi
    t1=$(date +%s%N)
    # The report's top-level "events" (pretty-printed: two-space indent).
    e="$(sed -n 's/^  "events": \([0-9][0-9]*\),$/\1/p' "$tmp/report.json")"
    [[ -n "$e" ]] || die "no \"events\" in the report of $f"
    if [[ -n "$events" && "$e" != "$events" ]]; then
      die "$f: events differ between runs ($events, then $e); the run is not deterministic"
    fi
    events="$e"
    echo $((t1 - t0)) >>"$tmp/times"
  done
  best_ns="$(sort -g "$tmp/times" | head -n1)"
  median_ns="$(median <"$tmp/times")"
  awk -v name="$name" -v ev="$events" -v b="$best_ns" -v m="$median_ns" 'BEGIN {
    printf "| %s | %d | %.3f | %.3f | %.2f M | %.2f M |\n", name, ev, b / 1e9, m / 1e9, ev / (b / 1e9) / 1e6, ev / (m / 1e9) / 1e6
  }'
done
