#!/usr/bin/env bash
# Dependency rules of ARCHITECTURE.md, enforced: the sans-IO core carries no runtime or browser
# binding, and the UI never links the protocol core (so it can never hold key material).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fail=0
for target in wasm32-unknown-unknown x86_64-unknown-linux-gnu; do
  tree="$(cargo tree -p umbra-protocol -e normal --target "$target" --prefix none)"
  bad="$(grep -E '^(tokio|web-sys|wasm-bindgen|js-sys|gloo[a-z-]*|getrandom|reqwest) ' <<<"$tree" | sort -u || true)"
  if [ -n "$bad" ]; then
    echo "FAIL: umbra-protocol ($target) depends on: $bad"; fail=1
  fi
done
for feat in "" "--features node"; do
  tree="$(cargo tree -p umbra-protocol -e normal $feat --prefix none)"
  if grep -qE '^(tokio|axum|hyper) ' <<<"$tree"; then
    echo "FAIL: umbra-protocol $feat depends on a runtime"; fail=1
  fi
done
if cargo tree -p umbra-app -e normal --target wasm32-unknown-unknown --prefix none | grep -q '^umbra-protocol '; then
  echo "FAIL: umbra-app depends on umbra-protocol"; fail=1
fi
if cargo tree -p umbra-ipc -e normal --prefix none | grep -q '^umbra-protocol '; then
  echo "FAIL: umbra-ipc depends on umbra-protocol"; fail=1
fi
if cargo tree -p umbra-worker -e normal --target wasm32-unknown-unknown --prefix none | grep -q '^leptos '; then
  echo "FAIL: umbra-worker depends on leptos"; fail=1
fi
if [ "$fail" = 0 ]; then echo "dependency rules: ok"; fi
exit "$fail"
