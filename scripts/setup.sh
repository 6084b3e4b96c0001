#!/usr/bin/env bash
# Installs what building and testing Umbra needs, and nothing that is already there.
# Idempotent: a second run does no work. Sourced by scripts/run.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true

# 1. The wasm target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2. trunk 0.21.14 (the newest that builds on rustc 1.95; needs --locked).
if [ "$(trunk --version 2>/dev/null || true)" != "trunk 0.21.14" ]; then
  log "installing trunk 0.21.14 (takes ~8 minutes once)"
  cargo install trunk --version 0.21.14 --locked
fi

# 3. wasm-bindgen-cli at exactly Cargo.lock's wasm-bindgen version (without --locked: see toolchain notes).
WBG_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WBG_VERSION" ]; then
  log "installing wasm-bindgen-cli $WBG_VERSION"
  cargo install wasm-bindgen-cli --version "$WBG_VERSION" --force
fi

# 4. Chromium and its driver from Debian (never a downloaded browser build).
# certutil (libnss3-tools) lets the HTTPS end-to-end test make Chromium trust the testnet's CA.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v certutil >/dev/null; then
  log "installing Debian chromium, chromium-driver and libnss3-tools"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver libnss3-tools
fi

# 4b. Debian's coturn: the testnet's TURN server for calls (`turnserver`, started by
# `umbra-node testnet` on loopback with generated credentials; its service is not used).
if ! command -v turnserver >/dev/null; then
  log "installing Debian coturn"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q coturn
fi

# 5. npm packages: playwright-core (drives Debian's chromium) and binaryen (wasm-opt; never Debian's).
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
case "$(command -v wasm-opt)" in
  "$PWD/node_modules/.bin/wasm-opt") ;;
  *) log "error: wasm-opt on PATH is not npm binaryen"; exit 1 ;;
esac

# 6. cargo-fuzz for the fuzz smoke run (it runs on the stable toolchain with RUSTC_BOOTSTRAP=1,
# see scripts/fuzz-smoke.sh; no nightly needed).
if [ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz 0.13.2" ]; then
  log "installing cargo-fuzz 0.13.2"
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
