# t108: bring-your-own label maps (issue #4): presets (and auto ACDC/M&Ms) on the phantom's truth
# survive the clean-up with Dice >= 0.98 per label and the right base plane; label maps on other
# grids (TotalSegmentator masks, checked voxel by voxel against the offsets in SOURCES.md); the
# DeepCAC whole-heart masks; the Sunnybrook contour maps as an lv model with shape-based
# interpolation; bad inputs give exit 2. Pins issue #4 (2026-11-24).
. "$CTW_SRC/tests/regress/lib.sh"

export PYTHONPATH="$CTW_SRC/tests/regress"
export CTW_SALT_FILE="$T/salt"
head -c 32 /dev/urandom >"$CTW_SALT_FILE"
"$CTW" -q phantom --kind biv -o "$T/ph" >/dev/null || fail "phantom"

# dice_at_least CSV LABEL... : every listed label has Dice >= 0.98 in the evaluate CSV
dice_ok() {
	for l in "$@"; do
		awk -F, -v l="$l" '$1 == l { found = 1; if ($3 < 0.98) { print "label " l ": Dice " $3; exit 1 } }
			END { if (!found) { print "label " l " missing"; exit 1 } }' "$T/out" || fail "Dice of label $l"
	done
}

# 1. the truth as canonical labels through the whole biv chain
run 0 "$CTW" segment --labels "$T/ph/labels.nii.gz" --preset canonical --model biv -o "$T/biv.nii.gz"
[ -f "$T/biv.log" ] || fail "no segment log"
has "$T/biv.log" "base plane: fitted to the rim"
has "$T/biv.log" "pad: 2 voxels"
run 0 "$CTW" evaluate --ref "$T/ph/labels.nii.gz" --test "$T/biv.nii.gz"
has "$T/out" "label,name,dice,jaccard,hd95_mm,assd_mm"
dice_ok 1 2 3 103
cp "$T/out" "$T/biv.csv"
# the base plane against the analytic one of truth.xml: normal within 2 degrees, the true base
# point within 1 mm of the plane
run 0 "$CTW" info "$T/biv.nii.gz"
/usr/bin/python3 - "$T/ph/truth.xml" "$(field 'base plane')" <<'PY' || fail "base plane off"
import sys, labelmaps as lm
ang, dist = lm.base_plane_error(sys.argv[1], sys.argv[2])
print("base plane: normal %.2f deg from the long axis, true base point %.3f mm from the plane" % (ang, dist))
assert ang < 2 and dist < 1, (ang, dist)
PY

# an evaluation of a map against itself: Dice 1, distances 0
run 0 "$CTW" evaluate --ref "$T/ph/labels.nii.gz" --test "$T/ph/labels.nii.gz"
[ "$(awk -F, 'NR > 1 && ($3 != 1 || $4 != 1 || $5 != 0 || $6 != 0 || $10 != 0)' "$T/out" | wc -l)" = 0 ] || fail "identity is not perfect"
[ "$(wc -l <"$T/out")" = 5 ] || fail "evaluate: not one row per label"

# with a left atrium above the base (touching the LV blood pool), the base plane comes from the
# LV/LA interface and still matches the analytic one
/usr/bin/python3 - "$T" <<'PY' || fail "writing the map with an atrium"
import sys, numpy as np, labelmaps as lm, xml.etree.ElementTree as ET
t = sys.argv[1]
a, m = lm.read_nifti(t + "/ph/labels.nii.gz")
pl = ET.parse(t + "/ph/truth.xml").getroot().find("placement")
bp = np.array([float(x) for x in pl.get("base_point_lps_mm").split()])
ax = np.array([float(x) for x in pl.get("long_axis_lps").split()])
k, j, i = np.indices(a.shape)
p = m[:3, :3] @ np.vstack([i.ravel(), j.ravel(), k.ravel()]) + m[:3, 3:4]
h = (ax @ (p - bp[:, None])).reshape(a.shape)
r = np.linalg.norm((p - bp[:, None]) - np.outer(ax, ax @ (p - bp[:, None])), axis=0).reshape(a.shape)
b = a.astype(np.int16)
b[(h > 0) & (h < 25) & (r < 24) & (b == 0)] = 4
sp = np.linalg.norm(m[:3, :3], axis=0)
lm.write_nrrd(t + "/with-la.nrrd", b, sp, m[:3, 3], m[:3, :3] / sp)
PY
run 0 "$CTW" segment --labels "$T/with-la.nrrd" --preset canonical --model biv -o "$T/la.nii.gz"
has "$T/la.log" "fitted to the LV/LA and LV/aorta interfaces"
run 0 "$CTW" evaluate --ref "$T/ph/labels.nii.gz" --test "$T/la.nii.gz" --labels 1,2,3,103
dice_ok 1 2 3 103
run 0 "$CTW" info "$T/la.nii.gz"
/usr/bin/python3 - "$T/ph/truth.xml" "$(field 'base plane')" <<'PY' || fail "valve base plane off"
import sys, labelmaps as lm
ang, dist = lm.base_plane_error(sys.argv[1], sys.argv[2])
print("valve base plane: normal %.2f deg from the long axis, true base point %.3f mm from the plane" % (ang, dist))
assert ang < 3 and dist < 1.5, (ang, dist)
PY

# 2. dataset conventions: MM-WHS, ACDC and M&Ms versions of the truth, written as NRRD
/usr/bin/python3 - "$T" <<'PY' || fail "writing dataset-style maps"
import sys, numpy as np, labelmaps as lm
t = sys.argv[1]
a, m = lm.read_nifti(t + "/ph/labels.nii.gz")
sp = np.linalg.norm(m[:3, :3], axis=0)
d = m[:3, :3] / sp
def save(name, table):
    b = np.zeros(a.shape, np.int16)
    for k, v in table.items():
        b[a == k] = v
    lm.write_nrrd("%s/%s.nrrd" % (t, name), b, sp, m[:3, 3], d)
save("mmwhs", {1: 500, 2: 205, 3: 600, 103: 205})
save("acdc", {1: 3, 2: 2, 3: 1})  # ACDC and M&Ms label no RV wall
save("mnms", {1: 1, 2: 2, 3: 3})
save("unknown", {1: 1, 2: 2, 3: 9})
save("empty", {})
lm.write_nrrd(t + "/far.nrrd", (a == 1).astype(np.uint8), sp, m[:3, 3] + 5000, d)
PY
for p in mmwhs acdc mnms; do
	for how in "--preset $p" "--preset auto"; do
		run 0 "$CTW" -v segment --labels "$T/$p.nrrd" $how --model lv -o "$T/$p.nii.gz"
		run 0 "$CTW" evaluate --ref "$T/ph/labels.nii.gz" --test "$T/$p.nii.gz" --labels 1
		dice_ok 1
	done
done
run 0 "$CTW" -v segment --labels "$T/acdc.nrrd" --preset auto -o "$T/a.nii.gz"
has "$T/err" "acdc"
run 0 "$CTW" -v segment --labels "$T/mnms.nrrd" --preset auto -o "$T/a.nii.gz"
has "$T/err" "mnms"
# a custom mapping does the same
run 0 "$CTW" segment --labels "$T/mmwhs.nrrd" --map 500=1,205=2,600=3 --model lv -o "$T/custom.nii.gz"
run 0 "$CTW" evaluate --ref "$T/ph/labels.nii.gz" --test "$T/custom.nii.gz" --labels 1,2
dice_ok 1

# 3. bad inputs: unknown labels (listed), an empty map, no overlap with the image, an lv model
# without myocardium, a bad preset name
run 2 "$CTW" segment --labels "$T/unknown.nrrd" --preset mnms -o "$T/x.nii.gz"
error_names "$T/unknown.nrrd"
has "$T/err" "9 ("
run 2 "$CTW" segment --labels "$T/empty.nrrd" --preset canonical -o "$T/x.nii.gz"
has "$T/err" "empty"
run 2 "$CTW" segment --image "$T/ph/image.nii.gz" --labels "$T/far.nrrd" --preset canonical -o "$T/x.nii.gz"
has "$T/err" "does not overlap"
run 2 "$CTW" segment --labels "$T/mnms.nrrd" --map 1=1,2=0,3=3 --model lv -o "$T/x.nii.gz"
has "$T/err" "lv_myo"
run 1 "$CTW" segment --labels "$T/mnms.nrrd" --preset nosuch -o "$T/x.nii.gz"
run 1 "$CTW" segment --labels "$T/mnms.nrrd" --preset mnms --map 1=1 -o "$T/x.nii.gz"
[ ! -e "$T/x.nii.gz" ] || fail "a refused segment wrote its output"

need_data || { finish; exit 0; }
# 4. label maps on other grids: TotalSegmentator's heart mask (233x167x191) onto the CT crop
# (120x126x164), and its aorta mask onto the smaller pulmonary crop (z 36 mm higher)
ts="$CTW_DATA/totalsegmentator/tests/reference_files"
run 0 "$CTW" segment --image "$ts/aorta_report/test_result/models/ct_cropped.nii.gz" \
	--labels "$ts/pulmonary_report/models/heart.nii.gz" --map 1=250 --no-components --no-fill-holes --pad 0 -o "$T/heart.nii.gz"
run 0 "$CTW" segment --image "$ts/pulmonary_report/models/ct_cropped.nii.gz" \
	--labels "$ts/aorta_report/test_result/models/aorta.nii.gz" --map 1=6 --no-components --no-fill-holes --pad 0 -o "$T/aorta.nii.gz"
/usr/bin/python3 - "$ts" "$T" <<'PY' || fail "TotalSegmentator masks misaligned"
import sys, numpy as np, labelmaps as lm
ts, t = sys.argv[1], sys.argv[2]
heart, _ = lm.read_nifti(ts + "/pulmonary_report/models/heart.nii.gz")
aorta, _ = lm.read_nifti(ts + "/aorta_report/test_result/models/aorta.nii.gz")
h, _ = lm.read_nifti(t + "/heart.nii.gz")
a, _ = lm.read_nifti(t + "/aorta.nii.gz")
# SOURCES.md: heart-mask voxel (i+72, j+13, k) = aorta-crop voxel (i, j, k); arrays are [k, j, i]
assert h.shape == (164, 126, 120), h.shape
assert np.count_nonzero(heart) == 198176 and np.count_nonzero(h == 250) == 198176
assert np.array_equal(h == 250, heart[:164, 13:13 + 126, 72:72 + 120] == 1)
# pulmonary crop: same x, y origin, z 36 mm (24 slices) higher, 122 x 102 x 112
assert a.shape == (112, 102, 122), a.shape
assert np.array_equal(a[:, :, :120] == 6, aorta[24:24 + 112, :102, :] == 1) and not a[:, :, 120:].any()
print("heart mask: %d voxels moved to the CT grid exactly; aorta onto the pulmonary crop exactly" % np.count_nonzero(h))
PY

# 5. DeepCAC manual whole-heart masks (label 1 heart, 2 bone, 3 calcium inside the heart)
for c in "0187 568911 0" "0506 793046 360"; do
	set -- $c
	# --iso 0: keep the 0.68 x 0.68 x 2.5 mm grid (auto would interpolate to 0.68 mm: 20 s)
	run 0 "$CTW" segment --labels "$CTW_DATA/deepcac/data/raw/$1/msk.nrrd" --preset deepcac --iso 0 -o "$T/dc$1.nii.gz"
	ml=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.3f", (a + b) * 0.68 * 0.68 * 2.5 / 1000 }')
	got=$(sed -n 's/^result: label 250 heart *\([0-9.]*\) mL/\1/p' "$T/dc$1.log")
	awk -v g="$got" -v w="$ml" 'BEGIN { exit !(g > 0.98 * w && g < 1.02 * w) }' || fail "deepcac $1: heart $got mL, mask $ml mL"
done
run 2 "$CTW" segment --labels "$CTW_DATA/deepcac/data/raw/0187/msk.nrrd" --preset auto -o "$T/x.nii.gz"
has "$T/err" "--preset"

# 6. the Sunnybrook contour maps are a valid lv model input; shape-based interpolation keeps
# the experts' pixels
sb="$CTW_DATA/sunnybrook_scd/final_data"
for c in "SCD0000101 SC-HF-I-1" "SCD0000301 SC-HF-I-4"; do
	set -- $c
	"$CTW" -q contours --dicom "$sb/dicoms/$1" --contours "$sb/contourfiles/$2" -o "$T/$1-c.nii.gz" >/dev/null || fail "contours $1"
	run 0 "$CTW" segment --labels "$T/$1-c.nii.gz" --preset canonical --model lv -o "$T/$1-lv.nii.gz"
	has "$T/$1-lv.log" "shape-based"
	has "$T/$1-lv.log" "the most basal short-axis slice with myocardium"
	/usr/bin/python3 - "$T/$1-c.nii.gz" "$T/$1-lv.nii.gz" <<'PY' || fail "$1: interpolation lost expert pixels"
import sys, numpy as np, labelmaps as lm
src, m1 = lm.read_nifti(sys.argv[1])
out, m2 = lm.read_nifti(sys.argv[2])
k, j, i = np.nonzero(src)
pts = m1 @ np.vstack([i, j, k, np.ones_like(i)])
q = np.rint(np.linalg.solve(m2, pts)[:3]).astype(int)
inside = (q >= 0).all(0) & (q[0] < out.shape[2]) & (q[1] < out.shape[1]) & (q[2] < out.shape[0])
same = np.zeros(len(i), bool)
same[inside] = out[q[2][inside], q[1][inside], q[0][inside]] == src[k, j, i][inside]
for l in (1, 2):
    sel = src[k, j, i] == l
    print("label %d: %.2f %% of %d expert voxels keep their label" % (l, 100 * same[sel].mean(), sel.sum()))
assert same.mean() >= 0.98, same.mean()
PY
done
finish
