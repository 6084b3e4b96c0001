#!/usr/bin/env bash
# Refreshes the bundle's mainnet network configuration, config/mainnet.json, from Session's
# three seed nodes (seed1/2/3.getsession.org:4443, reached over TLS pinned to the
# certificates `umbra-node` ships; see node/src/bridge.rs MAINNET_SEEDS). Keeps only the
# nodes every answering seed agrees on and refuses fewer than 24 (Session desktop's bound).
# Needs the internet; when no seed can be reached it fails and writes nothing.
#
# Environment: UMBRA_BRIDGES (space-separated bridge URLs written into the file),
# UMBRA_NODE_BIN (default: target/release/umbra-node, built if missing).
# Extra arguments go to `umbra-node bootstrap` (e.g. --seed URL --seed-cert PEM --min N
# to try it against a faithful testnet's seed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN="${UMBRA_NODE_BIN:-target/release/umbra-node}"
OUT=config/mainnet.json
if [ ! -x "$BIN" ]; then
    cargo build -p umbra-node --release
fi

args=()
for b in ${UMBRA_BRIDGES:-}; do
    args+=(--bridge "$b")
done

if ! "$BIN" bootstrap "${args[@]}" "$@" --out "$OUT"; then
    echo "refresh-bootstrap: could not get an agreed node list from the seeds (is the internet" >&2
    echo "reachable from here? seed1/2/3.getsession.org:4443); $OUT was not changed." >&2
    exit 1
fi
echo "refresh-bootstrap: wrote $OUT"
