#!/usr/bin/env bash
# Crypto benchmarks: the same body (bench/crypto/src/lib.rs) natively and as wasm in a
# headless-Chromium dedicated worker, per build profile; prints a table against the bar of
# docs/performance.md (per op: max(libsodium.js in a Chromium worker, 1/2 native C)).
#
# usage: bench/crypto.sh [--quick] [--profiles "release release-o3 release-zc3"] [--dalek64]
#                        [--parse-only]
#   release      opt-level "z", lto, 1 CGU, panic=abort: the settings of the shipped bundle
#   release-o3   the same with opt-level 3
#   release-zc3  opt-level "z" except the crypto crates and umbra-protocol at opt-level 3 (the
#                worker's profile until the calls landed, 2026-12-03)
#   release-wzb  the same with umbra-protocol at "z" too: the shipped worker's crypto set (root
#                Cargo.toml [profile.release-worker], since 2026-12-03 evening); via --profiles
#   --dalek64    also wasm at release-o3 with curve25519-dalek's 64-bit field backend
#                (`--cfg curve25519_dalek_bits="64"`; wasm32 defaults to the 32-bit one)
# Raw output goes to bench/out/crypto/ (ignored by git). Needs wasm-bindgen-test-runner and
# chromedriver on PATH (see docs/engineering.md T2). Build first, measure after, so that
# compiling does not disturb the timings; keep the machine otherwise idle if you can.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
crate="$here/crypto"
out="$here/out/crypto"
profiles="release release-o3 release-zc3"
quick=""
parse_only=""
dalek64=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --profiles) profiles="$2"; shift ;;
    --parse-only) parse_only=1 ;;
    --dalek64) dalek64=1 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"
cd "$crate"

if [ -n "$quick" ]; then export UMBRA_BENCH_QUICK=1; else unset UMBRA_BENCH_QUICK; fi
export WASM_BINDGEN_TEST_TIMEOUT=1800

wasm_dalek64() {
  CARGO_TARGET_DIR=target/dalek64 \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS='--cfg curve25519_dalek_bits="64"' \
    cargo test --profile release-o3 --target wasm32-unknown-unknown --test worker "$@"
}

bin_dir() { case "$1" in release) echo target/release ;; *) echo "target/$1" ;; esac; }

if [ -z "$parse_only" ]; then
  echo "== build" >&2
  for p in $profiles; do
    cargo build --quiet --profile "$p"
    cargo test --quiet --profile "$p" --target wasm32-unknown-unknown --test worker --no-run
  done
  [ -n "$dalek64" ] && wasm_dalek64 --quiet --no-run
  echo "== measure ($(date -u +%FT%TZ), load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  for p in $profiles; do
    echo "-- native $p" >&2
    "$(bin_dir "$p")/umbra-bench-crypto" > "$out/native-$p.txt"
    echo "-- wasm $p" >&2
    cargo test --profile "$p" --target wasm32-unknown-unknown --test worker \
      -- --nocapture > "$out/wasm-$p.raw" 2>&1 || { cat "$out/wasm-$p.raw" >&2; exit 1; }
    grep -E '^(BENCH|#)' "$out/wasm-$p.raw" > "$out/wasm-$p.txt"
  done
  if [ -n "$dalek64" ]; then
    echo "-- wasm release-o3 + dalek64" >&2
    wasm_dalek64 -- --nocapture > "$out/wasm-dalek64.raw" 2>&1 \
      || { cat "$out/wasm-dalek64.raw" >&2; exit 1; }
    grep -E '^(BENCH|#)' "$out/wasm-dalek64.raw" > "$out/wasm-dalek64.txt"
  fi
  if python3 -c 'import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library("sodium") else 1)'; then
    echo "-- native C (system libsodium via ctypes)" >&2
    python3 "$crate/libsodium_ref.py" ${quick:+--quick} > "$out/libsodium.txt"
  fi
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
fi

# bar per key: value, unit, "h" (higher is better) or "l" (lower), source.
bars='sign_1k 22073 ops/s h sign
verify_1k 9133 ops/s h verify
x25519 16038 ops/s h scalarmult
seal_1k 6616 ops/s h sign+seal
open_1k 5714 ops/s h open+verify
xchacha_1k 487753 ops/s h xchacha-1k
xchacha_1m 702 MB/s h xchacha-1m
blake2b_1m 747 MB/s h generichash
store_seal_1k - ops/s h -
store_open_1k - ops/s h -
send 2282 ops/s h composite
send_sysrng 2282 ops/s h composite
send_real - ops/s h -
argon2id_unlock 0.184 s l pwhash'

# Two tables. Reference for ratios: native Rust at opt-level 3 (native opt-level "z" is shown
# but is no reference: at "z" the AVX2 code that curve25519-dalek, chacha20 and poly1305 pick at
# run time is no longer inlined) and, when present, this machine's libsodium (native C).
ref="release-o3"
files=""
for p in $profiles; do
  [ -f "$out/wasm-$p.txt" ] && files="$files wasm:$p:$out/wasm-$p.txt"
done
[ -f "$out/wasm-dalek64.txt" ] && files="$files wasm:o3+dalek64:$out/wasm-dalek64.txt"
for p in $ref release; do
  [ -f "$out/native-$p.txt" ] && files="$files native:$p:$out/native-$p.txt"
done
[ -f "$out/libsodium.txt" ] && files="$files C:libsodium:$out/libsodium.txt"
# shellcheck disable=SC2086
awk -v bars="$bars" -v ref="$ref" -v files="$files" '
  function fmt(v, u) {
    if (v == "") return "—"
    if (u == "s") return sprintf("%.3f s", v)
    if (u == "MB/s") return sprintf("%.0f MB/s", v)
    if (u == "bytes") return sprintf("%.0f B", v)
    return sprintf("%.0f/s", v)
  }
  # speed ratio a/b (for seconds per op: b/a)
  function ratio(a, b, u) {
    if (a == "" || b == "" || a == 0 || b == 0) return "—"
    return sprintf("%.2f", (u == "s") ? b / a : a / b)
  }
  function verdict(w, b, d, u) {
    if (b == "" || b == "-" || w == "") return "—"
    ok = (d == "l") ? (w + 0 <= b + 0) : (w + 0 >= b + 0)
    return sprintf("%s %.0f%%", ok ? "PASS" : "FAIL", (u == "s") ? b / w * 100 : w / b * 100)
  }
  BEGIN {
    n = split(bars, L, "\n")
    for (i = 1; i <= n; i++) { split(L[i], f, " "); bar[f[1]] = f[2]; dir[f[1]] = f[4]; order[i] = f[1] }
    nkeys = n
    nf = split(files, F, " ")
    for (i = 1; i <= nf; i++) {
      split(F[i], g, ":"); kind[i] = g[1]; col[i] = g[1] " " g[2]
      while ((getline ln < g[3]) > 0) {
        if (ln !~ /^BENCH/) continue
        split(ln, x, "|"); val[i, x[2]] = x[3]
        if (kind[i] != "C") { unit[x[2]] = x[4]; what[x[2]] = x[5] }
      }
      if (kind[i] == "native" && g[2] == ref) rcol = i
      if (kind[i] == "wasm") { nw++; wcol[nw] = i }
      if (kind[i] == "C") {
        ccol = i
        # Session always signs with the seal and verifies with the open.
        a = val[i, "sign_1k"]; b = val[i, "box_seal_1k"]
        if (a > 0 && b > 0) val[i, "seal_1k"] = 1 / (1 / a + 1 / b)
        a = val[i, "verify_1k"]; b = val[i, "box_seal_open_1k"]
        if (a > 0 && b > 0) val[i, "open_1k"] = 1 / (1 / a + 1 / b)
      }
    }
    print "Figures (higher is better, except seconds):"
    print ""
    hdr = "| op |"; sep = "|---|"
    for (i = 1; i <= nf; i++) { hdr = hdr " " col[i] " |"; sep = sep "---:|" }
    print hdr; print sep
    for (k0 = 1; k0 <= nkeys; k0++) {
      k = order[k0]; u = unit[k]; if (u == "") continue
      row = "| " what[k] " |"
      for (i = 1; i <= nf; i++) row = row " " fmt(val[i, k], u) " |"
      print row
    }
    print ""
    print "Ratios (as speed) and the bar of docs/performance.md (max(libsodium.js, 1/2 native C) on the anchor machine):"
    print ""
    hdr = "| op |"; sep = "|---|"
    for (j = 1; j <= nw; j++) { hdr = hdr " " col[wcol[j]] " / native Rust |"; sep = sep "---:|" }
    if (ccol) for (j = 1; j <= nw; j++) { hdr = hdr " " col[wcol[j]] " / native C |"; sep = sep "---:|" }
    hdr = hdr " bar |"; sep = sep "---:|"
    for (j = 1; j <= nw; j++) { hdr = hdr " " col[wcol[j]] " vs bar |"; sep = sep ":---:|" }
    print hdr; print sep
    for (k0 = 1; k0 <= nkeys; k0++) {
      k = order[k0]; u = unit[k]; if (u == "") continue
      row = "| " what[k] " |"
      for (j = 1; j <= nw; j++) row = row " " ratio(val[wcol[j], k], val[rcol, k], u) " |"
      if (ccol) for (j = 1; j <= nw; j++) row = row " " ratio(val[wcol[j], k], val[ccol, k], u) " |"
      row = row " " (bar[k] == "-" ? "—" : fmt(bar[k], u)) " |"
      for (j = 1; j <= nw; j++) row = row " " verdict(val[wcol[j], k], bar[k], dir[k], u) " |"
      print row
    }
  }'
