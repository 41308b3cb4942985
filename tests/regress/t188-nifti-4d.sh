# t188: one phase (volume) of a 4-D NIfTI cine short-axis stack, chosen with --phase N in
# convert, segment and run. The volume read equals, voxels and geometry, the same data written
# as a 3-D NIfTI (int16 with scl_slope 2, big-endian, oblique qform or an sform; .nii and
# .nii.gz), and what an independent reader (tests/hostile/gen_nifti.py) makes of the input.
# Without --phase, with a phase beyond the volumes, with `ed` (DICOM only), or --phase 2 on a
# 3-D image: exit 2 naming the file, nothing written. `info` lists the phases.
. "$CTW_SRC/tests/regress/lib.sh"
PY=/usr/bin/python3
cd "$T" || exit 1

# cine files of 5 volumes and, beside each, its volume 3 as a 3-D file with the same header
$PY - <<'PYEOF' || fail "making the cine files"
import gzip, struct
import numpy as np

def write(path, vols, code, endian, slope=1.0, inter=0.0, qform=True):
    e = endian
    dt = np.dtype(e + {4: 'i2', 512: 'u2', 16: 'f4'}[code])
    nz, ny, nx = vols.shape[-3:]
    t = vols.shape[0] if vols.ndim == 4 else 1
    h = bytearray(352)
    struct.pack_into(e + 'i', h, 0, 348)
    struct.pack_into(e + '8h', h, 40, 4 if vols.ndim == 4 else 3, nx, ny, nz, t, 1, 1, 1)
    struct.pack_into(e + 'hh', h, 70, code, 8 * dt.itemsize)
    struct.pack_into(e + '8f', h, 76, 1.0, 1.4, 1.3, 6.0, 0.04, 1, 1, 1)
    struct.pack_into(e + 'fff', h, 108, 352.0, slope, inter)
    if qform:  # oblique: a rotation of about 25 degrees
        struct.pack_into(e + 'hh', h, 252, 1, 0)
        struct.pack_into(e + '6f', h, 256, 0.1, -0.15, 0.12, 12.5, -40.25, 33.0)
    else:
        struct.pack_into(e + 'hh', h, 252, 0, 2)
        for r, row in enumerate(([0.0, 0.0, -6.0, 20.0], [-1.4, 0.0, 0.0, 5.0], [0.0, 1.3, 0.0, -7.5])):
            struct.pack_into(e + '4f', h, 280 + 16 * r, *row)
    h[344:348] = b'n+1\0'
    b = bytes(h) + vols.astype(dt).tobytes()
    open(path, 'wb').write(gzip.compress(b) if path.endswith('.gz') else b)

rng = np.random.default_rng(188)
cine = rng.integers(-3000, 3000, size=(5, 4, 20, 24))
for ext in ('nii', 'nii.gz'):
    write('cine.' + ext, cine, 4, '<', slope=2.0, inter=-0.5)
    write('ref3.' + ext, cine[2], 4, '<', slope=2.0, inter=-0.5)
    write('be.' + ext, cine + 3000, 512, '>', qform=False)
    write('be-ref3.' + ext, cine[2] + 3000, 512, '>', qform=False)
write('f32.nii.gz', cine / 7.0, 16, '<')
write('f32-ref3.nii.gz', cine[2] / 7.0, 16, '<')
open('cine.vox', 'wb').write(np.ascontiguousarray(cine[2] * 2.0 - 0.5, dtype='<f8').tobytes())
PYEOF

# same_nifti A B: the two files hold the same bytes once inflated
same_nifti() {
	$PY -c 'import gzip, sys
r = lambda p: gzip.open(p).read() if p.endswith(".gz") else open(p, "rb").read()
sys.exit(r(sys.argv[1]) != r(sys.argv[2]))' "$1" "$2" || fail "$1 and $2 differ"
}

for f in cine.nii.gz cine.nii be.nii.gz be.nii f32.nii.gz; do
	ref=$(echo "$f" | sed 's/^cine\./ref3./; s/^be\./be-ref3./; s/^f32\./f32-ref3./')
	run 0 "$CTW" convert "$f" --phase 3 -o "f3-$f.nii.gz"
	has "$T/out" "phase 3 of 5"
	has "f3-$f.json" '"phase": 3,'
	has "f3-$f.json" '"n_phases": 5'
	run 0 "$CTW" convert "$ref" -o "r3-$f.nii.gz"
	same_nifti "f3-$f.nii.gz" "r3-$f.nii.gz"
done

# the int16 cine (scl_slope 2, scl_inter -0.5, oblique qform) by an independent reader: the
# output's voxels are volume 3 scaled, its grid is the input header's
$PY - "$CTW_SRC/tests/hostile" <<'PYEOF' || fail "convert --phase 3: not volume 3 of the input"
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from gen_nifti import geometries, load, parse, voxels
want = np.frombuffer(open('cine.vox', 'rb').read(), dtype='<f8')
for src in ('cine.nii.gz', 'cine.nii'):
    ob = load('f3-%s.nii.gz' % src)
    oh = parse(ob)
    got = voxels(ob, oh)
    assert oh['datatype'] == 16 and got.shape == want.shape and np.array_equal(got, want), src
    size, sp, org, d = geometries(parse(load(src)))[0]
    osize, osp, oorg, od = geometries(oh)[0]
    assert list(osize) == [24, 20, 4] and list(size) == [24, 20, 4], (size, osize)
    assert np.allclose(osp, sp, atol=1e-5) and np.allclose(oorg, org, atol=1e-4), (sp, osp, org, oorg)
    assert np.allclose(od, d, atol=1e-5) and abs(d[0][1]) > 0.1, (d, od)
PYEOF

# refused: exit 2 naming the file, nothing written
run 2 "$CTW" convert cine.nii.gz -o x.nii.gz
error_names cine.nii.gz
has "$T/err" "a 4-D image of 5 volumes (a cine); choose one with --phase N (1..5)"
run 2 "$CTW" convert cine.nii --phase 6 -o x.nii.gz
error_names cine.nii
has "$T/err" "no phase 6: the image has 5 volumes"
run 2 "$CTW" convert cine.nii.gz --phase ed -o x.nii.gz
error_names cine.nii.gz
has "$T/err" "give a phase number"
run 2 "$CTW" convert ref3.nii.gz --phase 2 -o x.nii.gz
error_names ref3.nii.gz
has "$T/err" "no phase 2: the image has 1 volume"
[ ! -e x.nii.gz ] && [ ! -e x.json ] || fail "a refused convert wrote x.nii.gz or x.json"
run 0 "$CTW" convert ref3.nii.gz --phase 1 -o p1.nii.gz
same_nifti p1.nii.gz r3-cine.nii.gz.nii.gz

# info lists the volumes
run 0 "$CTW" info cine.nii.gz
has "$T/out" "phases: 5 (a 4-D cine: choose one with --phase N)"
has "$T/out" "size: 24 20 4"

# segment and run on a cine made of the phantom image: its volume 2 is the phantom's image
"$CTW" -q phantom --kind lv --spacing 4 -o ph >/dev/null || fail "phantom"
$PY - <<'PYEOF' || fail "making the phantom cine"
import gzip, struct
b = gzip.decompress(open('ph/image.nii.gz', 'rb').read())
off = int(struct.unpack_from('<f', b, 108)[0])
h, vol = bytearray(b[:off]), b[off:]
struct.pack_into('<h', h, 40, 4)
struct.pack_into('<h', h, 48, 3)
dark = bytes(len(vol))
open('ph-cine.nii.gz', 'wb').write(gzip.compress(bytes(h) + dark + vol + dark))
PYEOF
run 0 "$CTW" segment --image ph-cine.nii.gz --phase 2 --labels ph/labels.nii.gz --model lv -o s2.nii.gz
has "$T/out" "segment: --image phase 2 of 3"
run 0 "$CTW" segment --image ph/image.nii.gz --labels ph/labels.nii.gz --model lv -o s0.nii.gz
same_nifti s2.nii.gz s0.nii.gz
run 2 "$CTW" segment --image ph-cine.nii.gz --labels ph/labels.nii.gz --model lv -o s.nii.gz
error_names ph-cine.nii.gz
has "$T/err" "--phase N (1..3)"
run 2 "$CTW" run --image ph-cine.nii.gz --phase 4 --labels ph/labels.nii.gz -o r-bad
error_names ph-cine.nii.gz
has "$T/err" "no phase 4: the image has 3 volumes"
[ ! -e r-bad ] || fail "a refused run wrote r-bad"
run 0 "$CTW" run --image ph-cine.nii.gz --phase 2 --labels ph/labels.nii.gz --edge-length 4 --formats vtk -o r
[ -s r/case/qa/labels.png ] || fail "run --phase 2: no qa/labels.png"
finish
