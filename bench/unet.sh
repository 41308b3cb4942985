#!/bin/sh
# unet.sh: the segmenter's C inference (segment/unet.c) alone: time per slice at 128x128 and
# 160x160 for a randomly initialised network of the shipped shape (segment/train/export.py
# --random: needs python3-torch), with 1 and 2 threads, and the peak memory (/usr/bin/time -v).
# Issue 13's targets (2 cores): one phase of 12 slices <= 0.5 s, all 20 phases <= 3 s (these
# include resampling and clean-up: see bench/segment.sh when it exists).
# Usage: bench/unet.sh [BUILD_DIR] [WEIGHTS]   (WEIGHTS: an exported file instead of a random one)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
run=$build/tests/unet_run
[ -x "$run" ] || { echo "unet.sh: no $run (build first)" >&2; exit 1; }
out=$(mktemp -d /tmp/ctw_bench_unet_XXXXXX)
trap 'rm -rf "$out"' EXIT
if [ $# -ge 2 ]; then
	w=$2
else
	w=$out/unet.bin
	/usr/bin/python3 segment/train/export.py --random 1 "$w" >/dev/null
fi
n=24
printf '%-9s %7s %6s %12s %12s %10s\n' size threads slices "s/slice" "s total" "peak MiB"
for side in 128 160; do
	for t in 1 2; do
		/usr/bin/time -v "$run" "$w" - $n "$side" "$side" "$out/logits.f32" "$t" \
			>"$out/o" 2>"$out/e"
		per=$(sed -n 's/^per slice: //p' "$out/o")
		tot=$(sed -n 's/^seconds: //p' "$out/o")
		kib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/e")
		printf '%-9s %7s %6s %12s %12s %10.1f\n' "${side}x$side" "$t" "$n" "$per" "$tot" \
			"$(awk -v k="$kib" 'BEGIN { print k / 1024 }')"
	done
done
