# t141: a killed run leaves nothing running and nothing behind (issue 12 item 5): kill -9 of
# `mesh` during TetGen takes its TetGen child with it (PR_SET_PDEATHSIG; before, the child
# outlived its parent), and the .tmp-* package of a forced re-export killed mid-way is removed by
# the next run, also when that run skips the export as unchanged (before, it stayed).
. "$CTW_SRC/tests/regress/lib.sh"

"$CTW" -q phantom --kind lv --spacing 1 -o "$T/ph" >/dev/null || fail phantom
"$CTW" -q mesh --labels "$T/ph/labels.nii.gz" --edge-length 0.7 -o "$T/m" >/dev/null 2>&1 &
pid=$!
child=
i=0
while [ $i -lt 600 ] && kill -0 $pid 2>/dev/null; do
	child=$(ps -o pid= --ppid $pid | head -n 1 | tr -d ' ')
	[ -n "$child" ] && break
	sleep 0.1
	i=$((i + 1))
done
if [ -z "$child" ]; then
	fail "mesh ended before TetGen started (no child process seen)"
else
	sleep 0.5
	kill -9 $pid
	wait $pid 2>/dev/null
	i=0
	while [ $i -lt 50 ] && kill -0 "$child" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$child" 2>/dev/null; then
		fail "the TetGen child $child outlived its killed parent"
		kill -9 "$child"
	fi
fi

# a run, then the leftover of a forced re-export killed mid-way (a .tmp- sibling of the package
# named after a process that no longer exists), then a run that skips the export
run 0 "$CTW" run "$CTW_SRC/cases/phantom-biv.xml" --edge-length 4 -o "$T/o1"
dead=$(sh -c 'echo $$')
pkg=$(ls "$T/o1" | grep -v '\.work$' | head -n 1)
mkdir -p "$T/o1/.tmp-$dead-0-$pkg/mesh" && echo partial >"$T/o1/.tmp-$dead-0-$pkg/mesh/heart.pts"
run 0 "$CTW" run "$CTW_SRC/cases/phantom-biv.xml" --edge-length 4 -o "$T/o1"
left=$(ls -a "$T/o1" | grep '^\.tmp-' || true)
[ -z "$left" ] || fail "a stale temporary package was left: $left"
finish
