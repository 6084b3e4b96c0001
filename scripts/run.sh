#!/usr/bin/env bash
# Builds the release bundle, starts a local Session-compatible node network (seed + 12 nodes,
# data under .umbra-data/) and the static app server, and prints the URL to open.
# Ctrl-C stops everything. Environment: UMBRA_PORT (default 8080), UMBRA_NODES (default 12).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

PORT="${UMBRA_PORT:-8080}"
NODES="${UMBRA_NODES:-12}"
DATA="${UMBRA_DATA:-.umbra-data}"

trunk build --release
cargo build -p umbra-node --release
NODE_BIN=target/release/umbra-node

mkdir -p "$DATA"
echo
echo "Starting the local node network ($NODES nodes, data in $DATA/) and the app server..."
echo "Open Umbra at the 'app' URL below. Ctrl-C stops everything."
exec "$NODE_BIN" testnet --nodes "$NODES" --data "$DATA" --app-dir dist --app-bind "127.0.0.1:$PORT"
