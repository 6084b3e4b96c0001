#!/usr/bin/env bash
# Short libFuzzer run of every fuzz target (protocol/fuzz): finds panics in the decoders of
# untrusted input. Fails unless every target was built and ran; never "skips".
#
# Toolchain: the project's stable toolchain with RUSTC_BOOTSTRAP=1, because cargo-fuzz passes
# -Z flags (sanitizer) and a fresh machine has only stable. FUZZ_TOOLCHAIN=nightly uses a
# nightly instead. cargo-fuzz is installed if missing.
#
# Time: one build of all targets, then FUZZ_SECONDS per target (default 10; 11 targets run in
# about 2 minutes). A first build from nothing costs about 10 CPU-minutes (the node targets
# bring SQLite, axum, reqwest and rustls), so about 5 minutes on 2 free cores; keep
# protocol/fuzz/target between runs to pay it once. FUZZ_SANITIZER (default address) is
# passed to cargo fuzz. Crashes are written to protocol/fuzz/artifacts/<target>/; corpora grow in
# protocol/fuzz/corpus/<target>/ (both git-ignored). Files in protocol/fuzz/regressions/<target>/
# are replayed first: fixed findings stay fixed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../protocol"
export PATH="$HOME/.cargo/bin:$PATH"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-10}"
SANITIZER="${FUZZ_SANITIZER:-address}"
# dev: opt-level 1 with overflow checks (protocol/fuzz/Cargo.toml), builds several times
# faster than cargo-fuzz's release mode (one codegen unit per crate); release: faster runs.
PROFILE="${FUZZ_PROFILE:-dev}"
CARGO_FUZZ_VERSION=0.13.2

fail() { echo "fuzz smoke run FAILED: $*" >&2; exit 1; }

if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
  export RUSTUP_TOOLCHAIN="$FUZZ_TOOLCHAIN"
else
  export RUSTUP_TOOLCHAIN=stable RUSTC_BOOTSTRAP=1
fi
if [ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked || fail "cannot install cargo-fuzz"
fi

targets=$(cargo fuzz list) || fail "cargo fuzz list"
[ -n "$targets" ] || fail "no fuzz targets found"
count=$(echo "$targets" | wc -w)

start=$SECONDS
echo "building $count fuzz targets ($RUSTUP_TOOLCHAIN, $PROFILE, sanitizer $SANITIZER)"
case "$PROFILE" in
  dev) mode=--dev; bin_dir="fuzz/target/x86_64-unknown-linux-gnu/debug" ;;
  release) mode=-O; bin_dir="fuzz/target/x86_64-unknown-linux-gnu/release" ;;
  *) fail "FUZZ_PROFILE must be dev or release" ;;
esac
cargo fuzz build "$mode" --sanitizer "$SANITIZER" || fail "build"
echo "built in $((SECONDS - start))s"
# SQLite (bundled C, in the node targets) has same-named static arrays in two functions,
# which ASan misreports as an ODR violation.
export ASAN_OPTIONS="detect_odr_violation=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"

for t in $targets; do
  bin="$bin_dir/$t"
  [ -x "$bin" ] || fail "target $t was not built"
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  log="$(mktemp)"
  if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
    if ! "$bin" -runs=1 fuzz/regressions/"$t"/* >"$log" 2>&1; then
      tail -n 40 "$log"; fail "target $t: a regression input fails again"
    fi
  fi
  # The stateful harnesses read a list of steps: start with long inputs at once rather than
  # growing them slowly, which a short run would never get past.
  case "$t" in
    client_stateful | node_rpc) len_flags=(-len_control=0 -max_len=8192) ;;
    *) len_flags=(-max_len=65536) ;;
  esac
  echo "fuzzing $t for ${SECONDS_PER_TARGET}s"
  # -timeout: one input running over 10 s is a finding (a hang), not a slow machine.
  if ! timeout $((SECONDS_PER_TARGET + 120)) "$bin" -max_total_time="$SECONDS_PER_TARGET" \
      -timeout=10 -rss_limit_mb=2048 "${len_flags[@]}" -artifact_prefix="fuzz/artifacts/$t/" \
      "fuzz/corpus/$t" >"$log" 2>&1; then
    tail -n 40 "$log"; fail "target $t crashed or hung (input in fuzz/artifacts/$t/)"
  fi
  done_line=$(grep -E '^Done [0-9]+ runs' "$log" || true)
  runs=$(echo "$done_line" | awk '{print $2}')
  if [ -z "$runs" ] || [ "$runs" -eq 0 ]; then
    tail -n 20 "$log"; fail "target $t did not run"
  fi
  echo "  $done_line"
  rm -f "$log"
done
echo "fuzz smoke run: $count targets, no findings ($((SECONDS - start))s)"
