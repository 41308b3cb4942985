# t104: the two Sunnybrook cine MR studies: series layout (256 x 256, 12 resp. 10 slices, 20
# phases, oblique), geometry from the slice positions, convert checked voxel by voxel against an
# independent DICOM reader (pydicom) and NIfTI reader (VTK), and the expert contours rasterised at
# end-diastole against the polygon areas. Pins issue #3 (2026-11-24).
. "$CTW_SRC/tests/regress/lib.sh"
need_data sunnybrook_scd || exit 0

sb="$CTW_DATA/sunnybrook_scd/final_data"
export CTW_SALT_FILE="$T/salt"
head -c 32 /dev/urandom >"$CTW_SALT_FILE"

# case DICOM CONTOURS SLICES PIXEL-SPACING SLICE-SPACING
for c in "SCD0000101 SC-HF-I-1 12 1.367188 10" "SCD0000301 SC-HF-I-4 10 1.2891 8"; do
	set -- $c
	dcm="$sb/dicoms/$1"
	run 0 "$CTW" info "$dcm"
	same "$(field series)" 1 "($1 series)"
	same "$(field size)" "256 256 $3" "($1 size)"
	same "$(field phases)" 20 "($1 phases)"
	same "$(field modality)" MR
	echo "$(field spacing)" | awk -v p="$4" -v s="$5" '{ exit !($1 == p && $2 == p && ($3 - s)^2 < (s * 0.001)^2) }' ||
		fail "$1 spacing $(field spacing), expected $4 $4 $5"
	# an orthonormal, oblique direction matrix
	echo "$(field direction)" | awk '{
		for (c = 0; c < 3; c++) for (d = 0; d < 3; d++) {
			s = $(1 + c) * $(1 + d) + $(4 + c) * $(4 + d) + $(7 + c) * $(7 + d)
			if ((s - (c == d))^2 > 1e-10) exit 1
		}
		for (i = 1; i <= 9; i++) if ($i^2 > 0.999) exit 1
	}' || fail "$1 direction $(field direction) is not orthonormal and oblique"

	# convert two phases; every voxel where pydicom puts it, with pydicom's value
	run 0 "$CTW" convert "$dcm" --phase ed -o "$T/$1-ed.nii.gz"
	run 0 "$CTW" convert "$dcm" --phase 19 -o "$T/$1-19.nii"
	/usr/bin/python3 - "$dcm" "$T/$1" <<'PY' || fail "$1: convert does not match pydicom"
import sys, glob, json, warnings
import numpy as np, pydicom, vtk
from vtk.util.numpy_support import vtk_to_numpy
warnings.simplefilter("ignore")
dcm, out = sys.argv[1], sys.argv[2]
files = [pydicom.dcmread(f) for f in glob.glob(dcm + "/*.dcm")]
for name, phase in (("-ed.nii.gz", 1), ("-19.nii", 19)):
    r = vtk.vtkNIFTIImageReader(); r.SetFileName(out + name); r.Update()
    img = r.GetOutput(); nx, ny, nz = img.GetDimensions()
    vox = vtk_to_numpy(img.GetPointData().GetScalars()).reshape(nz, ny, nx)
    m = r.GetSFormMatrix() or r.GetQFormMatrix()
    A = np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])
    # VTK's reader may flip axes to its own convention: undo with its QFormMatrix/SForm only if
    # the image origin/spacing are used; we read the raw affine and the raw voxel order instead.
    sp = img.GetSpacing()
    # the i, j, k -> RAS affine of the file (vtkNIFTIImageReader applies it to index*spacing)
    def world(i, j, k):
        p = A @ np.array([i * sp[0], j * sp[1], k * sp[2], 1.0])
        return np.array([-p[0], -p[1], p[2]])  # RAS -> LPS
    # the slices of this phase, by pydicom: the phase-th trigger time at each position
    pos = {}
    for d in files:
        pos.setdefault(tuple(round(float(x), 3) for x in d.ImagePositionPatient), []).append(d)
    stack = [sorted(v, key=lambda d: float(d.TriggerTime))[phase - 1] for v in pos.values()]
    iop = np.array([float(x) for x in stack[0].ImageOrientationPatient])
    normal = np.cross(iop[:3], iop[3:])
    stack.sort(key=lambda d: normal @ np.array([float(x) for x in d.ImagePositionPatient]))
    assert nz == len(stack), (nz, len(stack))
    worst = 0.0
    for k, d in enumerate(stack):
        ipp = np.array([float(x) for x in d.ImagePositionPatient])
        ps = [float(x) for x in d.PixelSpacing]
        for (i, j) in ((0, 0), (nx - 1, 0), (0, ny - 1), (nx - 1, ny - 1), (100, 37)):
            want = ipp + i * ps[1] * iop[:3] + j * ps[0] * iop[3:]
            worst = max(worst, np.abs(world(i, j, k) - want).max())
        px = d.pixel_array.astype(float) * float(getattr(d, "RescaleSlope", 1)) + float(getattr(d, "RescaleIntercept", 0))
        assert np.array_equal(vox[k], px), ("voxels differ", name, k)
    assert worst < 1e-3, ("world position off by", worst, "mm")
    print(name, "slices", nz, "worst world position error %.2e mm" % worst)
rec = json.load(open(out + "-ed.json"))
assert rec["modality"] == "MR" and rec["n_phases"] == 20 and rec["phase"] == 1, rec
assert abs(rec["pixel_spacing_mm"][0] - float(files[0].PixelSpacing[0])) < 1e-9
PY

	# expert contours at end-diastole (the phase holding both kinds) vs polygon areas
	run 0 "$CTW" contours --dicom "$dcm" --contours "$sb/contourfiles/$2" -o "$T/$1-lab.nii.gz"
	/usr/bin/python3 - "$sb/contourfiles/$2" "$T/$1-lab.nii.gz" "$4" "$5" <<'PY' || fail "$1: contour volume"
import sys, glob, re
import numpy as np, vtk
from vtk.util.numpy_support import vtk_to_numpy
cdir, lab, ps, ss = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
def phase(f): return (int(re.search(r"IM-\d+-(\d+)-", f).group(1)) - 1) % 20 + 1
epi = {phase(f) for f in glob.glob(cdir + "/o-contours/*.txt")}
assert len(epi) == 1
ed = epi.pop()
area = 0.0
for f in glob.glob(cdir + "/i-contours/*.txt"):
    if phase(f) != ed: continue
    p = np.loadtxt(f)
    x, y = p[:, 0], p[:, 1]
    area += 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
want = area * ps * ps * ss / 1000.0
r = vtk.vtkNIFTIImageReader(); r.SetFileName(lab); r.Update()
v = vtk_to_numpy(r.GetOutput().GetPointData().GetScalars())
sp = r.GetOutput().GetSpacing()
got = np.count_nonzero(v == 1) * sp[0] * sp[1] * sp[2] / 1000.0
myo = np.count_nonzero(v == 2) * sp[0] * sp[1] * sp[2] / 1000.0
err = abs(got - want) / want
print("ED phase %d: LV blood %.2f mL rasterised, %.2f mL from polygons (%.2f %%), LV myo %.2f mL" % (ed, got, want, 100 * err, myo))
assert set(np.unique(v)) == {0, 1, 2}
assert err < 0.03, err
PY
done

# contours on images the series does not have are refused (case 1 has 240 images, case 4 200)
run 2 "$CTW" contours --dicom "$sb/dicoms/SCD0000301" --contours "$sb/contourfiles/SC-HF-I-1" -o "$T/x.nii.gz"
has "$T/err" "no image with instance number"
[ ! -e "$T/x.nii.gz" ] || fail "a failed contours run wrote its output"
# a cine series needs a phase; phases out of range are refused
run 2 "$CTW" convert "$sb/dicoms/SCD0000101" -o "$T/x.nii.gz"
has "$T/err" "--phase 1..20 or --phase ed"
run 2 "$CTW" convert "$sb/dicoms/SCD0000101" --phase 21 -o "$T/x.nii.gz"
has "$T/err" "no phase 21"
run 1 "$CTW" convert "$sb/dicoms/SCD0000101" --phase 0 -o "$T/x.nii.gz"
run 1 "$CTW" convert "$sb/dicoms/SCD0000101" --phase es -o "$T/x.nii.gz"
# the voxel limit is configurable and checked before allocating
run 2 "$CTW" --max-voxels 100000 convert "$sb/dicoms/SCD0000101" --phase 1 -o "$T/x.nii.gz"
has "$T/err" "exceed the limit of 100000"
finish
