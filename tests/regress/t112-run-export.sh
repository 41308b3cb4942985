# t112: run, export, verify (issue #7): the BiV phantom case file and the Sunnybrook case
# SCD0000101 (end-diastole, expert contours, lv model) through every stage to packages that pass
# verify; every format read by a real client (meshio: vtu, msh, vtk; VTK: vtu; gmsh: msh;
# xmllint: provenance.xml against the W3C schema, feb well-formed) with counts, tags and a sample
# of fibres equal to ours; stages skipped when unchanged, --from; bad case files (line and
# problem), an output that is a file, a full disk (write failure injected with RLIMIT_FSIZE) and a
# kill during export never leave a package that looks complete, and a re-run finishes it; no
# identifying value of the DICOM input in the Sunnybrook package; the input image under the labels of
# qa/labels.png (run and export --image), recorded as an input, never packaged. Pins issue #7 (2026-11-24).
. "$CTW_SRC/tests/regress/lib.sh"

sb="$CTW_DATA/sunnybrook_scd/final_data"
# the W3C schema as shipped in the source tree (a copy of ../shared/schemas/prov)
xsd="$CTW_SRC/export/schemas/prov/prov.xsd"
export XML_CATALOG_FILES="$CTW_SRC/export/schemas/prov/catalog.xml"

# --- the phantom case file (coarser mesh for CI)
run 0 "$CTW" run "$CTW_SRC/cases/phantom-biv.xml" --edge-length 3 -o "$T/o1"
pkg="$T/o1/phantom-biv"
for f in model/opencarp/heart.pts model/opencarp/heart.elem model/opencarp/heart.lon model/opencarp/epi.surf \
	model/opencarp/lv_endo.surf.vtx model/opencarp/rv_endo.neubc model/opencarp/base.surf model/vtk/heart.vtu \
	model/vtk/surfaces.vtp model/vtk/heart.vtk model/gmsh/heart.msh model/febio/heart.feb model/tetgen/heart.node \
	model/tetgen/heart.ele model/tetgen/heart.face model/tetgen/heart.ortho labels.nii.gz metrics.csv provenance.xml \
	SHA256SUMS report.html qa/sections_region.png qa/sections_helix.png qa/surfaces.png qa/quality.png \
	qa/helix_profile.png qa/labels.png; do
	[ -s "$pkg/$f" ] || fail "package lacks $f"
done
run 0 "$CTW" verify "$pkg"
cat "$T/out"
xmllint --nonet --noout --schema "$xsd" "$pkg/provenance.xml" 2>"$T/xl" || { fail "provenance.xml not valid"; cat "$T/xl"; }
xmllint --nonet --noout "$pkg/model/febio/heart.feb" || fail "heart.feb not well-formed"
xmllint --html --nonet --noout "$pkg/report.html" || fail "report.html not readable HTML"
has "$pkg/report.html" "phantom-biv"
for s in input segment mesh fibers export; do
	grep -q "prov:id=\"run:$s\"" "$pkg/provenance.xml" || grep -q ":$s\"" "$pkg/provenance.xml" || fail "no activity $s"
done
for v in ITK VTK TetGen libxml2 libpng; do has "$pkg/provenance.xml" "$v"; done
has "$pkg/provenance.xml" "phantom-biv.xml"
# the phantom's image under the labels of qa/labels.png: an input of the export (hashed), not packaged
grep -qaF "underlay=image" "$pkg/qa/labels.png" || fail "labels.png without the image under the labels"
has "$pkg/report.html" "The image is shown under the labels"
has "$pkg/provenance.xml" "<prov:label>work/input/image.nii.gz</prov:label>"
[ -z "$(find "$pkg" -name 'image*')" ] || fail "the image was copied into the package"
/usr/bin/python3 - "$pkg" <<'PY' || fail "real clients disagree with the package"
import sys, numpy as np, meshio, vtk, subprocess
from vtk.util.numpy_support import vtk_to_numpy as np_
p = sys.argv[1] + "/model/"
r = vtk.vtkXMLUnstructuredGridReader(); r.SetFileName(p + "vtk/heart.vtu"); r.Update(); g = r.GetOutput()
npts, ntet = g.GetNumberOfPoints(), g.GetNumberOfCells()
tag = np_(g.GetCellData().GetArray("tag"))
fib = np_(g.GetCellData().GetArray("fiber")); sh = np_(g.GetCellData().GetArray("sheet"))
tets = np_(g.GetCells().GetConnectivityArray()).reshape(-1, 4)
X = np_(g.GetPoints().GetData())
print("vtu: %d points, %d tets, tags %s" % (npts, ntet, np.unique(tag)))
assert set(np.unique(tag)) == {1, 2}
sample = np.linspace(0, ntet - 1, 50).astype(int)
# meshio: vtu, legacy vtk, msh
for f in ("vtk/heart.vtu", "vtk/heart.vtk", "gmsh/heart.msh"):
    m = meshio.read(p + f)
    t = m.cells_dict["tetra"]
    assert len(m.points) == npts and len(t) == ntet, (f, len(m.points), len(t))
    assert abs(m.points - X).max() < 1e-6, f
    if f.endswith("msh"):
        # Gmsh groups tetrahedra by region entity: the same (nodes, region) rows in another order
        phys = np.concatenate([d for c, d in zip(m.cells, m.cell_data["gmsh:physical"]) if c.type == "tetra"])
        a = np.column_stack([np.sort(t, 1), phys]); b = np.column_stack([np.sort(tets, 1), tag])
        assert (a[np.lexsort(a.T[::-1])] == b[np.lexsort(b.T[::-1])]).all(), "msh tetrahedra or regions"
        tri = sum(len(c.data) for c in m.cells if c.type == "triangle")
        assert tri > 0
    else:
        assert (t == tets).all(), f
        names = {k for k in m.cell_data}
        assert "fiber" in names and "sheet" in names, (f, names)
        fb = np.concatenate([d for c, d in zip(m.cells, m.cell_data["fiber"]) if c.type == "tetra"])
        assert abs(fb[sample] - fib[sample]).max() < 1e-5, f
    print("meshio", f, "ok")
# openCARP: um, tags, .lon
pts = np.loadtxt(p + "opencarp/heart.pts", skiprows=1)
assert len(pts) == npts and abs(pts / 1000 - X).max() < 1e-3
el = [l.split() for l in open(p + "opencarp/heart.elem").read().splitlines()[1:]]
assert len(el) == ntet and all(e[0] == "Tt" for e in el[:100])
assert (np.array([int(e[5]) for e in el]) == tag).all()
lon = np.loadtxt(p + "opencarp/heart.lon", skiprows=1)
assert open(p + "opencarp/heart.lon").readline().strip() == "2" and lon.shape == (ntet, 6)
assert abs(lon[sample, :3] - fib[sample]).max() < 1e-5 and abs(lon[sample, 3:] - sh[sample]).max() < 1e-5
# TetGen/Chaste
ele = [l for l in open(p + "tetgen/heart.ele") if not l.startswith("#")]
assert int(ele[0].split()[0]) == ntet and len(ele) >= ntet + 1
orth = np.loadtxt(p + "tetgen/heart.ortho", skiprows=1, comments="#")
assert orth.shape == (ntet, 9) and abs(orth[sample, :3] - fib[sample]).max() < 1e-5
# gmsh itself loads the file without dropping cells
out = subprocess.run(["gmsh", "-check", p + "gmsh/heart.msh"], capture_output=True, text=True, timeout=120)
assert out.returncode == 0, out.stderr[-500:]
print("gmsh -check ok")
PY
# unchanged: every stage skipped, the package kept; --from fibers redoes fibers and export
before=$(sha256sum "$pkg/SHA256SUMS")
run 0 "$CTW" run "$CTW_SRC/cases/phantom-biv.xml" --edge-length 3 -o "$T/o1"
[ "$(grep -c 'skipped' "$T/out")" -ge 4 ] || { fail "unchanged stages not skipped"; cat "$T/out"; }
same "$(sha256sum "$pkg/SHA256SUMS")" "$before" "(package changed by an unchanged re-run)"
run 0 "$CTW" run "$CTW_SRC/cases/phantom-biv.xml" --edge-length 3 --from fibers -o "$T/o1"
grep -q "^run: fibers$" "$T/out" || fail "--from fibers did not redo fibers"
grep -q "mesh: inputs and parameters unchanged, skipped" "$T/out" || fail "--from fibers redid mesh"
run 0 "$CTW" verify "$pkg"

# --- Sunnybrook SCD0000101 at end-diastole, expert contours, lv model (behind a neutral name)
if need_data sunnybrook_scd; then
	ln -s "$sb/dicoms/SCD0000101" "$T/study"
	ln -s "$sb/contourfiles/SC-HF-I-1" "$T/contours"
	run 0 "$CTW" run --image "$T/study" --contours "$T/contours" --model lv --case-id scd1 --edge-length 2 -o "$T/sb"
	run 0 "$CTW" verify "$T/sb/scd1"
	has "$T/out" "complete and consistent"
	/usr/bin/python3 - "$T/sb/scd1" "$sb/dicoms/SCD0000101" <<'PY' || fail "identifying data in the Sunnybrook package"
import sys, glob, os, gzip, pydicom, warnings
warnings.simplefilter("ignore")
d = pydicom.dcmread(sorted(glob.glob(sys.argv[2] + "/*.dcm"))[0], stop_before_pixels=True)
secrets = [str(d.get(k)).strip() for k in ("PatientName", "PatientID", "StudyInstanceUID", "SeriesInstanceUID",
           "FrameOfReferenceUID", "InstitutionName", "StudyDate") if d.get(k) is not None]
secrets = [s.encode() for s in secrets if len(s) >= 4 and not set(s) <= set("0. ")]
assert len(secrets) >= 3, secrets
for f in glob.glob(sys.argv[1] + "/**", recursive=True):
    if os.path.isfile(f):
        data = open(f, "rb").read()
        if f.endswith(".gz"):
            data = gzip.decompress(data)
        for s in secrets:
            assert s not in data, (f, s)
print("%d identifying values searched in the package: none" % len(secrets))
PY
fi

# --- bad case files: the line and the problem, exit 2
printf '<?xml version="1.0"?>\n<case id="x">\n  <input>\n    <phantom kind="biv"/>\n  </input>\n  <model>biv</model>\n  <mesh edge-lenght="2"/>\n</case>\n' >"$T/bad1.xml"
run 2 "$CTW" run "$T/bad1.xml" -o "$T/x"
grep -q "bad1.xml:7" "$T/err" || { fail "no line number for an unknown attribute"; cat "$T/err"; }
printf '<?xml version="1.0"?>\n<case id="x">\n  <input>\n    <phantom kind="biv">\n  </input>\n</case>\n' >"$T/bad2.xml"
run 2 "$CTW" run "$T/bad2.xml" -o "$T/x"
grep -q "bad2.xml:[0-9]" "$T/err" || { fail "no line number for malformed XML"; cat "$T/err"; }
printf '<?xml version="1.0"?>\n<case id="7up">\n  <input>\n    <phantom kind="biv"/>\n  </input>\n  <model>biv</model>\n</case>\n' >"$T/bad3.xml"
run 2 "$CTW" run "$T/bad3.xml" -o "$T/x"
[ ! -e "$T/x/x" ] || fail "package written after a bad case file"

# --- export faults: output is a file; full disk; killed
: >"$T/afile"
run 2 "$CTW" export --mesh "$T/o1/phantom-biv.work/fibers" -o "$T/afile"
run 1 "$CTW" export --mesh "$T/o1/phantom-biv.work/fibers" --formats opencarp,nastran -o "$T/p1"
# a place nobody can write to (root included): exit 2 naming it
run 2 "$CTW" export --mesh "$T/o1/phantom-biv.work/fibers" -o /proc/ctw-no-package
error_names "/proc/"
run 2 "$CTW" run --phantom lv -o /proc/ctw-no-run
error_names "/proc/ctw-no-run"
(trap '' XFSZ; ulimit -f 1024; exec "$CTW" export --mesh "$T/o1/phantom-biv.work/fibers" -o "$T/full/pkg") \
	>"$T/out" 2>"$T/err" && fail "export succeeded on a full disk"
grep -q "^cardiotwin: error: .*File too large\|^cardiotwin: error: .*cannot write" "$T/err" || { fail "no write error"; cat "$T/err"; }
[ ! -e "$T/full/pkg" ] || fail "a package after a write failure"
mkdir -p "$T/full"
"$CTW" -q export --mesh "$T/o1/phantom-biv.work/fibers" -o "$T/full/pkg" >/dev/null & pid=$!
sleep 0.3
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
if [ -e "$T/full/pkg" ]; then "$CTW" -q verify "$T/full/pkg" >/dev/null || fail "a killed export left an incomplete package"; fi
run 0 "$CTW" export --mesh "$T/o1/phantom-biv.work/fibers" -o "$T/full/pkg"
run 0 "$CTW" verify "$T/full/pkg"
[ -z "$(ls -A "$T/full" | grep '^\.tmp-')" ] || fail "leftovers of the killed export: $(ls -A "$T/full")"
# export --image: drawn under the labels and recorded; a missing image fails with no package
w="$T/o1/phantom-biv.work"
run 0 "$CTW" export --mesh "$w/fibers" --labels "$w/labels.nii.gz" --image "$w/input/image.nii.gz" --formats vtk -o "$T/pi"
grep -qaF "underlay=image" "$T/pi/qa/labels.png" || fail "export --image: no image under the labels"
has "$T/pi/provenance.xml" "<prov:label>input image</prov:label>"
run 0 "$CTW" verify "$T/pi"
run 0 "$CTW" export --mesh "$w/fibers" --labels "$w/labels.nii.gz" --formats vtk -o "$T/pn"
grep -qaF "underlay" "$T/pn/qa/labels.png" && fail "export without --image: an image under the labels"
grep -qF "input image" "$T/pn/provenance.xml" && fail "export without --image: an image in the record"
run 2 "$CTW" export --mesh "$w/fibers" --labels "$w/labels.nii.gz" --image "$T/no-such.nii.gz" -o "$T/px"
error_names "no-such.nii.gz"
[ ! -e "$T/px" ] || fail "a package from an export with a missing image"
# a tampered package is caught
echo "x" >>"$T/full/pkg/model/opencarp/heart.elem"
run 2 "$CTW" verify "$T/full/pkg"
has "$T/out" "heart.elem"
finish
