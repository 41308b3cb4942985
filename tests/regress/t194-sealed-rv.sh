#!/bin/sh
# t194: a biventricular short-axis label map whose RV blood pool ends three slices below the base
# (as a network often leaves it) and has no RV myocardium: the RV wall segment adds would seal it,
# a cavity TetGen cannot carve (`mesh` failed with "tetgen returned N boundary triangles but its
# tetrahedra have M boundary faces"). segment opens it toward the base, says so (log and
# warning), and the map meshes; the LV, open at the base, is left as it is.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1
PYTHONPATH="$CTW_SRC/tests/regress" /usr/bin/python3 - <<'PY' || fail "label map"
import numpy as np, labelmaps as lm
nz, ny, nx, sp = 14, 90, 110, (1.5, 1.5, 8.0)
a = np.zeros((nz, ny, nx), np.uint8)
y, x = np.mgrid[0:ny, 0:nx]
x = (x - 35) * sp[0]
y = (y - 45) * sp[1]
r_lv = np.hypot(x, y)
r_rv = np.hypot(x - 44, y)
for k in range(nz):
    if 1 <= k <= 13:
        a[k][r_lv < 28] = 2
    if 2 <= k <= 13:
        a[k][r_lv < 20] = 1
    if 4 <= k <= 10:
        a[k][(r_rv < 19) & (r_lv >= 28)] = 3
lm.write_nrrd("sealed.nrrd", a, spacing=sp)
PY
run 0 "$CTW" segment --labels sealed.nrrd --preset canonical --model biv -o s.nii.gz
has s.log "open rv_blood: sealed below the base plane"
grep -q "open lv_blood" s.log && fail "the LV, open at the base, was opened again"
has "$T/err" "warning"
run 0 "$CTW" mesh --labels s.nii.gz --model biv --edge-length 2 -o m
[ -f m/mesh.vtu ] || [ -n "$(ls m 2>/dev/null)" ] || fail "no mesh written"
finish
