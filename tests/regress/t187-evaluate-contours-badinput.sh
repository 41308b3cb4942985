# t187: evaluate --contours refuses bad input with one error line naming the file (issue 13,
# section 3): a map off its phase's grid, a missing map, a contour without its image or outside
# it, a contour directory without contours, a phase the series lacks, no contour on the phases
# given (Sunnybrook); option misuse is a usage error (exit 1). Nothing is printed on stdout then.
. "$CTW_SRC/tests/regress/lib.sh"
run 0 "$CTW" phantom --kind lv --spacing 2 -o "$T/ph"
run 0 "$CTW" phantom --kind lv --spacing 3 -o "$T/ph3"
d="$T/ph/dicom"
/usr/bin/python3 - "$T" <<'PY' || fail "circle files"
import math, os, sys
t = sys.argv[1]
def circle(d, inst, kind, r, cx=38.0, cy=33.0, n=60):
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/IM-0001-{inst:04d}-{kind}contour-manual.txt", "w") as f:
        for k in range(n):
            a = 2 * math.pi * k / n
            f.write(f"{cx + r * math.cos(a):.4f} {cy + r * math.sin(a):.4f}\n")
for i in range(30, 33):
    circle(f"{t}/ok", i, "i", 6)
    circle(f"{t}/ok", i, "o", 10)
circle(f"{t}/noimage", 30, "i", 6)
circle(f"{t}/noimage", 999, "i", 6)
circle(f"{t}/outside", 30, "i", 6)
circle(f"{t}/outside", 31, "i", 6, cx=70.0)
os.makedirs(f"{t}/empty")
open(f"{t}/empty/notes.txt", "w").write("no contours here\n")
PY
run 0 "$CTW" contours --dicom "$d" --contours "$T/ok" -o "$T/map.nii.gz"
run 0 "$CTW" evaluate --contours "$T/ok" --dicom "$d" --test "$T/map.nii.gz"
has "$T/out" "# endo: 3 contours, 3 good (100.0 %), 0 missing"

# bad input: exit 2 naming the file, nothing on stdout
bad() {
	who=$1
	shift
	run 2 "$CTW" evaluate "$@"
	error_names "$who"
	[ "$(grep -c '^cardiotwin: error:' "$T/err")" = 1 ] || fail "not one error line: $*"
	[ ! -s "$T/out" ] || { fail "stdout written on an error: $*"; cat "$T/out" >&2; }
}
bad "$T/ph3/labels.nii.gz" --contours "$T/ok" --dicom "$d" --test "$T/ph3/labels.nii.gz"
grep -q "not on the grid of phase 1" "$T/err" || fail "off-grid message"
bad "$T/nothere.nii.gz" --contours "$T/ok" --dicom "$d" --test "$T/nothere.nii.gz"
bad "$T/noimage/IM-0001-0999-icontour-manual.txt" --contours "$T/noimage" --dicom "$d" --test "$T/map.nii.gz"
bad "$T/outside/IM-0001-0031-icontour-manual.txt" --contours "$T/outside" --dicom "$d" --test "$T/map.nii.gz"
bad "$T/empty" --contours "$T/empty" --dicom "$d" --test "$T/map.nii.gz"
bad "$T/nodir" --contours "$T/nodir" --dicom "$d" --test "$T/map.nii.gz"
bad "$d" --contours "$T/ok" --dicom "$d" --test "2=$T/map.nii.gz"

# usage errors: exit 1
for args in "--ref $T/map.nii.gz --contours $T/ok --dicom $d --test $T/map.nii.gz" \
	"--contours $T/ok --test $T/map.nii.gz" \
	"--contours $T/ok --dicom $d" \
	"--ref $T/map.nii.gz --test $T/map.nii.gz --dicom $d" \
	"--ref $T/map.nii.gz --test $T/map.nii.gz --good-mm 3" \
	"--contours $T/ok --dicom $d --test $T/map.nii.gz --labels 1" \
	"--contours $T/ok --dicom $d --test $T/map.nii.gz --labels 1,1" \
	"--contours $T/ok --dicom $d --test $T/map.nii.gz --labels 1,2,3" \
	"--contours $T/ok --dicom $d --test $T/map.nii.gz --good-mm -1" \
	"--contours $T/ok --dicom $d --test es=" \
	"--contours $T/ok --dicom $d --test xx=$T/map.nii.gz" \
	"--contours $T/ok --dicom $d --test 0=$T/map.nii.gz" \
	"--contours $T/ok --dicom $d --test 1=$T/map.nii.gz,ed=$T/map.nii.gz"; do
	# shellcheck disable=SC2086
	run 1 "$CTW" evaluate $args
	grep -q "^cardiotwin: error: evaluate: \|^cardiotwin: evaluate: " "$T/err" || { fail "no usage message: $args"; cat "$T/err" >&2; }
	[ ! -s "$T/out" ] || fail "stdout written on a usage error: $args"
done

# Sunnybrook: a phase without expert contours
if need_data sunnybrook_scd; then
	sb="$CTW_DATA/sunnybrook_scd/final_data"
	run 0 "$CTW" contours --dicom "$sb/dicoms/SCD0000101" --contours "$sb/contourfiles/SC-HF-I-1" -o "$T/sb.nii.gz"
	bad "$sb/contourfiles/SC-HF-I-1" --contours "$sb/contourfiles/SC-HF-I-1" --dicom "$sb/dicoms/SCD0000101" \
		--test "3=$T/sb.nii.gz"
	grep -q "no contour lies on the phase of --test" "$T/err" || fail "no-contour message"
fi
finish
