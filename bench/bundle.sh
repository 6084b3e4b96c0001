#!/usr/bin/env bash
# Prints raw and `gzip -9` sizes of the release bundle in dist/ (build it first with
# `trunk build --release`) and the total first-load gzip size against the goal (400 KiB).
# With --budget BYTES it is also the size test of scripts/test.sh: it builds nothing, reads
# dist/ and exits 1 when the first load (gzip) exceeds BYTES, after printing the table.
# Usage: bench/bundle.sh [--budget BYTES] [dist-dir]
set -euo pipefail
budget=""
if [ "${1:-}" = "--budget" ]; then budget="$2"; shift 2; fi
dist="${1:-dist}"
[ -f "$dist/index.html" ] || { echo "no $dist/index.html; run trunk build --release first" >&2; exit 1; }
gz() { gzip -9 -c "$1" | wc -c; }
total_raw=0; total_gz=0
printf '%-44s %10s %10s\n' file raw gzip-9
# Everything the browser fetches on a first visit before the first screen: the page, its CSS and
# manifest, the app and the worker (JS + wasm), the service worker and the worker's config.json.
files="index.html style.css manifest.json $(cd "$dist" && ls umbra-app-*.js umbra-app-*_bg.wasm \
    umbra-worker_loader.js umbra-worker.js umbra-worker_bg.wasm) sw.js"
[ -f "$dist/config.json" ] && files="$files config.json"
for f in $files; do
  raw=$(wc -c < "$dist/$f"); z=$(gz "$dist/$f")
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + z))
  printf '%-44s %10d %10d\n' "$f" "$raw" "$z"
done
printf '%-44s %10d %10d\n' "TOTAL first load" "$total_raw" "$total_gz"
goal=$((400 * 1024))
if [ "$total_gz" -le "$goal" ]; then verdict="under"; else verdict="OVER"; fi
echo "first_load_gzip_bytes=$total_gz ($verdict the 400 KiB goal, $goal bytes)"
if [ -n "$budget" ]; then
  if [ "$total_gz" -gt "$budget" ]; then
    echo "FAIL: first load $total_gz bytes gzip is over the budget of $budget bytes (goal $goal)" >&2
    exit 1
  fi
  echo "ok: first load $total_gz bytes gzip is within the budget of $budget bytes (goal $goal)"
fi
