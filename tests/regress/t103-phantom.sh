# t103: `cardiotwin phantom` writes image, labels, a DICOM series and truth.xml; voxel-counted
# label volumes, read back by an independent reader (VTK's NIfTI reader in Debian's Python),
# match the analytic ones within 1 % at 1 mm; same seed, same bytes. Pins issue #2 (2026-11-24).
. "$CTW_SRC/tests/regress/lib.sh"

for kind in lv biv; do
	run 0 "$CTW" phantom --kind $kind -o "$T/$kind"
	for f in image.nii.gz labels.nii.gz truth.xml dicom/IM0001.dcm; do
		[ -f "$T/$kind/$f" ] || fail "$kind: $f missing"
	done
	xmllint --noout "$T/$kind/truth.xml" || fail "$kind: truth.xml is not well-formed"
	ls -a "$T" | grep -q '\.tmp-' && fail "temporary files left in $T"
	# the DICOM series has the geometry of the NIfTI image
	run 0 "$CTW" info "$T/$kind/image.nii.gz"
	cp "$T/out" "$T/nii.txt"
	run 0 "$CTW" info "$T/$kind/dicom"
	for k in size spacing origin direction; do
		same "$(field $k "$T/nii.txt")" "$(field $k)" "($kind $k: NIfTI vs DICOM)"
	done
	/usr/bin/python3 - "$T/$kind" <<'PY' || fail "$kind: label volumes"
import sys, xml.etree.ElementTree as ET
import numpy as np, vtk
from vtk.util.numpy_support import vtk_to_numpy
d = sys.argv[1]
r = vtk.vtkNIFTIImageReader(); r.SetFileName(d + "/labels.nii.gz"); r.Update()
lab = vtk_to_numpy(r.GetOutput().GetPointData().GetScalars())
sp = r.GetOutput().GetSpacing(); vox = sp[0] * sp[1] * sp[2]
truth = ET.parse(d + "/truth.xml").getroot()
labels = truth.findall("label")
assert len(labels) >= 2
seen = set(int(v) for v in np.unique(lab))
want = {0} | {int(l.get("value")) for l in labels}
assert seen == want, (seen, want)
for l in labels:
    v = int(l.get("value")); exact = float(l.get("volume_mm3"))
    counted = np.count_nonzero(lab == v) * vox
    err = abs(counted - exact) / exact
    print("label %3d %-9s exact %10.1f counted %10.1f mm3 (%.3f %%)" % (v, l.get("name"), exact, counted, 100 * err))
    assert err < 0.01, err
PY
done

# reproducible by seed; a different seed gives a different image
run 0 "$CTW" phantom --kind lv --spacing 2 --noise 25 --seed 7 -o "$T/s7a"
run 0 "$CTW" phantom --kind lv --spacing 2 --noise 25 --seed 7 -o "$T/s7b"
run 0 "$CTW" phantom --kind lv --spacing 2 --noise 25 --seed 8 -o "$T/s8"
cmp -s "$T/s7a/image.nii.gz" "$T/s7b/image.nii.gz" || fail "same seed, different image"
cmp -s "$T/s7a/image.nii.gz" "$T/s8/image.nii.gz" && fail "different seed, same image"
cmp -s "$T/s7a/labels.nii.gz" "$T/s8/labels.nii.gz" || fail "the noise changed the labels"

# re-running into an existing output replaces it atomically; a file in the way is refused
run 0 "$CTW" phantom --kind lv --spacing 2 -o "$T/s7a"
: >"$T/afile"
run 2 "$CTW" phantom --kind lv --spacing 2 -o "$T/afile"
error_names "$T/afile"
run 2 "$CTW" phantom --kind lv --spacing 2 -o "/proc/no/such/dir"
finish
