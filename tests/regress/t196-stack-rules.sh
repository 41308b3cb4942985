# t196: the grouping rules of stacks (issue 13, item 1): a series imaging a slice position of the
# stack again (exit 2 naming both series), a series with another phase count (left out, listed),
# one 1.5 degrees off parallel or on another grid (a stack of its own), no clear short-axis
# stack (exit 2 listing the stacks), and contours --stack on the split study (the same labels as
# on the one-series study: contour file names are instance numbers, kept when splitting).
. "$CTW_SRC/tests/regress/lib.sh"
need_data sunnybrook_scd || { finish; exit 0; }
src="$CTW_DATA/sunnybrook_scd/final_data/dicoms/SCD0000101"
mk() { /usr/bin/python3 "$CTW_SRC/tests/regress/make_stack_study.py" "$src" "$T/$1" "$@" >/dev/null || fail "make $1"; }

mk dup nolax
run 0 "$CTW" info "$T/dup"
has "$T/out" "stack 1: 13 series, 12 slices x 20 phases"
grep -q "^  problem: series [0-9]* and [0-9]* image the same slice position" "$T/out" || fail "dup: no problem listed"
run 2 "$CTW" convert "$T/dup" --stack auto --phase 3 -o "$T/x.nii.gz"
error_names "$T/dup"
grep -q "series [0-9]* (id [0-9a-f]*) and series [0-9]* (id [0-9a-f]*) of stack 1 image the same slice position" "$T/err" ||
	fail "dup: both series not named"
run 2 "$CTW" convert "$T/dup" --phase 3 -o "$T/x.nii.gz"
[ ! -e "$T/x.nii.gz" ] || fail "dup: an output after an error"

mk phases nolax
run 0 "$CTW" info "$T/phases"
has "$T/out" "stack 1: 11 series, 11 slices x 20 phases, short axis (auto)"
grep -q "^  left out: series [0-9]* (parallel, same grid, but 19 phases, not 20)" "$T/out" || fail "phases: not listed as left out"
has "$T/out" "1 slice x 19 phases, 0 degrees to stack 1"
run 0 "$CTW" convert "$T/phases" --phase 3 -o "$T/p.nii.gz"
has "$T/out" "256 x 256 x 11 voxels"

for v in tilt grid; do
	mk $v nolax
	run 0 "$CTW" info "$T/$v"
	has "$T/out" "stack 1: 11 series, 11 slices x 20 phases, short axis (auto)"
	grep -q "^stack 2: series [0-9]*, 1 slice x 20 phases" "$T/out" || fail "$v: not a stack of its own"
done
has "$T/out" "0 degrees to stack 1"
run 0 "$CTW" info "$T/tilt"
has "$T/out" "1.5 degrees to stack 1"

# long-axis series only: no clear choice, exit 2 listing the stacks; --stack auto still reads
mkdir -p "$T/laxonly"
mk full
mv "$T/full/lax_a" "$T/full/lax_b" "$T/laxonly/"
run 2 "$CTW" convert "$T/laxonly" --phase 1 -o "$T/x.nii.gz"
error_names "$T/laxonly"
has "$T/err" "no clear short-axis stack (stacks 1: series 1, 1 slice x 20 phases"
run 0 "$CTW" convert "$T/laxonly" --stack auto --phase 1 -o "$T/l.nii.gz"

# contours on the split study: the labels of the one-series study
cdir="$CTW_DATA/sunnybrook_scd/final_data/contourfiles/SC-HF-I-1"
run 0 "$CTW" contours --dicom "$src" --contours "$cdir" -o "$T/c_ref.nii.gz"
run 0 "$CTW" contours --dicom "$T/full" --contours "$cdir" --stack auto -o "$T/c_st.nii.gz"
same "$(gzip -dc "$T/c_st.nii.gz" | cksum)" "$(gzip -dc "$T/c_ref.nii.gz" | cksum)" "contours --stack auto"
run 1 "$CTW" contours --dicom "$T/full" --contours "$cdir" --stack 1 --series 1 -o "$T/x.nii.gz"
finish
