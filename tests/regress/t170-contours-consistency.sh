# t170: Sunnybrook contours that do not fit together (issue 12 item 8). The epicardial contours
# of SC-HF-I-1 shifted by 15 mm in x (built here from ../shared/data): `contours` and `run` warn
# naming each slice with the blood-pool fraction outside the epicardium and the wall thickness,
# the warnings lead the package's report.html ("No warnings" not printed), and --strict (before
# or after the command) makes them exit 2 with nothing written. The original contours give no
# warning. Item 17: a phase with endocardial but no epicardial contours warns that the myocardium
# is empty.
. "$CTW_SRC/tests/regress/lib.sh"

[ -d "$CTW_DATA" ] || { [ "${CI:-}" = true ] && { echo "FAIL: $CTW_DATA missing" >&2; exit 1; }; echo "skip: no $CTW_DATA"; exit 0; }
sb="$CTW_DATA/sunnybrook_scd/final_data"
dcm="$sb/dicoms/SCD0000101"
orig="$sb/contourfiles/SC-HF-I-1"

# the shifted copy: 15 mm / 1.367188 mm pixels = 10.97 pixels to the right
mkdir -p "$T/shift/i-contours" "$T/shift/o-contours"
cp "$orig"/i-contours/*.txt "$T/shift/i-contours/"
for f in "$orig"/o-contours/*.txt; do
	awk '{ printf "%.4f %.4f\n", $1 + 15 / 1.367188, $2 }' "$f" >"$T/shift/o-contours/${f##*/}"
done

# the original contours: no warning at all
run 0 "$CTW" contours --dicom "$dcm" --contours "$orig" -o "$T/orig.nii.gz"
grep -q "warning" "$T/err" && { fail "warnings on the original contours:"; cat "$T/err" >&2; }
run 0 "$CTW" --strict contours --dicom "$dcm" --contours "$orig" -o "$T/orig2.nii.gz"
[ -s "$T/orig2.nii.gz" ] || fail "--strict on the original contours wrote nothing"

# shifted: a warning per slice naming the slice, its file and the figures; the map is written
run 0 "$CTW" contours --dicom "$dcm" --contours "$T/shift" -o "$T/shift.nii.gz"
[ -s "$T/shift.nii.gz" ] || fail "no label map from the shifted contours"
n=$(grep -c "^cardiotwin: warning: .*icontour-manual.txt: slice [0-9]* (instance [0-9]*): .* % of the blood pool lies outside the epicardium .*ocontour-manual.txt.* the wall is .* mm thick" "$T/err")
[ "$n" -ge 8 ] || { fail "$n slice warnings for the shifted epicardium, expected 8 or more"; cat "$T/err" >&2; }
has "$T/err" "slice 5 (instance 139)"

# --strict: exit 2 naming a contour file, nothing written (before and after the command)
run 2 "$CTW" --strict contours --dicom "$dcm" --contours "$T/shift" -o "$T/strict.nii.gz"
error_names "icontour-manual.txt: slice"
has "$T/err" "under --strict"
[ ! -e "$T/strict.nii.gz" ] || fail "--strict wrote its output"
run 2 "$CTW" contours --dicom "$dcm" --contours "$T/shift" -o "$T/strict.nii.gz" --strict
[ ! -e "$T/strict.nii.gz" ] || fail "--strict (after the command) wrote its output"

# run: the warnings reach report.html; --strict: exit 2 and no package
run 0 "$CTW" run --image "$dcm" --contours "$T/shift" --edge-length 4 --formats vtk -o "$T/run"
rep="$T/run/case/report.html"
[ -f "$rep" ] || fail "no report"
has "$rep" "of the blood pool lies outside the epicardium"
has "$rep" "slice 5 (instance 139)"
grep -q "No warnings" "$rep" && fail "report.html says 'No warnings' after contour warnings"
# a re-run with --from export skips the input stage: its warnings come from its record
run 0 "$CTW" run --image "$dcm" --contours "$T/shift" --edge-length 4 --formats vtk --from export -o "$T/run"
has "$rep" "slice 5 (instance 139)"
run 2 "$CTW" --strict run --image "$dcm" --contours "$T/shift" --edge-length 4 --formats vtk -o "$T/run2"
error_names "icontour-manual.txt"
[ ! -e "$T/run2/case" ] || fail "--strict run wrote a package"

# item 17: phase 8 (end-systole) has endocardial contours only
run 0 "$CTW" contours --dicom "$dcm" --contours "$orig" --phase 8 -o "$T/es.nii.gz"
has "$T/err" "phase 8 has endocardial but no epicardial contours: the myocardium (label 2) is empty"
has "$T/err" "cannot be meshed"
has "$T/err" "$orig"
run 2 "$CTW" --strict contours --dicom "$dcm" --contours "$orig" --phase 8 -o "$T/es2.nii.gz"
[ ! -e "$T/es2.nii.gz" ] || fail "--strict wrote its output"

# --strict on a warning a stage only logs (export of a mesh without fibres): exit 2 at the end,
# the package it made removed; without --strict the warning is in the report
run 0 "$CTW" phantom --kind lv -o "$T/ph"
run 0 "$CTW" segment --labels "$T/ph/labels.nii.gz" --preset canonical --model lv -o "$T/seg.nii.gz"
run 0 "$CTW" mesh --labels "$T/seg.nii.gz" --model lv --edge-length 4 -o "$T/m"
run 2 "$CTW" --strict export --mesh "$T/m" --formats vtk -o "$T/pkg"
has "$T/err" "under --strict"
has "$T/err" "no fibres"
[ ! -e "$T/pkg" ] || fail "--strict export left its package"
run 0 "$CTW" export --mesh "$T/m" --formats vtk -o "$T/pkg"
has "$T/pkg/report.html" "no fibres"
finish
