# t140: mesh refuses hostile surfaces and absurd label maps with exit 2 naming the file, in
# seconds (issue 12 items 2, 4, 10): a triangle index past the points or negative, a surface-id
# array shorter than the cells (SIGSEGV before), a legacy VTK header claiming 99,999,999 points
# or 2,000,000,000 polygons (a hang), a NaN point (dropped and capped before), a truncated binary
# STL (accepted), a 2e-6 mm and a 1e30 mm sphere (meshed / a hang), 1000 mm voxels (a hang); the
# valid sphere still meshes in every format.
. "$CTW_SRC/tests/regress/lib.sh"

/usr/bin/python3 - "$T" "$CTW_SRC/tests/hostile" <<'PY' || fail "cannot write the inputs"
import sys, importlib.util, struct
t, here = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location('gs', here + '/gen_surface.py')
gs = importlib.util.module_from_spec(spec); spec.loader.exec_module(gs)
pts, tris = gs.icosphere()
n, m = len(pts), len(tris)
ids = [1] * m
def w(name, data):
    open(t + '/' + name, 'wb').write(data)
w('ok.vtp', gs.vtp(pts, tris, ids)); w('ok.vtk', gs.vtk_binary(pts, tris, ids)); w('ok.stl', gs.stl_binary(pts, tris))
t2 = [list(x) for x in tris]; t2[5][1] = n
w('past.vtp', gs.vtp(pts, t2, ids)); w('past.vtk', gs.vtk_ascii(pts, t2, ids))
t2[5][1] = -1
w('neg.vtp', gs.vtp(pts, t2, ids))
w('ids-short.vtp', gs.vtp(pts, tris, ids[:m // 2]))
w('npoints.vtk', gs.vtk_ascii(pts, tris, ids, npts=99999999))
w('npolys.vtk', gs.vtk_binary(pts, tris, ids, npolys=2000000000, size=2000000000))
p2 = list(pts); p2[7] = (float('nan'), 0.0, 0.0)
w('nan.vtp', gs.vtp(p2, tris, ids)); w('nan.stl', gs.stl_binary(p2, tris))
w('trunc.stl', gs.stl_binary(pts, tris)[:-50])
w('tiny.vtp', gs.vtp([tuple(2e-7 * c for c in p) for p in pts], tris, ids))
w('huge.vtp', gs.vtp([tuple(1e29 * c for c in p) for p in pts], tris, ids))
PY
for f in ok.vtp ok.vtk ok.stl; do
	run 0 "$CTW" mesh --surface "$T/$f" --edge-length 4 -o "$T/m-$f"
	[ -s "$T/m-$f/mesh.vtu" ] || fail "$f: no mesh"
done
for f in past.vtp past.vtk neg.vtp ids-short.vtp npoints.vtk npolys.vtk nan.vtp nan.stl trunc.stl tiny.vtp huge.vtp; do
	run 2 timeout 60 "$CTW" mesh --surface "$T/$f" --edge-length 4 --timeout 30 -o "$T/m-$f"
	error_names "$T/$f"
	[ ! -e "$T/m-$f" ] || fail "$f: an output was left"
done
# label maps: the phantom with 1000 mm and 1e30 mm voxels (pixdim and sform scaled)
"$CTW" -q phantom --kind lv --spacing 3 -o "$T/ph" >/dev/null || fail phantom
for s in 1000 1e30; do
	/usr/bin/python3 - "$T/ph/labels.nii.gz" "$T/lab-$s.nii" "$s" <<'PY' || fail "cannot scale"
import sys, gzip, struct
b = bytearray(gzip.open(sys.argv[1]).read()); s = float(sys.argv[3])
struct.pack_into('<3f', b, 80, s, s, s)
for r in range(3):
    v = list(struct.unpack_from('<4f', b, 280 + 16 * r)); v[r] = s if v[r] >= 0 else -s
    struct.pack_into('<4f', b, 280 + 16 * r, *v)
open(sys.argv[2], 'wb').write(bytes(b))
PY
	run 2 timeout 60 "$CTW" mesh --labels "$T/lab-$s.nii" --timeout 30 -o "$T/ml-$s"
	error_names "$T/lab-$s.nii"
done
has "$T/err" "hint"
# messages name the file, not only the stage: a map without myocardium
/usr/bin/python3 - "$T/ph/labels.nii.gz" "$T/empty.nii" <<'PY' || fail "cannot blank"
import sys, gzip, struct
b = bytearray(gzip.open(sys.argv[1]).read()); off = int(struct.unpack_from('<f', b, 108)[0])
b[off:] = bytes(len(b) - off)
open(sys.argv[2], 'wb').write(bytes(b))
PY
run 2 "$CTW" mesh --labels "$T/empty.nii" -o "$T/me"
error_names "$T/empty.nii"
finish
