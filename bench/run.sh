#!/bin/sh
# run.sh: the whole pipeline, `cardiotwin run` on the BiV phantom at about 1 M tetrahedra
# (phantom, segment, mesh, fibres, export of every format, provenance, SHA256SUMS): wall time and
# peak memory (targets, DESIGN.md §8: <= 30 s, <= 1 GiB on 2 cores), each stage's share, and
# `cardiotwin export` alone per format (target: <= 3 s per format at 1 M tets). There is no peer
# that does the whole chain; the stages' peers are in bench/mesh.sh (tetgen) and
# bench/fibers.sh (ldrb's published figures).
# Usage: bench/run.sh [BUILD_DIR] [EDGE_MM]
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps --bench
build=${1:-build}
edge=${2:-1.3} # about 1.06 M tetrahedra on the BiV phantom
out=$(mktemp -d /tmp/ctw_bench_run_XXXXXX)
trap 'rm -rf "$out"' EXIT

/usr/bin/time -f "%e %U %M" -o "$out/t" "$build/cardiotwin" -v run --phantom biv --case-id biv --edge-length "$edge" \
	-o "$out/o" >"$out/log" 2>"$out/err"
read -r w u m <"$out/t"
tets=$(sed -n 's/^tetrahedra,//p' "$out/o/biv/metrics.csv")
awk -v w="$w" -v u="$u" -v m="$m" -v n="$tets" \
	'BEGIN { printf "cardiotwin run (all stages)   %s tets  %7.2f s wall %7.2f s user %7.1f MiB peak\n", n, w, u, m / 1024 }'
for s in input segment mesh fibers; do
	awk -v s="$s" '/^start / { a = $2 } /^end / { b = $2 } END { if (b) printf "    stage %-8s %7.2f s\n", s, b - a }' \
		"$out/o/biv.work/$s.record"
done
grep -E "^(time: |solve )" "$out/log" | sed 's/^/    fibers /'
sed -n 's/^cardiotwin: export: \(model\/.*\)/    export \1/p' "$out/err"
for f in opencarp vtk gmsh febio tetgen; do
	/usr/bin/time -f "%e %U %M" -o "$out/t" "$build/cardiotwin" -q export --mesh "$out/o/biv.work/fibers" --formats $f \
		-o "$out/p-$f" >/dev/null
	read -r w u m <"$out/t"
	sz=$(du -sm "$out/p-$f/model" | cut -f1)
	awk -v f="$f" -v w="$w" -v m="$m" -v s="$sz" \
		'BEGIN { printf "export --formats %-8s (incl. read, provenance, sums) %6.2f s wall %7.1f MiB peak %5d MB\n", f, w, m / 1024, s }'
done
