"""Hostile label maps (issue 12 items 4, 9, 11, 12): NIfTI (and a few NRRD) label maps derived
from the phantom's exact labels (`phantom --kind lv|biv --spacing 3`): unknown values, all-zero,
one label, 2-D, one slice, checkerboards, salt-and-pepper noise, huge/tiny/anisotropic/NaN
spacings, 1e9-voxel headers, float, negative and scaled labels, maps outside the image,
flipped/permuted/oblique axes, holes, islands, touching blood pools; run through `segment
--labels X --model lv|biv` and some (the segmented ones) through `mesh --labels`. Exit 0 only
with label volumes (segment) or a mesh volume (mesh) near the phantom's truth."""
import gzip
import math
import os
import struct
import subprocess
import zlib

import numpy as np

RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
DT = {np.uint8: (2, 8), np.int16: (4, 16), np.int32: (8, 32), np.float32: (16, 32), np.float64: (64, 64),
      np.int8: (256, 8), np.uint16: (512, 16), np.int64: (1024, 64)}
NP = {2: np.uint8, 4: np.int16, 8: np.int32, 16: np.float32, 64: np.float64, 256: np.int8, 512: np.uint16,
      768: np.uint32, 1024: np.int64, 1280: np.uint64}


def nifti_header(dim, pixdim, dtype, aff_lps, sform=1, qform=0, slope=0.0, inter=0.0, datatype=None,
                 bitpix=None):
    """A NIfTI-1 header (348 bytes + 4 extension bytes); aff_lps maps (i, j, k, 1) to LPS mm."""
    code, bits = DT[np.dtype(dtype).type]
    h = bytearray(352)
    struct.pack_into('<i', h, 0, 348)
    d = [len(dim)] + list(dim) + [1] * (7 - len(dim))
    struct.pack_into('<8h', h, 40, *d)
    struct.pack_into('<hh', h, 70, datatype if datatype is not None else code, bitpix if bitpix is not None else bits)
    struct.pack_into('<8f', h, 76, *([1.0] + list(pixdim) + [1.0] * (7 - len(pixdim))))
    struct.pack_into('<f', h, 108, 352.0)
    struct.pack_into('<ff', h, 112, slope, inter)
    struct.pack_into('<B', h, 123, 2)  # xyzt_units: mm
    struct.pack_into('<hh', h, 252, qform, sform)
    ras = RAS @ aff_lps
    for r in range(3):
        struct.pack_into('<4f', h, 280 + 16 * r, *[float(x) for x in ras[r]])
    h[344:348] = b'n+1\0'
    return bytes(h)


def write_nifti(path, a, aff_lps, dtype=None, pixdim=None, gz=True, **kw):
    """a[k, j, i] (or [j, i] for 2-D) as NIfTI-1; pixdim defaults to the columns' norms."""
    a = np.asarray(a)
    if dtype is not None:
        a = a.astype(dtype)
    dim = list(a.shape[::-1])
    if pixdim is None:
        pixdim = [float(np.linalg.norm(aff_lps[:3, c])) for c in range(len(dim))]
    data = nifti_header(dim, pixdim, a.dtype, aff_lps, **kw) + np.ascontiguousarray(a).astype(
        a.dtype.newbyteorder('<')).tobytes()
    with (gzip.open(path, 'wb', compresslevel=1) if gz else open(path, 'wb')) as f:
        f.write(data)


def read_nifti(path):
    """(array[k, j, i], pixdim[3]) of a NIfTI-1 file cardiotwin wrote."""
    with (gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb')) as f:
        b = f.read()
    dim = struct.unpack_from('<8h', b, 40)
    dt = struct.unpack_from('<h', b, 70)[0]
    pix = struct.unpack_from('<8f', b, 76)
    off = int(struct.unpack_from('<f', b, 108)[0])
    n = dim[1] * dim[2] * dim[3]
    a = np.frombuffer(b, NP[dt], n, off).reshape(dim[3], dim[2], dim[1])
    return a, [abs(p) for p in pix[1:4]]


def write_nrrd(path, a, aff_lps, type_='uchar', spacing_line=None, sizes=None):
    cols = [tuple(aff_lps[r][c] for r in range(3)) for c in range(3)]
    hdr = ('NRRD0004\ntype: %s\ndimension: 3\nspace: left-posterior-superior\nsizes: %s\n' %
           (type_, sizes or '%d %d %d' % (a.shape[2], a.shape[1], a.shape[0])))
    hdr += spacing_line or 'space directions: (%r,%r,%r) (%r,%r,%r) (%r,%r,%r)\n' % (cols[0] + cols[1] + cols[2])
    hdr += 'space origin: (%r,%r,%r)\nencoding: raw\nendian: little\n\n' % tuple(aff_lps[:3, 3])
    with open(path, 'wb') as f:
        f.write(hdr.encode())
        f.write(np.ascontiguousarray(a).tobytes())


def volumes_ml(a, pix):
    v = float(pix[0] * pix[1] * pix[2]) / 1000.0
    vals, cnt = np.unique(a, return_counts=True)
    return {int(x): c * v for x, c in zip(vals, cnt) if x}


def seg_check(truth, labels, scale=1.0, tol=0.06):
    """Exit 0 of segment is right when every label the model keeps has its truth volume (times
    scale, for a changed voxel size) within tol (myocardium: the closing and repair add a
    little, 2 tol)."""
    def check(work, out, err):
        p = os.path.join(work, './out.nii.gz')
        if not os.path.exists(p):
            return 'no out.nii.gz'
        a, pix = read_nifti(p)
        got = volumes_ml(a, pix)
        for l in labels:
            want = truth[l] * scale
            t = tol * (2 if l in (2, 103) else 1)
            if abs(got.get(l, 0.0) - want) > t * want:
                return 'label %d: %.2f mL, truth %.2f mL' % (l, got.get(l, 0.0), want)
        extra = set(got) - set(labels)
        if extra:
            return 'labels %s not of the model' % sorted(extra)
        return None
    return check


def mesh_check(truth_ml, tol=0.10):
    def check(work, out, err):
        q = os.path.join(work, 'm', 'quality.txt')
        if not os.path.exists(q):
            return 'no m/quality.txt'
        for line in open(q):
            if line.startswith('mesh volume:'):
                v = float(line.split()[2]) / 1000.0
                if abs(v - truth_ml) > tol * truth_ml:
                    return 'mesh volume %.2f mL, truth myocardium %.2f mL' % (v, truth_ml)
                return None
        return 'no mesh volume in quality.txt'
    return check


def lps_affine(path):
    """index -> LPS 4x4 of a phantom NIfTI (sform, as cardiotwin writes it)."""
    with gzip.open(path, 'rb') as f:
        b = f.read(352)
    rows = [struct.unpack_from('<4f', b, 280 + 16 * r) for r in range(3)]
    m = np.vstack([np.array(rows, float), [0, 0, 0, 1]])
    return RAS @ m


def generate(g):
    base = {}
    for kind in ('lv', 'biv'):
        d = g.path('ph-' + kind)
        # biv at 2 mm: at 3 mm its RV wall is one voxel thin and the repair mesh needs doubles it
        subprocess.run([g.ctw, '-q', 'phantom', '--kind', kind, '--spacing', '3' if kind == 'lv' else '2', '-o', d],
                       check=True,
                       stdout=subprocess.DEVNULL)
        a, pix = read_nifti(os.path.join(d, 'labels.nii.gz'))
        aff = lps_affine(os.path.join(d, 'labels.nii.gz'))
        base[kind] = (a.copy(), aff, volumes_ml(a, pix), os.path.join(d, 'image.nii.gz'))
    rng = np.random.default_rng(12)

    def seg(name, a, aff, kind, expect=(2,), check=None, extra=(), nrrd=False, **kw):
        p = g.path(name + ('.nrrd' if nrrd else '.nii.gz'))
        if nrrd:
            write_nrrd(p, a, aff, **kw)
        else:
            write_nifti(p, a, aff, **kw)
        g.case(name, ['segment', '--labels', p, '--model', kind] + list(extra) + ['-o', './out.nii.gz'],
               expect=expect, check=check, timeout=60)
        return p

    for kind in ('lv', 'biv'):
        a, aff, truth, image = base[kind]
        keep = [1, 2] if kind == 'lv' else [1, 2, 3, 103]
        ok = seg_check(truth, keep)
        k = kind
        # valid: the base, other integer types, NRRD
        for dt in (np.uint8, np.int16, np.uint16, np.int32, np.int64, np.float32, np.float64):
            seg('%s-valid-%s' % (k, np.dtype(dt).name), a, aff, kind, (0,), ok, dtype=dt)
        seg(k + '-valid-nrrd', a, aff, kind, (0,), ok, nrrd=True)
        seg(k + '-valid-image', a, aff, kind, (0,), ok, extra=['--image', image])
        # unknown values, preset mismatch
        for v in (99, 300, 999, 65535):
            b = a.astype(np.int32)
            b[b == 2] = np.where(rng.random((b == 2).sum()) < 0.1, v, 2)
            seg('%s-unknown-%d' % (k, v), b, aff, kind, extra=['--preset', 'canonical'], dtype=np.int32)
        seg(k + '-preset-mmwhs', a, aff, kind, extra=['--preset', 'mmwhs'])
        # empty, one label
        seg(k + '-zero', np.zeros_like(a), aff, kind)
        seg(k + '-zero-canonical', np.zeros_like(a), aff, kind, extra=['--preset', 'canonical'])
        for only in (1, 2):
            b = np.where(a == only, a, 0).astype(np.uint8)
            seg('%s-only-%d' % (k, only), b, aff, kind, extra=['--preset', 'canonical'])
        # 2-D, one slice, two slices, one line
        mid = a.shape[0] // 2
        seg(k + '-2d', a[mid], aff, kind, extra=['--preset', 'canonical'])
        for n in (1, 2):
            b = np.zeros_like(a)
            b[mid:mid + n] = a[mid:mid + n]
            seg('%s-slices-%d' % (k, n), b, aff, kind, extra=['--preset', 'canonical'])
        b = np.zeros_like(a)
        b[:, a.shape[1] // 2, a.shape[2] // 2] = 2
        seg(k + '-line', b, aff, kind, extra=['--preset', 'canonical'])
        # checkerboards: whole map, in the heart only, three labels, 2x2x2 blocks
        kk, jj, ii = np.indices(a.shape)
        seg(k + '-checker', (1 + (ii + jj + kk) % 2).astype(np.uint8), aff, kind)
        seg(k + '-checker-heart', np.where(a > 0, 1 + (ii + jj + kk) % 2, 0).astype(np.uint8), aff, kind,
            extra=['--preset', 'canonical'])
        c3 = np.array([1, 2, 3], np.uint8)[(ii + jj + kk) % 3]
        seg(k + '-checker3', c3, aff, kind, extra=['--preset', 'canonical'])
        seg(k + '-checker-blocks', (1 + (ii // 2 + jj // 2 + kk // 2) % 2).astype(np.uint8), aff, kind,
            extra=['--preset', 'canonical'])
        # salt-and-pepper noise: cleaned to the truth, or refused
        for frac in (0.002, 0.01, 0.05, 0.2, 0.5):
            b = a.copy()
            m = rng.random(a.shape) < frac
            b[m] = rng.choice(np.array(keep, np.uint8), m.sum())
            seg('%s-noise-%g' % (k, frac), b, aff, kind, (0, 2, 3), seg_check(truth, keep, tol=0.08),
                extra=['--preset', 'canonical'])
        # spacings in pixdim and in the sform
        for name, sp in (('1e30', 1e30), ('1e-6', 1e-6), ('nan', float('nan')), ('inf', float('inf')),
                         ('zero', 0.0), ('neg', -3.0), ('1e6', 1e6), ('0.001', 0.001), ('200', 200.0)):
            aff2 = aff.copy()
            s = sp if math.isfinite(sp) and sp != 0 else 3.0
            aff2[:3, :3] = aff[:3, :3] / 3.0 * abs(s)
            scale = (abs(s) / 3.0) ** 3
            seg('%s-spacing-%s' % (k, name), a, aff2, kind, (0, 2), seg_check(truth, keep, scale),
                pixdim=[sp, sp, sp])
            seg('%s-spacing-%s-k' % (k, name), a, aff, kind, (0, 2), None, pixdim=[3.0, 3.0, sp], sform=0,
                qform=0) if name in ('nan', '1e30', '1e-6', 'zero') else None
        # thick slices: 0.1 x 0.1 x 20 mm
        aff2 = aff.copy()
        aff2[:3, :3] = aff[:3, :3] @ np.diag([0.1 / 3, 0.1 / 3, 20.0 / 3])
        seg(k + '-aniso-0.1x20', a, aff2, kind, (0, 2), None, pixdim=[0.1, 0.1, 20.0])
        big = np.zeros((8, 600, 600), np.uint8)
        big[2:6, 150:450, 150:450] = 2
        big[2:6, 220:380, 220:380] = 1
        seg(k + '-aniso-big', big, np.diag([0.1, 0.1, 20.0, 1.0]), kind, (2,), None)
        # float, negative, scaled labels
        seg(k + '-float-half', np.where(a == 2, 0.5, a).astype(np.float32), aff, kind)
        seg(k + '-float-nan', np.where(a == 2, np.nan, a).astype(np.float32), aff, kind)
        seg(k + '-float-inf', np.where(a == 1, np.inf, a).astype(np.float32), aff, kind)
        seg(k + '-float-eps', np.where(a == 2, 2.0001, a).astype(np.float32), aff, kind)
        seg(k + '-negative', np.where(a == 1, -1, a).astype(np.int16), aff, kind)
        seg(k + '-negative-canonical', np.where(a == 2, -2, a).astype(np.int16), aff, kind,
            extra=['--preset', 'canonical'])
        seg(k + '-scaled', a, aff, kind, (0, 2), None, slope=2.0)
        seg(k + '-scaled-half', a, aff, kind, (2,), None, slope=0.5, inter=0.25)
        # outside the image
        aff2 = aff.copy()
        aff2[:3, 3] += 1000.0
        seg(k + '-outside-image', a, aff2, kind, extra=['--image', image])
        # flipped, permuted and oblique axes: the same heart
        flips = {'flip-i': (a[:, :, ::-1], np.array([[-1, 0, 0, a.shape[2] - 1], [0, 1, 0, 0], [0, 0, 1, 0],
                                                       [0, 0, 0, 1]])),
                 'flip-k': (a[::-1], np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, -1, a.shape[0] - 1],
                                               [0, 0, 0, 1]])),
                 'swap-ij': (a.transpose(0, 2, 1), np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0],
                                                             [0, 0, 0, 1]])),
                 'perm-kij': (a.transpose(1, 2, 0), np.array([[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0],
                                                              [0, 0, 0, 1]]))}
        for name, (b, t) in flips.items():
            # new index -> old index is t: aff_new = aff @ t
            p = seg('%s-%s' % (k, name), np.ascontiguousarray(b), aff @ t.astype(float), kind, (0,), ok)
        th = math.radians(30)
        rot = np.eye(4)
        rot[:3, :3] = [[math.cos(th), -math.sin(th), 0], [math.sin(th), math.cos(th), 0], [0, 0, 1]]
        seg(k + '-oblique', a, rot @ aff, kind, (0,), ok)
        seg(k + '-oblique-qform', a, rot @ aff, kind, (0, 2), ok, sform=0, qform=0)
        # holes, islands, touching blood pools
        b = a.copy()
        b[(a == 1) & (rng.random(a.shape) < 0.05)] = 0
        seg(k + '-holes', b, aff, kind, (0,), ok)
        b = a.copy()
        b[mid - 1:mid + 1, 1:3, 1:3] = 2
        b[1:3, 1:3, -3:-1] = 1
        seg(k + '-islands', b, aff, kind, (0,), ok)
        b = a.copy()
        b[(a == 2) & (rng.random(a.shape) < 0.05)] = 1
        seg(k + '-perforated-wall', b, aff, kind, (0, 2, 3), seg_check(truth, keep, tol=0.08))
        # 1e9-voxel headers: a real gzip of zeros, a header with a few bytes, a lying gzip
        p = g.path(k + '-giga.nii.gz')
        with open(p, 'wb') as f:
            z = zlib.compressobj(1, zlib.DEFLATED, 31)
            f.write(z.compress(nifti_header([1000, 1000, 1000], [1, 1, 1], np.uint8, np.eye(4))))
            chunk = bytes(1 << 24)
            for _ in range((10 ** 9) >> 24):
                f.write(z.compress(chunk))
            f.write(z.compress(bytes(10 ** 9 - ((10 ** 9) >> 24 << 24))))
            f.write(z.flush())
        g.case(k + '-giga', ['segment', '--labels', p, '--model', kind, '-o', './out.nii.gz'], expect=(2,), timeout=60)
        for name, dim in (('giga-hdr', [1000, 1000, 1000]), ('wide-hdr', [32767, 32767, 2]),
                          ('long-hdr', [1, 1, 32767])):
            p = g.path('%s-%s.nii' % (k, name))
            with open(p, 'wb') as f:
                f.write(nifti_header(dim, [1, 1, 1], np.uint8, np.eye(4)) + bytes(4096))
            g.case('%s-%s' % (k, name), ['segment', '--labels', p, '--model', kind, '-o', './out.nii.gz'],
                   expect=(2,), timeout=60)
        # NRRD oddities
        seg(k + '-nrrd-nan-spacing', a, aff, kind, nrrd=True,
            spacing_line='space directions: (nan,0,0) (0,3,0) (0,0,3)\n')
        seg(k + '-nrrd-huge', a, aff, kind, nrrd=True, sizes='100000 100000 100000')
        seg(k + '-nrrd-float', a.astype(np.float32) * 0.5, aff, kind, nrrd=True, type_='float')
        # the segmented map through mesh: the base, flipped, oblique
        if kind == 'lv':
            for name in ('valid-uint8', 'flip-i', 'oblique', 'swap-ij'):
                src = g.path('%s-%s.nii.gz' % (k, name))
                out = g.path('%s-%s-seg.nii.gz' % (k, name))
                r = subprocess.run([g.ctw, '-q', 'segment', '--labels', src, '--model', kind, '-o', out],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if r.returncode == 0:
                    g.case('%s-%s-mesh' % (k, name), ['mesh', '--labels', out, '--model', kind, '--edge-length', '3',
                                                      '-o', 'm'], expect=(0,),
                           check=mesh_check(truth[2] + truth.get(103, 0.0)), timeout=120)
        # raw hostile maps straight into mesh: refused naming the file
        for name in ('2d', 'slices-1', 'slices-2', 'line'):
            src = g.path('%s-%s.nii.gz' % (k, name))
            g.case('%s-%s-mesh' % (k, name), ['mesh', '--labels', src, '--model', kind, '--edge-length', '3', '-o', 'm'],
                   expect=(2,), timeout=60)
