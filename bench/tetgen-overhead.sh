#!/bin/sh
# tetgen-overhead.sh: what running TetGen in a forked child costs. Meshes one icosphere (radius
# 10 mm, 20*FREQ^2 triangles) with the same switches (pq1.5/10a<MAX_VOLUME>Q) four ways, in turn,
# ROUNDS times: ctw_tetgen_mesh (fork + pipe), ctw_tetgen_run (in process), Debian's tetgen
# program without output files (-NEF) and with them. Prints wall time and peak memory of each
# (for "fork", the peak is the larger of parent and child; the program prints both).
# Usage: bench/tetgen-overhead.sh [BUILD_DIR [FREQ [MAX_VOLUME [ROUNDS]]]]
#   defaults: /tmp/build-tg, 45 (40500 triangles), 0.012 mm^3 (about 1 M tets), 2
# Needs the test_tetgen_adapter target built in BUILD_DIR and /usr/bin/tetgen (apt: tetgen).
set -eu
build=${1:-/tmp/build-tg}
freq=${2:-45}
vol=${3:-0.012}
rounds=${4:-2}
bin=$build/tests/test_tetgen_adapter
[ -x "$bin" ] || { echo "tetgen-overhead: no $bin; build the test_tetgen_adapter target" >&2; exit 1; }
command -v tetgen >/dev/null || { echo "tetgen-overhead: no tetgen program (apt install tetgen)" >&2; exit 1; }
dir=$(mktemp -d /tmp/ctw_tgbench_XXXXXX) # TetGen takes anything after a dot for a suffix
trap 'rm -rf "$dir"' EXIT
"$bin" --bench smesh "$freq" "$vol" "$dir/ico"
fmt='%e s wall, %U s user, %S s sys, %M KiB peak'
r=1
while [ "$r" -le "$rounds" ]; do
	echo "-- round $r"
	/usr/bin/time -f "fork:       $fmt" "$bin" --bench fork "$freq" "$vol" "$dir/ico"
	/usr/bin/time -f "inproc:     $fmt" "$bin" --bench inproc "$freq" "$vol" "$dir/ico"
	(cd "$dir" && /usr/bin/time -f "tetgen-NEF: $fmt" tetgen "-pq1.5/10a${vol}QNEF" ico.smesh)
	(cd "$dir" && /usr/bin/time -f "tetgen:     $fmt" tetgen "-pq1.5/10a${vol}Q" ico.smesh)
	rm -f "$dir"/ico.1.*
	r=$((r + 1))
done
