# t197: run on a study exported one series per slice position with long-axis series beside it
# (issue 13, item 1): --stack auto reaches the contours stage and the package passes verify; a
# case file's <image stack="auto"> does the same; segment --stack reads the stack's grid.
. "$CTW_SRC/tests/regress/lib.sh"
need_data sunnybrook_scd || { finish; exit 0; }
src="$CTW_DATA/sunnybrook_scd/final_data/dicoms/SCD0000101"
cdir="$CTW_DATA/sunnybrook_scd/final_data/contourfiles/SC-HF-I-1"
st="$T/study"
/usr/bin/python3 "$CTW_SRC/tests/regress/make_stack_study.py" "$src" "$st" >/dev/null || fail "make_stack_study.py"

run 0 "$CTW" run --image "$st" --contours "$cdir" --stack auto --edge-length 3 -o "$T/out1"
run 0 "$CTW" verify "$T/out1/case"
grep -q -- "--stack" "$T/out1/case/provenance.xml" || fail "--stack not in the provenance"

cat >"$T/case.xml" <<XML
<?xml version="1.0"?>
<case id="split">
  <input>
    <image path="$st" stack="auto"/>
    <contours dir="$cdir"/>
  </input>
  <model>lv</model>
  <mesh edge-length="3"/>
</case>
XML
run 0 "$CTW" run "$T/case.xml" -o "$T/out2"
run 0 "$CTW" verify "$T/out2/split"
sed 's/stack="auto"/stack="x"/' "$T/case.xml" >"$T/bad.xml"
run 2 "$CTW" run "$T/bad.xml" -o "$T/out3"
error_names "$T/bad.xml"
sed 's/stack="auto"/stack="auto" series="1"/' "$T/case.xml" >"$T/both.xml"
run 2 "$CTW" run "$T/both.xml" -o "$T/out3"
error_names "$T/both.xml"
run 1 "$CTW" run --image "$st" --contours "$cdir" --stack 1 --series 2 -o "$T/out3"
[ ! -e "$T/out3" ] || fail "an output after a usage error"

# segment: a label map on the stack's grid, --image the split study with --stack
run 0 "$CTW" segment --labels "$T/out1/case.work/input/labels.nii.gz" --image "$st" --stack auto --phase ed --model lv -o "$T/seg.nii.gz"
run 1 "$CTW" segment --labels "$T/out1/case.work/input/labels.nii.gz" --image "$st" --stack 1 --series 1 -o "$T/x.nii.gz"
finish
