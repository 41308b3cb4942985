# t163: the global --timeout S bounds every stage, not only TetGen (issue 12 item 4): a stage
# that reports progress stops at the deadline; one that does not is stopped by the backstop a
# grace period later (CTW_TIMEOUT_GRACE shortens it here); both exit 3 with
# "cardiotwin: error: <stage>: time limit of S s reached", leave no temporary output, and the
# option is still accepted where it was (mesh --timeout, run --timeout, the case file's).
. "$CTW_SRC/tests/regress/lib.sh"

"$CTW" -q phantom --kind biv --spacing 0.5 -o "$T/ph" >/dev/null || fail "phantom"
mkdir "$T/w"
# elapsed CMD...: runs CMD, prints its wall time in whole seconds
elapsed() {
	t0=$(date +%s)
	"$@" >"$T/out" 2>"$T/err"
	echo $? >"$T/rc"
	echo $(($(date +%s) - t0))
}
# segment resampling to 0.3 mm takes tens of seconds; progress is reported per slice
s=$(elapsed "$CTW" --timeout 1 segment --labels "$T/ph/labels.nii.gz" --preset canonical --model biv --iso 0.3 -o "$T/w/s.nii.gz")
got=$(cat "$T/rc")
[ "$got" = 3 ] || { fail "segment: exit $got, expected 3"; cat "$T/err" >&2; }
grep -q "^cardiotwin: error: .*time limit of 1 s reached" "$T/err" || { fail "segment: no time-limit message"; cat "$T/err" >&2; }
[ "$s" -le 30 ] || fail "segment took $s s with --timeout 1"
# mesh: surface smoothing reports no progress; the backstop stops it 1 s after the deadline
s=$(CTW_TIMEOUT_GRACE=1 elapsed "$CTW" --timeout 1 mesh --labels "$T/ph/labels.nii.gz" --model biv --edge-length 1 --smooth 1000 -o "$T/w/m")
got=$(cat "$T/rc")
[ "$got" = 3 ] || { fail "mesh: exit $got, expected 3"; cat "$T/err" >&2; }
grep -q "^cardiotwin: error: .*time limit of 1 s reached" "$T/err" || { fail "mesh: no time-limit message"; cat "$T/err" >&2; }
[ "$(grep -c error "$T/err")" = 1 ] || { fail "mesh: not one error line"; cat "$T/err" >&2; }
[ "$s" -le 30 ] || fail "mesh took $s s with --timeout 1"
[ ! -e "$T/w/m" ] || fail "mesh: output written"
[ -z "$(find "$T/w" -name '.tmp-*')" ] || fail "temporary outputs left: $(find "$T/w" -name '.tmp-*')"
# run: the stage running when time is up is named
s=$(CTW_TIMEOUT_GRACE=1 elapsed "$CTW" --timeout 2 run --phantom biv --spacing 0.5 --iso 0.3 -o "$T/w/r")
got=$(cat "$T/rc")
[ "$got" = 3 ] || { fail "run: exit $got, expected 3"; cat "$T/err" >&2; }
grep -q "time limit of 2 s reached" "$T/err" || { fail "run: no time-limit message"; cat "$T/err" >&2; }
[ "$s" -le 40 ] || fail "run took $s s with --timeout 2"
[ -z "$(find "$T/w" -name '.tmp-*')" ] || fail "temporary outputs left: $(find "$T/w" -name '.tmp-*')"
# bad values are usage errors; --timeout stays an option of mesh and run
run 1 "$CTW" --timeout abc info "$T/ph/image.nii.gz"
has "$T/err" "--timeout"
run 1 "$CTW" --timeout -1 info "$T/ph/image.nii.gz"
run 0 "$CTW" --timeout 600 info "$T/ph/image.nii.gz"
run 1 "$CTW" mesh --labels "$T/ph/labels.nii.gz" --timeout nan -o "$T/w/x"
"$CTW" mesh --help | grep -q -- "--timeout" || fail "mesh lost --timeout"
finish
