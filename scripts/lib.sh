# shellcheck shell=bash
# Shared helpers for scripts/*.sh. Source it; do not run it.
#   ROOT      repo root
#   log/step  uniform log lines ("[setup] ...")
#   PATH      cargo bin dir + tests/node_modules/.bin (wasm-opt from npm binaryen)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

# cargo-installed tools (trunk, wasm-bindgen) live here on a rustup machine.
if [[ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]]; then
  PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
# wasm-opt for Trunk comes from the npm package `binaryen` (Debian's binaryen
# is too old and produces wasm that fails in the browser), so it goes first.
PATH="$ROOT/tests/node_modules/.bin:$PATH"
export PATH

# Trunk must never touch the network by itself: no update check (the
# Trunk.toml `offline = true` also stops tool downloads and passes --offline
# to cargo, which is why setup.sh runs `cargo fetch`).
export TRUNK_SKIP_VERSION_CHECK=true

LOG_TAG="${LOG_TAG:-$(basename "$0" .sh)}"

log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# step NAME CMD...: run CMD, log its wall time, return its exit code
# (explicitly: `set -e` does not apply inside an `if`/`||` condition).
step() {
  local name="$1"; shift
  local t0=$SECONDS rc=0
  log "== $name"
  "$@" || rc=$?
  if ((rc == 0)); then log "== $name: ok in $((SECONDS - t0))s"
  else log "== $name: FAILED (exit $rc) in $((SECONDS - t0))s"
  fi
  return "$rc"
}

# Run a command as root (directly, or through sudo when not root).
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root for: $*"
  fi
}
