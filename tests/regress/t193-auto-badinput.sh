#!/bin/sh
# t193: segment/run --auto mr on what it must refuse, and on a 4-D NIfTI cine (issue 13): weights
# missing or corrupt (exit 4, the path and both checksums), a CT (exit 2), one slice or long-axis
# series only (exit 2), an image with no heart (exit 3), wrong options (exit 1), nothing half
# written; and on a 4-D NIfTI of an ACDC validation patient's ED and ES frames, `ed` and `es`
# pick the frame with the larger and the smaller LV blood volume (what ACDC's experts marked).
. "$(dirname "$0")/lib.sh"
W="$CTW_SRC/segment/models/unet-mr.bin"
sum=$(cut -c1-64 "$W.sha256")
PY="/usr/bin/python3 $CTW_SRC/tests/regress/auto_acdc.py"
cd "$T" || exit 1
/usr/bin/python3 - <<'PY'
import numpy as np, sys
sys.path.insert(0, __import__("os").environ["CTW_SRC"] + "/tests/regress")
import auto_acdc as a
a.write_nifti("flat.nii", np.full((12, 160, 160), 100, np.float32), (1.5, 1.5, 8))
a.write_nifti("one.nii", np.random.default_rng(1).random((1, 160, 160)).astype(np.float32), (1.5, 1.5, 8))
PY
"$CTW" -q phantom --kind lv --spacing 2 -o ph >/dev/null || fail "phantom"

# usage
run 1 "$CTW" segment --image flat.nii --auto ct -o x.nii.gz
has "$T/err" "--auto must be mr"
run 1 "$CTW" segment --auto mr -o x.nii.gz
has "$T/err" "--auto mr needs --image"
run 1 "$CTW" segment --image flat.nii --auto mr --labels ph/labels.nii.gz -o x.nii.gz
run 1 "$CTW" run --image flat.nii --auto mr --labels ph/labels.nii.gz -o o1
run 1 "$CTW" run --phantom lv --auto mr -o o1
run 1 "$CTW" run --auto mr -o o1
has "$T/err" "--auto mr needs --image"
run 1 "$CTW" run --image flat.nii --auto xx -o o1
[ -e o1 ] && fail "run wrote o1 after a usage error"
cat >bad.xml <<XML
<case id="c1"><input><image path="flat.nii"/><auto modality="ct"/></input><model>lv</model></case>
XML
run 2 "$CTW" run bad.xml -o o1
error_names bad.xml
[ -e x.nii.gz ] && fail "x.nii.gz written"

# the weights: missing, corrupt (one byte changed), the right file elsewhere (accepted)
CTW_UNET_MR="$T/none.bin" run 4 "$CTW" segment --image flat.nii --auto mr -o x.nii.gz
error_names "$T/none.bin"
cp "$W" w.bin && printf '\001' | dd of=w.bin bs=1 seek=100000 conv=notrunc 2>/dev/null
CTW_UNET_MR="$T/w.bin" run 4 "$CTW" segment --image flat.nii --auto mr -o x.nii.gz
error_names "$T/w.bin"
has "$T/err" "$sum"
[ -e x.nii.gz ] && fail "x.nii.gz written with bad weights"

# not a cine MR short-axis stack
run 2 "$CTW" segment --image ph/dicom --auto mr -o x.nii.gz
error_names ph/dicom
has "$T/err" "CT"
run 2 "$CTW" segment --image ph/image.nii.gz --auto mr -o x.nii.gz
has "$T/err" "Hounsfield"
run 2 "$CTW" segment --image one.nii --auto mr -o x.nii.gz
has "$T/err" "not a short-axis stack"
run 3 "$CTW" segment --image flat.nii --auto mr -o x.nii.gz
has "$T/err" "no LV blood pool"
[ -e x.nii.gz ] || [ -e x.log ] && fail "output written for an image without a heart"
run 3 "$CTW" run --image flat.nii --auto mr -o o2
[ -e o2/case ] && fail "a package from an image without a heart"

if need_data sunnybrook_scd; then
	# long-axis series only: the study as scanners export it, without its short-axis series
	/usr/bin/python3 "$CTW_SRC/tests/regress/make_stack_study.py" "$CTW_DATA/sunnybrook_scd/final_data/dicoms/SCD0000101" \
		study >/dev/null || fail "make_stack_study"
	mkdir lax && mv study/lax_a study/lax_b lax/
	run 2 "$CTW" segment --image lax --auto mr -o x.nii.gz
	error_names lax
fi
if need_data acdc && /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
	# a 4-D cine of a validation patient: ED frame first, then ES; then the other way round
	v=$(sed -n 's/^val *\(patient[0-9]*\).*/\1/p' "$CTW_SRC/segment/train/split.txt" | head -n 1)
	set -- $(ls "$CTW_DATA"/acdc/data/ACDC/ACDC_training_volumes/"$v"_frame*.h5)
	$PY write cine.nii "$1" "$2" && $PY write enic.nii "$2" "$1" || fail "4-D NIfTI"
	run 0 "$CTW" segment --image cine.nii --auto mr --iso 0 -o ed.nii.gz
	has "$T/out" "ed: phase 1 of 2"
	run 0 "$CTW" segment --image enic.nii --auto mr --phase es --iso 0 -o es.nii.gz
	has "$T/out" "es: phase 1 of 2"
	run 0 "$CTW" segment --image enic.nii --auto mr --phase 2 --iso 0 -o e2.nii.gz
	has "$T/out" "phase 2 as given"
	PYTHONPATH="$CTW_SRC/tests/regress" /usr/bin/python3 -c '
import sys, numpy as np, labelmaps as lm
sys.exit(0 if np.array_equal(lm.read_nifti("ed.nii.gz")[0], lm.read_nifti("e2.nii.gz")[0]) else 1)' ||
		fail "phase 2 of the reversed cine differs from the ED phase of the other"
	run 2 "$CTW" segment --image cine.nii --auto mr --phase 3 -o x.nii.gz
	has "$T/err" "no phase 3"
fi
finish
