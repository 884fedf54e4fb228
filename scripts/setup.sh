#!/usr/bin/env bash
# Install whatever this project's build and tests need and is missing, at the
# right version; skip everything already in place (a second run takes seconds).
#   - Rust target wasm32-unknown-unknown (+ rustfmt, clippy from rust-toolchain.toml)
#   - trunk 0.21.14                         (cargo install --locked)
#   - wasm-bindgen-cli = version in Cargo.lock (cargo install, NOT --locked)
#   - npm deps in tests/ (playwright-core, binaryen's wasm-opt, axe-core): npm ci
#     when node_modules is missing or package-lock.json changed
#   - Debian packages chromium chromium-driver haproxy redis-server
#   - crates for the workspace (cargo fetch), since Trunk builds offline
# Only registries are used: crates.io, npm, Debian. Nothing is downloaded
# from anywhere else (no Trunk tool download, no `playwright install`).
set -euo pipefail
LOG_TAG=setup
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

TRUNK_VERSION=0.21.14
APT_PACKAGES=(chromium chromium-driver haproxy redis-server)
t_start=$SECONDS

# --- Debian packages -------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    :
  else
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  log "apt: installing ${missing[*]} (apt-get update first)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q "${missing[@]}"
else
  log "apt: skip, already installed: ${APT_PACKAGES[*]}"
fi

# --- Rust toolchain pieces -------------------------------------------------
command -v rustup >/dev/null || die "rustup not found (expected rustup's stable toolchain)"
command -v cargo >/dev/null || die "cargo not found"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup: skip, target wasm32-unknown-unknown present"
else
  log "rustup: adding target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
installed_components="$(rustup component list --installed)"
for c in rustfmt clippy; do
  if grep -q "^$c" <<<"$installed_components"; then
    log "rustup: skip, component $c present"
  else
    log "rustup: adding component $c"
    rustup component add "$c"
  fi
done

# --- trunk -------------------------------------------------------------------
have_trunk="$(trunk --version 2>/dev/null | awk '{print $2}' || true)"
if [[ "$have_trunk" == "$TRUNK_VERSION" ]]; then
  log "trunk: skip, $TRUNK_VERSION installed"
else
  log "trunk: installing $TRUNK_VERSION (found: ${have_trunk:-none}); ~10-15 min of compiling"
  cargo install --locked "trunk@$TRUNK_VERSION"
  [[ "$(trunk --version | awk '{print $2}')" == "$TRUNK_VERSION" ]] || die "trunk install did not give $TRUNK_VERSION"
fi

# --- wasm-bindgen-cli, same version as the wasm-bindgen crate in Cargo.lock ---
WBG_VERSION="$(awk '
  /^\[\[package\]\]/ { in_wbg = 0 }
  /^name = "wasm-bindgen"$/ { in_wbg = 1; next }
  in_wbg && /^version = / { gsub(/"/, "", $3); print $3; exit }
' Cargo.lock)"
[[ -n "$WBG_VERSION" ]] || die "no wasm-bindgen package found in Cargo.lock"
have_wbg="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [[ "$have_wbg" == "$WBG_VERSION" ]]; then
  log "wasm-bindgen-cli: skip, $WBG_VERSION installed (matches Cargo.lock)"
else
  log "wasm-bindgen-cli: installing $WBG_VERSION to match Cargo.lock (found: ${have_wbg:-none}); ~5 min"
  # No --locked: one of its locked dependency versions is not on crates.io.
  cargo install "wasm-bindgen-cli@$WBG_VERSION"
  [[ "$(wasm-bindgen --version | awk '{print $2}')" == "$WBG_VERSION" ]] || die "wasm-bindgen-cli install did not give $WBG_VERSION"
fi

# --- npm deps for the browser tests and wasm-opt ------------------------------
command -v node >/dev/null || die "node not found (expected Node 20 with npm)"
command -v npm >/dev/null || die "npm not found"
stamp_file="$ROOT/tests/node_modules/.clusterlab-setup-stamp"
want_stamp="$(sha256sum <"$ROOT/tests/package-lock.json" | cut -d' ' -f1) node-$(node --version)"
if [[ -d "$ROOT/tests/node_modules" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$want_stamp" ]]; then
  log "npm: skip, tests/node_modules up to date with package-lock.json"
else
  log "npm: npm ci in tests/ (node_modules missing or package-lock.json changed)"
  (cd "$ROOT/tests" && npm ci --no-audit --no-fund)
  printf '%s\n' "$want_stamp" >"$stamp_file"
fi
wasm_opt="$(command -v wasm-opt || true)"
[[ "$wasm_opt" == "$ROOT/tests/node_modules/.bin/wasm-opt" ]] \
  || die "wasm-opt on PATH is '$wasm_opt', expected tests/node_modules/.bin/wasm-opt"
log "wasm-opt: $("$wasm_opt" --version) from npm binaryen"

# --- crates (Trunk runs cargo with --offline) --------------------------------
log "cargo: fetch crates for the workspace (no-op when cached)"
cargo fetch --quiet

log "setup complete in $((SECONDS - t_start))s"
