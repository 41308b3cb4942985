#!/bin/sh
# fibers.sh: the fibre stage (`cardiotwin fibers`: read the mesh, assemble, RCM, the Laplace
# solves, the LDRB rule per tetrahedron, write mesh.vtu) on BiV phantom meshes of about 1 M
# tetrahedra and of about 1 M nodes (~5-6 M tetrahedra), and on ldrb's own 96k-tet LV: wall
# time, peak memory, the time and iterations of each solve. Targets on 2 cores (DESIGN.md §8):
# <= 3 s for 1 M tets, <= 15 s for 1 M nodes (the solves and the rule, i.e. "total" below).
# The peer, ldrb (finsberg/ldrb on legacy FEniCS), cannot be installed on this machine (pip
# only, no network), so its figures are the ones measured on the reference machine and quoted
# in ../shared/data/ldrb_reference/README.md and specs/fibers.md: 9.1 s for the 96k LV, 95 s
# and 1.33 GB for 951k LV tets, 148 s for 942k BiV tets.
# Usage: bench/fibers.sh [BUILD_DIR] [EDGE_1M] [EDGE_1M_NODES]
# The solver alone on structured meshes up to 1 M nodes: bench/laplace_bench.c (see its header).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps --bench
build=${1:-build}
e1=${2:-1.3}
e2=${3:-}
data=${CTW_DATA:-../shared/data}
out=$(mktemp -d /tmp/ctw_bench_fibers_XXXXXX)
trap 'rm -rf "$out"' EXIT

report() { # NAME DIR TIMEFILE
	read -r w u m <"$3"
	pts=$(sed -n 's/^points: //p' "$2/fibers.txt")
	tets=$(sed -n 's/^tetrahedra: //p' "$2/fibers.txt")
	awk -v n="$1" -v w="$w" -v u="$u" -v m="$m" -v p="$pts" -v t="$tets" \
		'BEGIN { printf "%-30s %9s nodes %9s tets %7.2f s wall %7.2f s user %7.1f MiB peak\n", n, p, t, w, u, m / 1024 }'
	sed -n 's/^\(solve .*\|time: .*\)/    &/p' "$2/fibers.txt"
}

"$build/cardiotwin" -q phantom --kind biv -o "$out/ph" >/dev/null
for e in $e1 $e2; do # the phantom through TetGen: 1.3 mm gives ~1.2 M tets; ~0.7 mm ~1 M nodes (minutes)
	"$build/cardiotwin" -q mesh --labels "$out/ph/labels.nii.gz" --model biv --edge-length "$e" -o "$out/m$e" >/dev/null
	for th in 1 2; do
		/usr/bin/time -f "%e %U %M" -o "$out/t" "$build/cardiotwin" -q fibers --mesh "$out/m$e" --threads $th \
			-o "$out/f$e-$th" >/dev/null
		report "biv edge $e mm, $th thread(s)" "$out/f$e-$th" "$out/t"
	done
	/usr/bin/time -f "%e %U %M" -o "$out/t" "$build/cardiotwin" -q fibers --mesh "$out/m$e" --precond ssor \
		-o "$out/s$e" >/dev/null
	report "biv edge $e mm, SSOR" "$out/s$e" "$out/t"
done
/usr/bin/time -f "%e %U %M" -o "$out/t" "$build/cardiotwin" -q fibers --mesh "$data/ldrb_reference/lv.msh" --mode bayer \
	--alpha-endo 40 --alpha-epi -50 --beta-endo -65 --beta-epi 25 -o "$out/ldrb" >/dev/null
report "ldrb reference LV (mode A)" "$out/ldrb" "$out/t"
awk -v w="$(cut -d' ' -f1 "$out/t")" 'BEGIN { printf "ratio cardiotwin / ldrb (9.1 s, reference machine): %.3f\n", w / 9.1 }'
