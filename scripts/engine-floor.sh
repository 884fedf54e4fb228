#!/usr/bin/env bash
# The engine alone as a browser build (scripts/engine-floor/: the engine's
# API the lab uses, no UI), optimised as Trunk optimises the app (wasm-opt
# -Oz), then its raw and `gzip -9` bytes: the floor under the lab's
# download size. BENCHMARKS.md ("Download size") records the figure.
set -euo pipefail
cd "$(dirname "$0")/engine-floor"
cargo build --offline --release --target wasm32-unknown-unknown >&2
out=target/pkg
wasm-bindgen --target web --out-dir "$out" target/wasm32-unknown-unknown/release/engine_floor.wasm
../../tests/node_modules/.bin/wasm-opt -Oz "$out/engine_floor_bg.wasm" -o "$out/opt.wasm"
printf '%-6s %10s %10s\n' file raw gzip-9
printf '%-6s %10d %10d\n' wasm "$(wc -c <"$out/opt.wasm")" "$(gzip -9 -c "$out/opt.wasm" | wc -c)"
printf '%-6s %10d %10d\n' js "$(wc -c <"$out/engine_floor.js")" "$(gzip -9 -c "$out/engine_floor.js" | wc -c)"
