# t101: `cardiotwin info` on real data, against the size, spacing and orientation that
# ../shared/data/SOURCES.md gives. Pins issue #2 (2026-11-24).
. "$CTW_SRC/tests/regress/lib.sh"
need_data || exit 0

ts="$CTW_DATA/totalsegmentator/tests/reference_files"
# check PATH SIZE SPACING ORIENTATION PIXEL
check() {
	run 0 "$CTW" info "$1"
	same "$(field size)" "$2" "(size of $1)"
	same "$(field spacing)" "$3" "(spacing of $1)"
	same "$(field orientation)" "$4" "(orientation of $1)"
	same "$(field 'pixel type')" "$5" "(pixel type of $1)"
}
# CT crop: NIfTI, affine diag(-1.5, -1.5, 1.5) in RAS = identity direction in LPS
check "$ts/aorta_report/test_result/models/ct_cropped.nii.gz" "120 126 164" "1.5 1.5 1.5" LPS int16
same "$(field direction)" "1 0 0 0 1 0 0 0 1"
same "$(field format)" "NIfTI"
# origin (71.658, 255.658, 540.2) in RAS is (-71.658, -255.658, 540.2) in LPS
origin=$(field origin)
echo "$origin" | awk '{ exit !(($1 + 71.658)^2 < 1e-6 && ($2 + 255.658)^2 < 1e-6 && ($3 - 540.2)^2 < 1e-6) }' ||
	fail "origin $origin, expected -71.658 -255.658 540.2 (LPS)"
check "$ts/aorta_report/test_result/models/aorta.nii.gz" "120 126 164" "1.5 1.5 1.5" LPS uint8
check "$ts/pulmonary_report/models/ct_cropped.nii.gz" "122 102 112" "1.5 1.5 1.5" LPS int16
check "$ts/pulmonary_report/models/heart.nii.gz" "233 167 191" "1.5 1.5 1.5" LPS uint8

# DeepCAC masks: NRRD, short, left-posterior-superior, 0.68 x 0.68 x 2.5 mm
for c in "0187 143" "0506 122" "0909 126" "0987 119"; do
	set -- $c
	check "$CTW_DATA/deepcac/data/raw/$1/msk.nrrd" "512 512 $2" "0.68 0.68 2.5" LPS int16
	same "$(field format)" "NRRD"
done
finish
