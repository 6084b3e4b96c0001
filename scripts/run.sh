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
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

fifo="$(mktemp -u)"; mkfifo "$fifo"
"$NODE_BIN" testnet --nodes "$NODES" --data "$DATA" >"$fifo" &
pids+=($!)
seed=""
while read -r line; do
  case "$line" in seed\ *) seed="${line#seed }"; break ;; esac
done <"$fifo"
cat "$fifo" >/dev/null &
rm -f "$fifo"
[ -n "$seed" ] || { echo "the node network did not start" >&2; exit 1; }

"$NODE_BIN" serve --dir dist --bind "127.0.0.1:$PORT" &
pids+=($!)

echo
echo "Umbra's local node network: seed $seed ($NODES nodes, data in $DATA/)"
echo "Open Umbra at: http://127.0.0.1:$PORT/"
echo "(Ctrl-C stops the app server and the network.)"
wait
