#!/bin/sh
# ingest.sh: reading a cine study (Sunnybrook SCD0000101: 20 phases x 12 slices, 240 files) and
# writing one phase as NIfTI, beside dcm2niix (the field's standard converter, which writes
# every phase) on the same input in the same run: wall time, user time and peak memory of each
# (/usr/bin/time -v), best of 5, and the ratio. Target (issue #3): under 2 s.
# Usage: bench/ingest.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps --bench
build=${1:-build}
data=../shared/data/sunnybrook_scd/final_data/dicoms/SCD0000101
out=$(mktemp -d /tmp/ctw_bench_ingest.XXXXXX)
trap 'rm -rf "$out"' EXIT
export CTW_SALT_FILE="$out/salt"
head -c 32 /dev/urandom >"$CTW_SALT_FILE"

# measure NAME CMD...: best wall time of 5 runs, with user time and peak RSS of that run
measure() {
	name=$1
	shift
	best=""
	for i in 1 2 3 4 5; do
		rm -rf "$out/o" && mkdir "$out/o"
		/usr/bin/time -f "%e %U %M" -o "$out/t" "$@" >/dev/null 2>&1
		line=$(cat "$out/t")
		if [ -z "$best" ] || [ "$(echo "$line $best" | awk '{ print ($1 < $4) }')" = 1 ]; then best=$line; fi
	done
	echo "$best" | awk -v n="$name" '{ printf "%-28s %6.3f s wall %6.3f s user %8.1f MiB peak\n", n, $1, $2, $3 / 1024 }'
	echo "$best" >"$out/$name.best"
}
measure cardiotwin-convert "$build/cardiotwin" -q convert "$data" --phase 19 -o "$out/o/p19.nii.gz"
measure dcm2niix-all-phases dcm2niix -z y -o "$out/o" "$data"
ours=$(cut -d' ' -f1 "$out/cardiotwin-convert.best")
peer=$(cut -d' ' -f1 "$out/dcm2niix-all-phases.best")
echo "$ours $peer" | awk '{ printf "ratio cardiotwin / dcm2niix (wall): %.2f\n", $1 / $2 }'
