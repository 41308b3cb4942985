# t109: meshing (issue #5): the phantom's LV and BiV myocardium as tetrahedra with region tags
# and tagged boundary surfaces, volume within 2 % of truth.xml, no degenerate tetrahedra, minimum
# dihedral >= 5 degrees, read back by independent readers (meshio, VTK's Python module); real
# surfaces (pyansys LV with its surface ids; the VaMPy atrium is t111); bad
# label maps (parts touching along an edge, a one-voxel wall) give exit 3 with the place, never a
# crash. Pins issue #5 (2026-11-24).
. "$CTW_SRC/tests/regress/lib.sh"

export PYTHONPATH="$CTW_SRC/tests/regress"
# q FILE KEY: a value of quality.txt
q() {
	sed -n "s/^$2: //p" "$1" | sed 's/ .*//'
}

# check_mesh DIR TRUTH-ML...: quality and tags of a mesh from the phantom
check_mesh() {
	dir=$1
	shift
	[ "$(q "$dir/quality.txt" 'degenerate tetrahedra')" = 0 ] || fail "$dir: degenerate tetrahedra"
	[ "$(q "$dir/quality.txt" 'inverted tetrahedra')" = 0 ] || fail "$dir: inverted tetrahedra"
	awk -v a="$(q "$dir/quality.txt" 'dihedral angle min')" 'BEGIN { exit !(a >= 5) }' || fail "$dir: min dihedral < 5"
	want=$(echo "$@" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; print s * 1000 }')
	awk -v v="$(q "$dir/quality.txt" 'mesh volume')" -v w="$want" 'BEGIN { d = (v - w) / w; print "volume vs truth: " 100 * d " %"; exit !(d < 0.02 && d > -0.02) }' ||
		fail "$dir: volume not within 2 % of the truth"
	sd=$(sed -n 's/^surface distance (symmetric mean): .* = \([0-9.]*\) voxel/\1/p' "$dir/quality.txt")
	awk -v s="$sd" 'BEGIN { exit !(s <= 0.5) }' || fail "$dir: surface distance $sd voxel"
}

for kind in lv biv; do
	"$CTW" -q phantom --kind $kind -o "$T/ph-$kind" >/dev/null || fail "phantom $kind"
	run 0 "$CTW" mesh --labels "$T/ph-$kind/labels.nii.gz" --model $kind --edge-length 2 -o "$T/m-$kind"
	cat "$T/m-$kind/quality.txt"
	truth=$(sed -n 's/.*name="\(lv_myo\|rv_myo\)" volume_mm3="[^"]*" volume_ml="\([^"]*\)".*/\2/p' "$T/ph-$kind/truth.xml")
	check_mesh "$T/m-$kind" $truth
	# independent readers: meshio for the tetrahedra, VTK for the surfaces; tags and counts
	/usr/bin/python3 - "$T/m-$kind" "$kind" "$T/ph-$kind/truth.xml" <<'PY' || fail "$kind: independent readers disagree"
import sys, collections, numpy as np, meshio, vtk
from vtk.util.numpy_support import vtk_to_numpy
d, kind = sys.argv[1], sys.argv[2]
m = meshio.read(d + "/mesh.vtu")
tets = m.cells_dict["tetra"]
tag = np.concatenate([c for c in m.cell_data["tag"]])
q = dict(l.split(": ", 1) for l in open(d + "/quality.txt").read().splitlines())
assert len(tets) == int(q["tetrahedra"]) and len(m.points) == int(q["points"]), (len(tets), len(m.points))
assert set(np.unique(tag)) == ({1} if kind == "lv" else {1, 2}), np.unique(tag)
p = m.points[tets]
vol = np.einsum("ij,ij->i", p[:, 1] - p[:, 0], np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 0])) / 6
assert (vol > 0).all(), "tetrahedra not positively oriented"
# boundary faces of the tetrahedra = the tagged surface triangles, each tagged exactly once
faces = collections.Counter()
for t in tets:
    for f in ((0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)):
        faces[tuple(sorted(t[list(f)]))] += 1
boundary = {f for f, c in faces.items() if c == 1}
r = vtk.vtkXMLPolyDataReader(); r.SetFileName(d + "/surfaces.vtp"); r.Update()
s = r.GetOutput()
surf = vtk_to_numpy(s.GetCellData().GetArray("surface"))
cells = vtk_to_numpy(s.GetPolys().GetData()).reshape(-1, 4)[:, 1:]
tris = {tuple(sorted(c)) for c in cells}
assert len(tris) == len(cells) == len(boundary) and tris == boundary, (len(tris), len(boundary))
count = collections.Counter(surf.tolist())
want = {1, 2, 4} if kind == "lv" else {1, 2, 3, 4}
assert set(count) == want, count
apex = int(np.ravel(m.field_data["apex_node"])[0])
import xml.etree.ElementTree as ET
tr = ET.parse(sys.argv[3]).getroot()
c = np.array([float(x) for x in tr.find("placement").get("centre_lps_mm").split()])
ax = np.array([float(x) for x in tr.find("placement").get("long_axis_lps").split()])
true_apex = c - float(tr.find("geometry").get("lv_epi_long_mm")) * ax
print("apex node %.2f mm from the analytic epicardial apex" % np.linalg.norm(m.points[apex] - true_apex))
assert np.linalg.norm(m.points[apex] - true_apex) < 2.0
print(kind, "tets", len(tets), "points", len(m.points), "surface tags", dict(count))
PY
done

# real surfaces
lvs="$CTW_DATA/pyansys_heart/src/ansys/health/heart/data_examples/rodero_01_leftventricle_surface.vtp"
if need_data pyansys_heart; then
	run 0 "$CTW" -v mesh --surface "$lvs" --edge-length 2 -o "$T/m-rodero"
	cat "$T/m-rodero/quality.txt"
	has "$T/err" "left-ventricle-endocardium' -> lv_endo"
	has "$T/m-rodero/quality.txt" "inverted tetrahedra: 0"
	grep -q "boundary tags: epi [1-9][0-9]*, lv_endo [1-9][0-9]*, rv_endo 0, base [1-9]" "$T/m-rodero/quality.txt" || fail "rodero tags"
	awk -v a="$(q "$T/m-rodero/quality.txt" 'dihedral angle min')" 'BEGIN { exit !(a >= 5) }' || fail "rodero: min dihedral"
	awk -v e="$(q "$T/m-rodero/quality.txt" 'volume error')" 'BEGIN { exit !(e < 0.5 && e > -0.5) }' || fail "rodero: volume"
fi
# The VaMPy atrium (open vessel inlets): t111-mesh-atrium.sh.

# bad label maps: exit 3 with the place and a hint, nothing written
/usr/bin/python3 - "$T" <<'PY' || fail "writing bad label maps"
import sys, numpy as np, labelmaps as lm
t = sys.argv[1]
a = np.zeros((40, 40, 40), np.uint8)
a[10:20, 10:20, 10:20] = 2
a[10:20, 20:30, 20:30] = 2          # arrays are [k, j, i]: the blocks share only an edge
lm.write_nrrd(t + "/edge.nrrd", a)
b = np.zeros((40, 40, 40), np.uint8)
b[5:35, 5:35, 5:35] = 2             # a closed shell one voxel thin (3-D: segment takes it)
b[6:34, 6:34, 6:34] = 0
lm.write_nrrd(t + "/thin.nrrd", b)
PY
for c in edge thin; do
	"$CTW" -q segment --labels "$T/$c.nrrd" --preset canonical --no-components --no-fill-holes --pad 1 -o "$T/$c.nii.gz" >/dev/null ||
		fail "segment $c"
	run 3 "$CTW" mesh --labels "$T/$c.nii.gz" --model lv -o "$T/m-$c"
	grep -q "^cardiotwin: error: $T/$c.nii.gz: mesh: .* at (.*) mm; hint" "$T/err" || { fail "$c: no place and hint"; cat "$T/err" >&2; }
	[ ! -e "$T/m-$c" ] || fail "$c: output written"
done
has "$T/err" "one voxel thin"
# other bad input: a missing file, a surface file that is not one, an output that is a file
run 2 "$CTW" mesh --labels "$T/nosuch.nii.gz" --model lv -o "$T/x"
echo "not a surface" >"$T/bad.vtp"
run 2 "$CTW" mesh --surface "$T/bad.vtp" -o "$T/x"
error_names "$T/bad.vtp"
: >"$T/afile"
run 2 "$CTW" mesh --labels "$T/ph-lv/labels.nii.gz" --model lv -o "$T/afile"
run 1 "$CTW" mesh --labels "$T/ph-lv/labels.nii.gz" --surface "$lvs" -o "$T/x"
finish
