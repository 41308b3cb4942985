#!/bin/sh
# segment.sh: automatic segmentation of cine MR (issue 13) on the shared Sunnybrook studies:
# `segment --auto mr` over all phases (finding ED), one phase (--phase N), and `run --auto mr`
# (lv, biv) end to end; wall time and peak memory by /usr/bin/time -v, beside the issue's targets
# as ratios (all phases <= 3 s, one phase <= 0.5 s, run <= 60 s, segment peak <= 500 MiB). No
# peer runs here: the peers' automatic segmenters (nnU-Net, TotalSegmentator, CemrgApp's CNN)
# need a deep-learning runtime and downloads this machine does not have. Run it on an idle
# machine (2 cores).
# Usage: bench/segment.sh [BUILD_DIR] [DATA_DIR]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
data=${2:-../shared/data}
ctw=$(readlink -f "$build/cardiotwin")
[ -x "$ctw" ] || { echo "segment.sh: no $ctw (build first)" >&2; exit 1; }
sb=$data/sunnybrook_scd/final_data/dicoms
[ -d "$sb" ] || { echo "segment.sh: no $sb" >&2; exit 1; }
out=$(mktemp -d /tmp/ctw_bench_segment_XXXXXX)
trap 'rm -rf "$out"' EXIT
# time NAME TARGET_S TARGET_MIB CMD...: one row
row() {
	name=$1 ts=$2 tm=$3
	shift 3
	if ! /usr/bin/time -v "$@" >"$out/o" 2>"$out/e"; then
		echo "segment.sh: $name failed:" >&2
		tail -n 3 "$out/e" >&2
		return 1
	fi
	s=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$out/e" | awk -F: '{ t = 0; for (i = 1; i <= NF; i++) t = t * 60 + $i; print t }')
	kib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/e")
	awk -v n="$name" -v s="$s" -v k="$kib" -v ts="$ts" -v tm="$tm" 'BEGIN {
		printf "%-34s %8.2f %8.1f %7.0f %8.2f %8.2f\n", n, s, k / 1024, ts, s / ts, k / 1024 / tm }'
}
printf '%-34s %8s %8s %7s %8s %8s\n' case "wall s" "peak MiB" "target" "t/target" "m/500MiB"
for c in SCD0000101 SCD0000301; do
	phases=$("$ctw" info "$sb/$c" | sed -n 's/^ *phases: \([0-9]*\).*/\1/p' | head -n 1)
	row "$c segment, all $phases phases" 3 500 "$ctw" -q segment --image "$sb/$c" --auto mr -o "$out/a.nii.gz"
	row "$c segment, one phase" 0.5 500 "$ctw" -q segment --image "$sb/$c" --auto mr --phase 1 -o "$out/b.nii.gz"
	for m in lv biv; do
		rm -rf "$out/r"
		row "$c run --auto mr --model $m" 60 500 "$ctw" -q run --image "$sb/$c" --auto mr --model $m -o "$out/r"
	done
done
