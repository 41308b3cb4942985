#!/bin/sh
# mesh.sh: meshing the BiV phantom at about 1 M tetrahedra: `cardiotwin mesh` (surface, checks,
# TetGen in a child, tags, quality, writing) against Debian's `tetgen` program alone on the very
# surface cardiotwin gave TetGen (surface.smesh), same switches, in the same run: wall time,
# user time, peak memory, and the ratio (target: <= 1.2, peak <= 1 GiB).
# Usage: bench/mesh.sh [BUILD_DIR] [EDGE_MM]
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps --bench
build=${1:-build}
edge=${2:-1.3} # about 1.06 M tetrahedra on the BiV phantom
out=$(mktemp -d /tmp/ctw_bench_mesh_XXXXXX) # no dots: TetGen reads them as iteration numbers
trap 'rm -rf "$out"' EXIT

"$build/cardiotwin" -q phantom --kind biv -o "$out/ph" >/dev/null
/usr/bin/time -f "%e %U %M" -o "$out/t_ours" "$build/cardiotwin" -q mesh --labels "$out/ph/labels.nii.gz" \
	--model biv --edge-length "$edge" --keep-surface -o "$out/m" >"$out/log" 2>&1
vol=$(awk -v e="$edge" 'BEGIN { printf "%.6g", 3 * e * e * e / (6 * sqrt(2)) }') # as meshing/mesh.c
cp "$out/m/surface.smesh" "$out/surf.smesh"
/usr/bin/time -f "%e %U %M" -o "$out/t_tetgen" tetgen -pq1.5/10a"$vol"Q "$out/surf.smesh" >/dev/null 2>&1
tets=$(sed -n 's/^tetrahedra: //p' "$out/m/quality.txt")
tg=$(sed -n '1s/^\([0-9]*\).*/\1/p' "$out/surf.1.ele")
read -r ow ou om <"$out/t_ours"
read -r tw tu tm <"$out/t_tetgen"
awk -v w="$ow" -v u="$ou" -v m="$om" -v n="$tets" 'BEGIN { printf "%-34s %8.2f s wall %8.2f s user %8.1f MiB peak  %s tets\n", "cardiotwin mesh (whole stage)", w, u, m / 1024, n }'
awk -v w="$tw" -v u="$tu" -v m="$tm" -v n="$tg" -v v="$vol" 'BEGIN { printf "%-34s %8.2f s wall %8.2f s user %8.1f MiB peak  %s tets\n", "tetgen -pq1.5/10a" v " (alone)", w, u, m / 1024, n }'
echo "$ow $tw" | awk '{ printf "ratio cardiotwin / tetgen (wall): %.2f\n", $1 / $2 }'
sed -n 's/^\(dihedral angle min\|volume error\|surface distance\)/  &/p' "$out/m/quality.txt"
