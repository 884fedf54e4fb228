#!/usr/bin/env bash
# Consistency checker speed: whole-process time of
# `clusterlab check --format jepsen-etcd` over the 102 Jepsen etcd histories
# (release build), BENCH_RUNS times (default 10), best and median; then the
# per-key against unpartitioned kv comparison; with --wasm, the same 102
# histories checked by the checker compiled to WebAssembly, under Node.
#
#   scripts/bench-checker.sh [--wasm] [DIR]    (DIR: ../shared/data/jepsen-etcd)
#
# Run by hand; not part of scripts/test.sh.
set -euo pipefail
LOG_TAG=bench-checker
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

wasm=0
if [[ "${1:-}" == "--wasm" ]]; then
  wasm=1
  shift
fi
dir="${1:-$ROOT/../shared/data/jepsen-etcd}"
[[ -f "$dir/expected.tsv" ]] || die "no expected.tsv in $dir"
runs="${BENCH_RUNS:-10}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a whole number of at least 1, got '$runs'"

log "building clusterlab (release)"
cargo build --release -q -p clusterlab-cli || die "cargo build --release -p clusterlab-cli failed"
bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/clusterlab"
log "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(rustc --version), load $(cut -d' ' -f1-3 /proc/loadavg)"

mapfile -t files < <(tail -n +2 "$dir/expected.tsv" | cut -f1 | sed "s|^|$dir/|")
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/times"
for ((i = 1; i <= runs; i++)); do
  t0=$(date +%s%N)
  "$bin" check --format jepsen-etcd "${files[@]}" >"$tmp/out.jsonl" || die "clusterlab check failed"
  t1=$(date +%s%N)
  echo "$(((t1 - t0) / 1000))" >>"$tmp/times"
done
# Every verdict as expected.
paste <(tail -n +2 "$dir/expected.tsv" | cut -f2) <(sed -n 's/.*"linearizable":\([a-z]*\).*/\1/p' "$tmp/out.jsonl") |
  awk -F'\t' '$1 != $2 { bad++ } END { exit bad > 0 }' || die "a verdict differs from expected.tsv"
sort -n "$tmp/times" | awk -v n="$runs" '{ v[NR] = $1 } END {
  printf "clusterlab check --format jepsen-etcd, %d files, %d runs: best %.1f ms, median %.1f ms (whole process)\n",
    '"${#files[@]}"', n, v[1] / 1000, (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) / 1000 }'

log "per key against unpartitioned (kv, 50 clients, 20 keys)"
cargo run --release -q -p clusterlab-checker --example kv_partitions

if ((wasm)); then
  log "building the checker for wasm32"
  cargo build --release -q --target wasm32-unknown-unknown -p clusterlab-checker --example wasm_etcd ||
    die "the wasm build failed"
  node "$ROOT/scripts/bench-checker-wasm.mjs" \
    "${CARGO_TARGET_DIR:-$ROOT/target}/wasm32-unknown-unknown/release/examples/wasm_etcd.wasm" "$dir"
fi
