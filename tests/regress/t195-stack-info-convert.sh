# t195: a cine study exported one series per slice position plus long-axis series (issue 13,
# item 1), built here from Sunnybrook SCD0000101: info lists the stacks with the short-axis one
# the auto choice; convert --stack auto (and with no choice at all) gives the volume of the
# original one-series study, voxel for voxel and at the same place; --stack N reads a long-axis
# series; --stack with --series is a usage error, an unknown stack exit 2.
. "$CTW_SRC/tests/regress/lib.sh"
need_data sunnybrook_scd || { finish; exit 0; }
src="$CTW_DATA/sunnybrook_scd/final_data/dicoms/SCD0000101"
st="$T/study"
/usr/bin/python3 "$CTW_SRC/tests/regress/make_stack_study.py" "$src" "$st" >"$T/made" || fail "make_stack_study.py"

run 0 "$CTW" info "$st"
same "$(field series)" 14 "series"
same "$(field stacks | cut -d' ' -f1)" 3 "stacks"
has "$T/out" "stack 1: 12 series, 12 slices x 20 phases, short axis (auto)"
grep -q "^stack 2: series [0-9]*, 1 slice x 20 phases, 90 degrees to stack 1" "$T/out" || fail "stack 2 not a long-axis series"
grep -q "^stack 3: series [0-9]*, 1 slice x 20 phases, 90 degrees to stack 1" "$T/out" || fail "stack 3 not a long-axis series"
sed -n '/^stack 1:/,/^stack 2:/p' "$T/out" >"$T/stack1"
same "$(field size "$T/stack1")" "256 256 12" "stack 1 size"

# the same volume as the one-series study: bytes of the NIfTI and geometry within 1e-3 mm
run 0 "$CTW" convert "$src" --phase 3 -o "$T/ref.nii.gz"
run 0 "$CTW" convert "$st" --stack auto --phase 3 -o "$T/auto.nii.gz"
run 0 "$CTW" convert "$st" --phase 3 -o "$T/default.nii.gz"
run 0 "$CTW" convert "$st" --stack 1 --phase 3 -o "$T/one.nii.gz"
ref=$(gzip -dc "$T/ref.nii.gz" | cksum)
for v in auto default one; do
	same "$(gzip -dc "$T/$v.nii.gz" | cksum)" "$ref" "$v: not the one-series volume"
done
for f in ref auto; do
	run 0 "$CTW" info "$T/$f.nii.gz"
	for k in size spacing origin direction; do field $k; done >"$T/$f.geo"
done
/usr/bin/python3 - "$T/ref.geo" "$T/auto.geo" <<'PY' || fail "geometry differs"
import sys
a, b = ([float(x) for x in open(p).read().split()] for p in sys.argv[1:])
assert len(a) == len(b) == 18 and max(abs(x - y) for x, y in zip(a, b)) <= 1e-3, (a, b)
PY
has "$T/auto.json" '"phase": 3'

# a long-axis series by number: one slice
run 0 "$CTW" convert "$st" --stack 2 --phase 1 -o "$T/lax.nii.gz"
run 0 "$CTW" info "$T/lax.nii.gz"
same "$(field size)" "256 256 1" "long-axis stack size"

# usage and bad choices
run 1 "$CTW" convert "$st" --stack 1 --series 1 --phase 3 -o "$T/x.nii.gz"
has "$T/err" "give --series or --stack, not both"
run 1 "$CTW" convert "$st" --stack 0 -o "$T/x.nii.gz"
run 2 "$CTW" convert "$st" --stack 4 --phase 3 -o "$T/x.nii.gz"
error_names "$st"
has "$T/err" "no stack 4"
run 2 "$CTW" convert "$T/ref.nii.gz" --stack auto -o "$T/x.nii.gz"
error_names "$T/ref.nii.gz"
[ ! -e "$T/x.nii.gz" ] || fail "an output after an error"
# --series still reads one series (one slice of the short axis)
run 0 "$CTW" convert "$st" --series 1 --phase 3 -o "$T/s1.nii.gz"
finish
