#!/usr/bin/env bash
# Everything CI checks, in order; exits non-zero if anything fails.
#   1. setup (installs only what is missing)
#   2. formatting and lints; cargo test natively: engine + cli, then the app crate
#   3. the release CLI, and trunk build --release -> dist/
#   4. serve dist/ on a free 127.0.0.1 port; browser tests (tests/e2e/*.test.mjs)
set -euo pipefail
LOG_TAG=test
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
t_start=$SECONDS

step "setup" "$ROOT/scripts/setup.sh"

failed=()
# Run a check; on failure note it and go on, so one run reports everything.
check() {
  local name="$1"
  step "$@" || { failed+=("$name"); return 1; }
}

check "cargo fmt --check" cargo fmt --all --check || true
check "cargo clippy" cargo clippy --workspace --all-targets -q -- -D warnings || true
check "cargo test: engine + cli" cargo test --workspace --exclude clusterlab-app || true
# The app is a Leptos CSR crate; it also compiles and runs its unit tests on
# the host (pure logic needs no browser).
check "cargo test: app (native)" cargo test -p clusterlab-app || true

report_wasm_size() {
  local w
  local wasm_files=("$ROOT"/dist/*.wasm)
  [[ -f "${wasm_files[0]}" ]] || { log "no .wasm in dist/"; return 1; }
  for w in "${wasm_files[@]}"; do
    log "wasm: $(basename "$w"): $(stat -c %s "$w") bytes raw, $(gzip -9 -c "$w" | wc -c) bytes gzip -9"
  done
}

run_browser_tests() {
  # Static server on a free port; its first stdout line is "listening URL".
  local server_pid line rc=0
  exec {srv_fd}< <(exec node "$ROOT/tests/serve-dist.mjs" --root "$ROOT/dist" --host 127.0.0.1 --port 0)
  server_pid=$!
  # shellcheck disable=SC2064
  trap "kill $server_pid 2>/dev/null || true" EXIT
  if ! read -r -t 30 line <&"$srv_fd" || [[ "$line" != listening\ * ]]; then
    log "static server did not start (${line:-no output})"
    return 1
  fi
  export BASE_URL="${line#listening }"
  log "serving dist/ at $BASE_URL (pid $server_pid)"
  (cd "$ROOT/tests" && node --test --test-reporter=spec --test-concurrency=1 e2e/*.test.mjs) || rc=$?
  kill "$server_pid" 2>/dev/null || true
  exec {srv_fd}<&-
  trap - EXIT
  return "$rc"
}

# The browser tests compare the Wasm engine's trace hashes with the native
# CLI's, so they need the release CLI too.
check "cargo build --release: clusterlab CLI" cargo build --release -p clusterlab-cli || true
export CLUSTERLAB_BIN="$ROOT/target/release/clusterlab"

if check "trunk build --release" trunk build --release && check "wasm size" report_wasm_size; then
  check "browser tests" run_browser_tests || true
else
  log "skipping browser tests: no app build"
  failed+=("browser tests (not run)")
fi

if ((${#failed[@]})); then
  log "FAILED after $((SECONDS - t_start))s: ${failed[*]}"
  exit 1
fi
log "all checks passed in $((SECONDS - t_start))s"
