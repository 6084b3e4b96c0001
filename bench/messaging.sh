#!/usr/bin/env bash
# Builds what bench/messaging.mjs needs if missing (the release node binary and the release
# bundle in dist/), then runs it. Extra environment (N, NODES, UMBRA_NODE_BIN, DIST_DIR) passes on.
# Usage: bench/messaging.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ -d node_modules/playwright-core ] || npm ci
if [ -z "${UMBRA_NODE_BIN:-}" ] && [ ! -x target/release/umbra-node ]; then
  cargo build -p umbra-node --release
fi
if [ -z "${DIST_DIR:-}" ] && [ ! -f dist/index.html ]; then
  trunk build --release
fi
exec node bench/messaging.mjs
