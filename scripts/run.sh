#!/usr/bin/env bash
# Builds the release bundle, starts the network the app talks to and the static app server,
# and prints the URL to open. Ctrl-C stops everything.
#
# UMBRA_NETWORK selects the network:
#   local (default)  a local network that behaves like Session's (`umbra-node testnet
#                    --faithful`: seed + UMBRA_NODES nodes with self-signed HTTPS and no CORS,
#                    which a browser cannot reach) and a blind bridge the app goes through.
#   local-direct     the same nodes with CORS over plain HTTP, reached directly (no bridge).
#   mainnet          Session's network through a bridge started here on 127.0.0.1 (a loopback
#                    page may call a loopback bridge without TLS). The node list the app
#                    starts from is config/mainnet.json, written by scripts/refresh-bootstrap.sh
#                    from Session's pinned seeds (needs the internet; run here if missing).
# Other settings: UMBRA_PORT (default 8080), UMBRA_NODES (default 12), UMBRA_DATA (default
# .umbra-data).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

PORT="${UMBRA_PORT:-8080}"
NODES="${UMBRA_NODES:-12}"
DATA="${UMBRA_DATA:-.umbra-data}"
NETWORK="${UMBRA_NETWORK:-local}"

trunk build --release
cargo build -p umbra-node --release
NODE_BIN=target/release/umbra-node
mkdir -p "$DATA"

case "$NETWORK" in
local | local-direct)
    faithful=(--faithful)
    [ "$NETWORK" = local-direct ] && faithful=()
    echo
    echo "Starting the local node network ($NODES nodes, data in $DATA/) and the app server..."
    echo "Open Umbra at the 'app' URL below. Ctrl-C stops everything."
    exec "$NODE_BIN" testnet "${faithful[@]}" --nodes "$NODES" --data "$DATA" \
        --app-dir dist --app-bind "127.0.0.1:$PORT"
    ;;
mainnet)
    if [ ! -f config/mainnet.json ]; then
        echo "run: config/mainnet.json is missing; fetching the node list from Session's seeds..."
        if ! ./scripts/refresh-bootstrap.sh; then
            echo "run: cannot start on mainnet without a node list (see above)." >&2
            exit 1
        fi
    fi
    log="$DATA/bridge.log"
    "$NODE_BIN" bridge --bind 127.0.0.1:0 \
        --allow-origin "http://127.0.0.1:$PORT" --allow-origin "http://localhost:$PORT" \
        >"$log" 2>&1 &
    bridge_pid=$!
    trap 'kill "$bridge_pid" 2>/dev/null || true' EXIT INT TERM
    bridge=""
    for _ in $(seq 1 300); do
        bridge="$(sed -n 's/^bridge \(http[^ ]*\)$/\1/p' "$log" | head -n 1)"
        [ -n "$bridge" ] && break
        kill -0 "$bridge_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
        sleep 0.2
    done
    [ -n "$bridge" ] || { echo "run: the bridge did not start" >&2; cat "$log" >&2; exit 1; }
    # The bundle's mainnet configuration, naming this bridge.
    node -e '
        const fs = require("fs");
        const c = JSON.parse(fs.readFileSync("config/mainnet.json", "utf8"));
        c.network = "mainnet";
        c.bridges = [process.argv[1]];
        delete c.seed_url;
        fs.writeFileSync(process.argv[2], JSON.stringify(c));
    ' "$bridge" "$DATA/mainnet-config.json"
    echo
    echo "Umbra on Session's mainnet through the bridge $bridge (log: $log)."
    echo "Open Umbra at the 'app' URL below. Ctrl-C stops everything."
    "$NODE_BIN" serve --dir dist --config "$DATA/mainnet-config.json" --bind "127.0.0.1:$PORT"
    ;;
*)
    echo "run: UMBRA_NETWORK must be local, local-direct or mainnet, not '$NETWORK'" >&2
    exit 2
    ;;
esac
