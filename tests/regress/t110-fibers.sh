# t110: fibres (issue #6): LDRB on the BiV phantom mesh of the meshing stage (BiV invariants,
# T16), on a mesh of a real heart (the pyansys_heart LV surface), and against the reference
# implementation (ldrb's output on its 96k-tet LV, mode A with ldrb's angles: median angle
# <= 3 deg, 90th percentile <= 10 deg); the result files read back by VTK's Python module
# (T17); bad input (no tags, biv on an lv mesh, angles out of range, a missing mesh) exit 2.
# Pins issue #6 (2026-11-24).
. "$CTW_SRC/tests/regress/lib.sh"

# --- the BiV phantom through mesh and fibres, and its invariants
"$CTW" -q phantom --kind biv -o "$T/ph" >/dev/null || fail "phantom"
"$CTW" -q mesh --labels "$T/ph/labels.nii.gz" --model biv --edge-length 2 -o "$T/m" >/dev/null || fail "mesh biv"
run 0 "$CTW" fibers --mesh "$T/m" -o "$T/f"
cat "$T/out"
has "$T/out" "model: biv"
has "$T/out" "mode: linear (B)"
for s in phi_lv phi_rv psi_ab; do
	grep -q "^solve $s: [0-9]* iterations, residual [0-9.e-]*," "$T/out" || fail "no iterations logged for $s"
done
/usr/bin/python3 - "$T/m" "$T/f" <<'PY' || fail "biv invariants"
import sys, numpy as np, vtk
from vtk.util.numpy_support import vtk_to_numpy as np_
def rd(path):
    r = vtk.vtkXMLUnstructuredGridReader(); r.SetFileName(path); r.Update(); return r.GetOutput()
m, g = rd(sys.argv[1] + "/mesh.vtu"), rd(sys.argv[2] + "/mesh.vtu")
assert g.GetNumberOfPoints() == m.GetNumberOfPoints() and g.GetNumberOfCells() == m.GetNumberOfCells()
assert (np_(g.GetPoints().GetData()) == np_(m.GetPoints().GetData())).all()
cd, pd = g.GetCellData(), g.GetPointData()
f, s, n = (np_(cd.GetArray(a)) for a in ("fiber", "sheet", "sheet_normal"))
assert f.shape == (g.GetNumberOfCells(), 3)
# T7 after a trip through the file (Float64)
assert abs(np.linalg.norm(f, axis=1) - 1).max() < 1e-10
assert abs((f * s).sum(1)).max() < 1e-10 and abs((f * n).sum(1)).max() < 1e-10
assert abs(np.linalg.det(np.stack([f, s, n], 2)) - 1).max() < 1e-10
ple, plv, prv, pab = (np_(pd.GetArray(a)) for a in ("phi_epi", "phi_lv", "phi_rv", "psi_ab"))
assert abs(ple + plv + prv - 1).max() < 1e-8 and ple.min() >= 0 and pab.min() >= 0 and pab.max() <= 1
# T16: phi_rv = 1 and phi_lv = 0 on rv_endo nodes (d = 1), the reverse on lv_endo nodes (d = 0)
r = vtk.vtkXMLPolyDataReader(); r.SetFileName(sys.argv[2] + "/surfaces.vtp"); r.Update()
tri = np_(r.GetOutput().GetPolys().GetData()).reshape(-1, 4)[:, 1:]
tag = np_(r.GetOutput().GetCellData().GetArray("surface"))
lvn, rvn = np.unique(tri[tag == 2]), np.unique(tri[tag == 3])
assert (prv[rvn] == 1).all() and (plv[rvn] == 0).all() and (plv[lvn] == 1).all() and (prv[lvn] == 0).all()
# T16: in the RV free wall (region 2) the helix follows alpha_endo + (alpha_epi - alpha_endo) phi_epi
tets = np_(g.GetCells().GetConnectivityArray()).reshape(-1, 4)
h, reg = np_(cd.GetArray("helix_angle")), np_(cd.GetArray("fiber_region"))
pc = ple[tets].mean(1)
for k, name in ((1, "lv"), (2, "rv"), (3, "septum")):
    sel = reg == k
    assert sel.sum() > 100, (name, sel.sum())
    e = h[sel] - (60 - 120 * pc[sel])
    e = (e + 90) % 180 - 90
    print("%s: %d tets, helix vs the linear rule: mean %.2f deg, median |e| %.2f deg" % (name, sel.sum(), e.mean(), np.median(abs(e))))
    if k < 3:
        assert np.median(abs(e)) < 5, name
# the RV endocardium gets +alpha_endo in the outward frame
endo = np.isin(tets, rvn).sum(1) >= 3
print("tets on rv_endo: helix mean %.2f deg (alpha_endo 60), at phi_epi %.2f" % (h[endo].mean(), pc[endo].mean()))
assert abs(np.median(h[endo] - (60 - 120 * pc[endo]))) < 5
PY

# --- bad input: exit 2 naming the problem, nothing written
run 2 "$CTW" fibers --mesh "$T/m" --model biv --alpha-endo 120 -o "$T/x"
has "$T/err" "alpha-endo"
run 2 "$CTW" fibers --mesh "$T/nosuch" -o "$T/x"
mkdir -p "$T/notags" && cp "$T/m/mesh.vtu" "$T/notags/" && /usr/bin/python3 - "$T/m/surfaces.vtp" "$T/notags/surfaces.vtp" <<'PY'
import sys, vtk
r = vtk.vtkXMLPolyDataReader(); r.SetFileName(sys.argv[1]); r.Update(); s = r.GetOutput()
a = s.GetCellData().GetArray("surface")
for i in range(a.GetNumberOfTuples()):
    if a.GetValue(i) == 2: a.SetValue(i, 1)     # no lv_endo left
w = vtk.vtkXMLPolyDataWriter(); w.SetFileName(sys.argv[2]); w.SetInputData(s); w.Write()
PY
run 2 "$CTW" fibers --mesh "$T/notags" -o "$T/x"
has "$T/err" "lv_endo"
[ ! -e "$T/x" ] || fail "output written after bad input"
need_data || { finish; exit 0; }
# --- a real heart: the pyansys_heart LV surface through the meshing stage
lvs="$CTW_DATA/pyansys_heart/src/ansys/health/heart/data_examples/rodero_01_leftventricle_surface.vtp"
"$CTW" -q mesh --surface "$lvs" --edge-length 2 -o "$T/mr" >/dev/null || fail "mesh rodero"
run 0 "$CTW" fibers --mesh "$T/mr" -o "$T/fr"
has "$T/out" "model: lv"
grep "^helix lv" "$T/out" | awk 'NR == 1 { first = $6 } { last = $6 } END { print "rodero helix endo " first " epi " last; exit !(first > 40 && last < -40) }' ||
	fail "rodero: helix does not turn from + at the endocardium to - at the epicardium"

# --- the reference implementation: ldrb on its 96k-tet LV (Gmsh 4.1 input), mode A, ldrb's angles
ref="$CTW_DATA/ldrb_reference"
run 0 "$CTW" fibers --mesh "$ref/lv.msh" --mode bayer --alpha-endo 40 --alpha-epi -50 --beta-endo -65 --beta-epi 25 -o "$T/fl"
grep "^time:" "$T/out"
/usr/bin/python3 - "$T/fl/mesh.vtu" "$ref/lv96k_ldrb_default_fibers.vtu" <<'PY' || fail "differs from ldrb"
import sys, numpy as np, vtk
from vtk.util.numpy_support import vtk_to_numpy as np_
def rd(path):
    r = vtk.vtkXMLUnstructuredGridReader(); r.SetFileName(path); r.Update(); return r.GetOutput()
a, b = rd(sys.argv[1]), rd(sys.argv[2])
assert a.GetNumberOfCells() == b.GetNumberOfCells() == 96003
ta = np_(a.GetCells().GetConnectivityArray()).reshape(-1, 4)
tb = np_(b.GetCells().GetConnectivityArray()).reshape(-1, 4)
assert (np.sort(ta, 1) == np.sort(tb, 1)).all(), "tetrahedra in another order"
fa, fb = np_(a.GetCellData().GetArray("fiber")), np_(b.GetCellData().GetArray("f_cell"))
ang = np.degrees(np.arccos(np.clip(abs((fa * fb).sum(1)) / np.linalg.norm(fb, axis=1), 0, 1)))
# the apex region (spec §3: ellipsoidal angle mu within 0.35 rad of the apex) is left out;
# the shape: endo r_short 7, r_long 17, epi 10, 20, long axis x (README of ldrb_reference)
p = np_(a.GetPoints().GetData())[ta].mean(1)
rho, lo, hi = np.hypot(p[:, 1], p[:, 2]), np.full(len(p), -0.5), np.full(len(p), 1.5)
for _ in range(60):
    t = (lo + hi) / 2
    out = rho ** 2 / (7 + 3 * t) ** 2 + p[:, 0] ** 2 / (17 + 3 * t) ** 2 > 1
    lo, hi = np.where(out, t, lo), np.where(out, hi, t)
mu = np.arctan2(rho / (7 + 3 * t), p[:, 0] / (17 + 3 * t))
keep = mu <= np.pi - 0.35
print("vs ldrb: all tets median %.2f deg, p90 %.2f deg; without the apex region (%d tets, %.2f %%) median %.2f, p90 %.2f"
      % (np.median(ang), np.percentile(ang, 90), (~keep).sum(), 100.0 * (~keep).mean(), np.median(ang[keep]), np.percentile(ang[keep], 90)))
assert np.median(ang[keep]) <= 3 and np.percentile(ang[keep], 90) <= 10
PY

# a mesh without rv_endo faces is no biv input
run 2 "$CTW" fibers --mesh "$T/mr" --model biv -o "$T/x"
has "$T/err" "rv_endo"
[ ! -e "$T/x" ] || fail "output written after bad input"
finish
