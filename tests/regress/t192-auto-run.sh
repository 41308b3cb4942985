#!/bin/sh
# t192: end to end with no contours (issue 13 §3): `run --image STUDY --auto mr` with --model lv
# and biv on both shared Sunnybrook studies gives packages that `verify` passes, whose provenance
# records the weights' SHA-256 and the phase rule, whose mesh passed every check with default
# options, and whose LV blood volume at ED is within 5 % of the expert contours' (the same phase,
# on the same grid: `contours` writes the expert's map, `segment --auto --phase N` ours, both
# without resampling; the shipped weights give -2.0 % and -3.7 %).
# label: slow
. "$(dirname "$0")/lib.sh"
need_data sunnybrook_scd || { finish; exit 0; }
SB="$CTW_DATA/sunnybrook_scd/final_data"
sum=$(cut -c1-64 "$CTW_SRC/segment/models/unet-mr.bin.sha256")
# the LV blood volume (label 1) of a NIfTI label map, mL, by VTK's reader
lv_ml() {
	PYTHONPATH="$CTW_SRC/tests/regress" /usr/bin/python3 -c '
import sys, numpy as np, labelmaps as lm
a, m = lm.read_nifti(sys.argv[1])
print("%.3f" % ((a == 1).sum() * abs(np.linalg.det(m[:3, :3])) / 1000.0))' "$1"
}
for pair in SCD0000101:SC-HF-I-1 SCD0000301:SC-HF-I-4; do
	d="$SB/dicoms/${pair%%:*}" c="$SB/contourfiles/${pair#*:}" n="${pair%%:*}"
	for model in lv biv; do
		run 0 "$CTW" run --image "$d" --auto mr --model $model --case-id "$n-$model" -o "$T/o"
		has "$T/out" "run: package"
		run 0 "$CTW" verify "$T/o/$n-$model"
		has "$T/o/$n-$model/provenance.xml" "<param:auto_weights_sha256>$sum<"
		has "$T/o/$n-$model/provenance.xml" "<param:phase_chosen>ed: phase"
		has "$T/o/$n-$model/provenance.xml" "<param:auto_slice_confidence>"
		grep -q "warning" "$T/o/$n-$model.work/mesh.record" 2>/dev/null && fail "$n $model: the mesh stage warned"
	done
	# the LV blood volume at the expert's ED phase against the contours'
	run 0 "$CTW" -q contours --dicom "$d" --contours "$c" -o "$T/$n-ref.nii.gz"
	ed=$(sed -n 's/^contours: phase \([0-9]*\),.*/\1/p' "$T/out")
	[ -n "$ed" ] || { fail "$n: no ED phase from contours"; continue; }
	run 0 "$CTW" -q segment --image "$d" --auto mr --phase "$ed" --iso 0 --pad 0 -o "$T/$n-auto.nii.gz"
	ref=$(lv_ml "$T/$n-ref.nii.gz") got=$(lv_ml "$T/$n-auto.nii.gz")
	echo "$n: LV blood at ED (phase $ed): expert $ref mL, automatic $got mL"
	/usr/bin/python3 -c "import sys; r, g = $ref, $got; sys.exit(0 if abs(g - r) <= 0.05 * r else 1)" ||
		fail "$n: LV blood volume $got mL is not within 5 % of the expert's $ref mL"
done
# the study as scanners export it (one series per slice position, two long-axis series): the
# short-axis stack is found among the series and segmented as the one-series study is
/usr/bin/python3 "$CTW_SRC/tests/regress/make_stack_study.py" "$SB/dicoms/SCD0000101" "$T/study" >/dev/null ||
	fail "make_stack_study"
run 0 "$CTW" -q segment --image "$SB/dicoms/SCD0000101" --auto mr --phase 5 --iso 0 -o "$T/one.nii.gz"
run 0 "$CTW" -q segment --image "$T/study" --auto mr --phase 5 --iso 0 -o "$T/split.nii.gz"
PYTHONPATH="$CTW_SRC/tests/regress" /usr/bin/python3 -c '
import sys, numpy as np, labelmaps as lm
a, ma = lm.read_nifti(sys.argv[1]); b, mb = lm.read_nifti(sys.argv[2])
sys.exit(0 if a.shape == b.shape and np.array_equal(a, b) and np.allclose(ma, mb, atol=1e-3) else 1)' \
	"$T/one.nii.gz" "$T/split.nii.gz" || fail "the split study's labels differ from the one-series study's"
finish
