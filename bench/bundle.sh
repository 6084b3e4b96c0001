#!/usr/bin/env bash
# Prints raw and `gzip -9` sizes of the release bundle in dist/ (build it first with
# `trunk build --release`) and the total first-load gzip size (goal: < 400 KB).
# Usage: bench/bundle.sh [dist-dir]
set -euo pipefail
dist="${1:-dist}"
[ -f "$dist/index.html" ] || { echo "no $dist/index.html; run trunk build --release first" >&2; exit 1; }
gz() { gzip -9 -c "$1" | wc -c; }
total_raw=0; total_gz=0
printf '%-44s %10s %10s\n' file raw gzip-9
# Everything the browser fetches to show the first screen.
for f in index.html style.css manifest.json $(cd "$dist" && ls umbra-app-*.js umbra-app-*_bg.wasm \
    umbra-worker_loader.js umbra-worker.js umbra-worker_bg.wasm); do
  raw=$(wc -c < "$dist/$f"); z=$(gz "$dist/$f")
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + z))
  printf '%-44s %10d %10d\n' "$f" "$raw" "$z"
done
printf '%-44s %10d %10d\n' "TOTAL first load" "$total_raw" "$total_gz"
limit=$((400 * 1024))
if [ "$total_gz" -lt "$limit" ]; then verdict="under"; else verdict="OVER"; fi
echo "first_load_gzip_bytes=$total_gz ($verdict the 400 KiB goal)"
