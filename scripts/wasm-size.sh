#!/usr/bin/env bash
# The browser build's download size: builds dist/ as the site ships it
# (`trunk build --release`: wasm-release profile, wasm-opt) unless --no-build,
# then prints each file's raw and `gzip -9` bytes. BENCHMARKS.md
# ("Download size") records these figures.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--no-build" ]; then
  PATH="$PWD/tests/node_modules/.bin:$PATH" trunk build --release >&2
fi
total_raw=0
total_gz=0
printf '%-8s %10s %10s\n' file raw gzip-9
for f in dist/*.wasm dist/*.js; do
  raw=$(wc -c <"$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  total_raw=$((total_raw + raw))
  total_gz=$((total_gz + gz))
  printf '%-8s %10d %10d\n' "${f##*.}" "$raw" "$gz"
done
printf '%-8s %10d %10d\n' total "$total_raw" "$total_gz"
