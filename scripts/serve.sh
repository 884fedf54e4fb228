#!/usr/bin/env bash
# Build the release app and serve it at http://127.0.0.1:8080 (rebuilds on
# change). PORT=NNNN to use another port; extra args go to `trunk serve`.
set -euo pipefail
LOG_TAG=serve
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/setup.sh"
port="${PORT:-8080}"
log "trunk serve --release on http://127.0.0.1:$port/ (Ctrl-C to stop)"
exec trunk serve --release --address 127.0.0.1 --port "$port" "$@"
