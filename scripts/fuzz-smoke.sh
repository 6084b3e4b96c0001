#!/usr/bin/env bash
# Short libFuzzer run of every fuzz target (protocol/fuzz): finds crashes/panics in the decoders
# of untrusted input. Needs a nightly toolchain (cargo fuzz). FUZZ_SECONDS per target (default 20).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-20}"
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz smoke run: no nightly toolchain on this machine; skipped"; exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo +nightly install cargo-fuzz --locked
fi
cd protocol
targets=$(cargo +nightly fuzz list)
for t in $targets; do
  echo "fuzzing $t for ${SECONDS_PER_TARGET}s"
  log="$(mktemp)"
  if ! cargo +nightly fuzz run "$t" -- -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 \
      -max_len=65536 >"$log" 2>&1; then
    tail -n 40 "$log"; echo "fuzz target $t FAILED"; exit 1
  fi
  grep -E '^Done [0-9]+ runs' "$log" || tail -n 3 "$log"
  rm -f "$log"
done
echo "fuzz smoke run: $(echo $targets | wc -w) targets, no findings"
