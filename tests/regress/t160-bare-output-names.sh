# t160: `-o NAME` without a directory (issue 12 item 13): every command that writes, run in a
# fresh working directory with a bare output name, succeeds and writes NAME there; before the fix
# convert, contours and segment failed with "directory '<uninitialised bytes>' does not exist".
# The contours part needs ../shared/data and is skipped without it.
. "$CTW_SRC/tests/regress/lib.sh"

W="$T/work dir"
mkdir -p "$W"
cd "$W" || exit 1
run 0 "$CTW" phantom --kind lv --spacing 1.5 -o ph
[ -f ph/labels.nii.gz ] || fail "phantom: no ph/labels.nii.gz"
run 0 "$CTW" convert ph/image.nii.gz -o img.nii.gz
[ -f img.nii.gz ] && [ -f img.json ] || fail "convert: no img.nii.gz/img.json in the working directory"
run 0 "$CTW" convert ph/dicom -o dcm.nii
[ -f dcm.nii ] && [ -f dcm.json ] || fail "convert (DICOM): no dcm.nii/dcm.json"
run 0 "$CTW" segment --labels ph/labels.nii.gz --preset canonical --model lv -o seg.nii.gz
[ -f seg.nii.gz ] && [ -f seg.log ] || fail "segment: no seg.nii.gz/seg.log"
run 0 "$CTW" mesh --labels seg.nii.gz --model lv --edge-length 3 -o m
[ -f m/mesh.vtu ] || fail "mesh: no m/mesh.vtu"
run 0 "$CTW" fibers --mesh m -o f
[ -f f/mesh.vtu ] || fail "fibers: no f/mesh.vtu"
run 0 "$CTW" export --mesh f --labels seg.nii.gz --formats vtk -o pkg
[ -f pkg/SHA256SUMS ] || fail "export: no pkg/SHA256SUMS"
run 0 "$CTW" verify pkg
run 0 "$CTW" evaluate --ref seg.nii.gz --test seg.nii.gz
has "$T/out" "dice"
run 0 "$CTW" run --phantom lv --edge-length 4 --formats vtk -o out
[ -f out/case/SHA256SUMS ] || fail "run: no out/case/SHA256SUMS"
# no stray temporary outputs
[ -z "$(find . -name '.tmp-*')" ] || fail "temporary outputs left: $(find . -name '.tmp-*')"

if need_data sunnybrook_scd/final_data; then
	sb="$CTW_DATA/sunnybrook_scd/final_data"
	run 0 "$CTW" contours --dicom "$sb/dicoms/SCD0000101" --contours "$sb/contourfiles/SC-HF-I-1" -o lab.nii.gz
	[ -f lab.nii.gz ] || fail "contours: no lab.nii.gz"
fi
finish
