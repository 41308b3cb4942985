# t131: one meaning of `ed` (issue 12, item 15). With contours (contours, run): the phase of the
# largest LV blood volume of the endocardial contours; image only (convert): the smallest
# trigger time. The rule is printed and recorded (the study record's phase_rule, run's stage
# record and provenance: phase_chosen); contours and run agree on Sunnybrook. Real-time cine
# (one trigger time, or none) refuses --phase ed with an explanation; --phase N works. --phase 2
# or ed on a 3-D image file (NIfTI) is exit 2 naming the file, in convert and in run (a 4-D NIfTI
# cine takes a phase number: t188).
. "$CTW_SRC/tests/regress/lib.sh"

"$CTW" -q phantom --kind lv --spacing 4 -o "$T/ph" >/dev/null || fail "phantom"
run 2 "$CTW" convert "$T/ph/image.nii.gz" --phase 2 -o "$T/o.nii.gz"
error_names "$T/ph/image.nii.gz: no phase 2: the image has 1 volume"
run 2 "$CTW" run --image "$T/ph/image.nii.gz" --labels "$T/ph/labels.nii.gz" --phase 2 -o "$T/r0"
error_names "$T/ph/image.nii.gz: no phase 2: the image has 1 volume"
run 2 "$CTW" convert "$T/ph/image.nii.gz" --phase ed -o "$T/o.nii.gz"
error_names "$T/ph/image.nii.gz: phase ed is found from a DICOM cine's trigger times"

[ -d "$CTW_DATA/sunnybrook_scd" ] || { [ "${CI:-}" = true ] && { echo "FAIL: $CTW_DATA missing" >&2; exit 1; }; echo "skip: no $CTW_DATA"; exit 0; }
sb="$CTW_DATA/sunnybrook_scd/final_data"
# SCD0000101: the contours' ED is phase 19 (191 mL), the first trigger time is phase 1
run 0 "$CTW" contours --dicom "$sb/dicoms/SCD0000101" --contours "$sb/contourfiles/SC-HF-I-1" -o "$T/l.nii.gz"
has "$T/out" "contours: phase 19,"
has "$T/out" "ed = phase 19 of 20: the largest LV blood volume"
run 0 "$CTW" run --image "$sb/dicoms/SCD0000101" --contours "$sb/contourfiles/SC-HF-I-1" --edge-length 4 --formats vtk -o "$T/r"
has "$T/out" "contours: phase 19,"
has "$T/r/case.work/input.record" "param phase_chosen=ed = phase 19 of 20: the largest LV blood volume"
has "$T/r/case/provenance.xml" "ed = phase 19 of 20: the largest LV blood volume"
run 0 "$CTW" convert "$sb/dicoms/SCD0000101" --phase ed -o "$T/c.nii.gz"
has "$T/out" "phase 1 of 20 (ed = phase 1 of 20: the smallest trigger time"
has "$T/c.json" '"phase_rule": "ed = phase 1 of 20: the smallest trigger time'
# SCD0000301: contours and run give phase 20
run 0 "$CTW" contours --dicom "$sb/dicoms/SCD0000301" --contours "$sb/contourfiles/SC-HF-I-4" -o "$T/l3.nii.gz"
has "$T/out" "ed = phase 20 of 20: the largest LV blood volume"

# real-time cine: every TriggerTime equal, then none
for how in same none; do
	mkdir "$T/rt-$how"
	/usr/bin/python3 - "$sb/dicoms/SCD0000101" "$T/rt-$how" $how <<'PY' || fail "pydicom"
import os, sys, warnings
import pydicom
warnings.simplefilter("ignore")
src, out, how = sys.argv[1:4]
for s in (2, 3, 4):
    for p in range(4):
        d = pydicom.dcmread(os.path.join(src, "%d.dcm" % (20 * s + p + 1)))
        if how == "same":
            d.TriggerTime = "0"
        else:
            del d.TriggerTime
        d.save_as(os.path.join(out, "%d-%d.dcm" % (s, p)))
PY
	run 2 "$CTW" convert "$T/rt-$how" --phase ed -o "$T/rt.nii.gz"
	error_names "$T/rt-$how: the 4 cine phases .*real-time cine.*pass --phase N"
	run 0 "$CTW" convert "$T/rt-$how" --phase 2 -o "$T/rt.nii.gz"
done
finish
