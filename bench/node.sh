#!/usr/bin/env bash
# Node benchmark: direct vs 3-hop onion storage RPC on loopback, and peak RSS with
# 100,000 stored messages. Prints figures; not a test.
#
# Builds the bench example with release optimisations but without the size-tuned LTO of
# the workspace release profile (which only matters for the wasm bundle), to keep the
# build short on small machines.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_LTO=false \
       CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_PANIC=unwind
cargo build --release -p umbra-node --example bench
BIN=target/release/examples/bench
echo "== throughput and latency =="
"$BIN" throughput --nodes "${NODES:-12}" --requests "${REQUESTS:-2000}" --concurrency "${CONCURRENCY:-16}"
echo "== memory =="
"$BIN" memory --messages "${MESSAGES:-100000}"
