"""Hostile surfaces for `mesh --surface` (issue 12 items 2, 4, 10) and absurd voxel sizes for
`mesh --labels` (item 4): a valid small sphere written by hand as .vtp (XML ASCII), legacy .vtk
(ASCII and BINARY) and .stl (ASCII and binary), then every count, offset and index mutated,
truncated, given NaN/inf/1e30 points, scaled tiny and huge, opened, inverted, made non-manifold
or self-intersecting, emptied, and given surface-id arrays of wrong lengths and types."""
import math
import os
import struct

EDGE = '4'  # coarse: each valid case meshes in about a second


def icosphere(r=10.0, level=1, centre=(0.0, 0.0, 0.0)):
    t = (1 + 5 ** 0.5) / 2
    v = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t), (0, -1, -t),
         (0, 1, -t), (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]
    f = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4),
         (11, 10, 2), (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8),
         (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    v = [tuple(c / math.sqrt(sum(x * x for x in p)) for c in p) for p in v]
    for _ in range(level):
        mid = {}
        nf = []

        def m(a, b):
            k = (min(a, b), max(a, b))
            if k not in mid:
                p = [(v[a][i] + v[b][i]) / 2 for i in range(3)]
                n = math.sqrt(sum(x * x for x in p))
                v.append(tuple(x / n for x in p))
                mid[k] = len(v) - 1
            return mid[k]
        for a, b, c in f:
            ab, bc, ca = m(a, b), m(b, c), m(c, a)
            nf += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        f = nf
    pts = [tuple(centre[i] + r * p[i] for i in range(3)) for p in v]
    return pts, f


def fmt(x):
    return repr(float(x)) if math.isfinite(x) else ('nan' if x != x else ('inf' if x > 0 else '-inf'))


def vtp(pts, tris, ids=None, offsets=None, conn=None, npts=None, npolys=None, idtype='Int32',
        idname='surface-id', coords=None):
    conn = conn if conn is not None else [i for t in tris for i in t]
    offsets = offsets if offsets is not None else [3 * (k + 1) for k in range(len(tris))]
    npts = len(pts) if npts is None else npts
    npolys = len(tris) if npolys is None else npolys
    coords = coords if coords is not None else ' '.join(fmt(c) for p in pts for c in p)
    s = ['<?xml version="1.0"?>',
         '<VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt64">',
         '<PolyData>',
         '<Piece NumberOfPoints="%s" NumberOfVerts="0" NumberOfLines="0" NumberOfStrips="0" '
         'NumberOfPolys="%s">' % (npts, npolys)]
    if ids is not None:
        s += ['<CellData Scalars="%s">' % idname,
              '<DataArray type="%s" Name="%s" format="ascii">%s</DataArray>' %
              (idtype, idname, ' '.join(str(i) for i in ids)), '</CellData>']
    s += ['<Points><DataArray type="Float64" NumberOfComponents="3" format="ascii">%s</DataArray>'
          '</Points>' % coords,
          '<Polys><DataArray type="Int64" Name="connectivity" format="ascii">%s</DataArray>' %
          ' '.join(str(i) for i in conn),
          '<DataArray type="Int64" Name="offsets" format="ascii">%s</DataArray></Polys>' %
          ' '.join(str(i) for i in offsets),
          '</Piece>', '</PolyData>', '</VTKFile>', '']
    return '\n'.join(s).encode()


def vtk_ascii(pts, tris, ids=None, npts=None, npolys=None, size=None, cells=None, ncell=None,
              idtype='int'):
    npts = len(pts) if npts is None else npts
    npolys = len(tris) if npolys is None else npolys
    size = 4 * len(tris) if size is None else size
    cells = cells if cells is not None else ['3 %d %d %d' % tuple(t) for t in tris]
    s = ['# vtk DataFile Version 3.0', 'sphere', 'ASCII', 'DATASET POLYDATA',
         'POINTS %s double' % npts] + [' '.join(fmt(c) for c in p) for p in pts]
    s += ['POLYGONS %s %s' % (npolys, size)] + cells
    if ids is not None:
        s += ['CELL_DATA %s' % (len(tris) if ncell is None else ncell),
              'SCALARS surface-id %s 1' % idtype, 'LOOKUP_TABLE default'] + [str(i) for i in ids]
    return ('\n'.join(s) + '\n').encode()


def vtk_binary(pts, tris, ids=None, npts=None, npolys=None, size=None, cellints=None):
    npts = len(pts) if npts is None else npts
    npolys = len(tris) if npolys is None else npolys
    size = 4 * len(tris) if size is None else size
    b = b'# vtk DataFile Version 3.0\nsphere\nBINARY\nDATASET POLYDATA\n'
    b += b'POINTS %d float\n' % npts
    b += b''.join(struct.pack('>3f', *p) for p in pts) + b'\n'
    b += b'POLYGONS %d %d\n' % (npolys, size)
    ints = cellints if cellints is not None else [x for t in tris for x in (3,) + tuple(t)]
    b += struct.pack('>%di' % len(ints), *ints) + b'\n'
    if ids is not None:
        b += b'CELL_DATA %d\nSCALARS surface-id int 1\nLOOKUP_TABLE default\n' % len(tris)
        b += struct.pack('>%di' % len(ids), *ids) + b'\n'
    return b


def normal(a, b, c):
    u = [b[i] - a[i] for i in range(3)]
    w = [c[i] - a[i] for i in range(3)]
    n = [u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0]]
    L = math.sqrt(sum(x * x for x in n)) or 1.0
    return [x / L for x in n]


def stl_ascii(pts, tris):
    s = ['solid sphere']
    for t in tris:
        a, b, c = (pts[i] for i in t)
        s += ['facet normal %s %s %s' % tuple(fmt(x) for x in normal(a, b, c)), 'outer loop'] + \
             ['vertex %s %s %s' % tuple(fmt(x) for x in p) for p in (a, b, c)] + ['endloop', 'endfacet']
    s.append('endsolid sphere')
    return ('\n'.join(s) + '\n').encode()


def stl_binary(pts, tris, count=None):
    b = b'cardiotwin hostile'.ljust(80, b' ')
    b += struct.pack('<I', len(tris) if count is None else count)
    for t in tris:
        a, bb, c = (pts[i] for i in t)
        b += struct.pack('<12fH', *(normal(a, bb, c) + list(a) + list(bb) + list(c)), 0)
    return b


def ok_mesh(work, out, err):
    q = os.path.join(work, 'out', 'mesh.vtu')
    return None if os.path.isfile(q) and os.path.getsize(q) > 0 else 'exit 0 without out/mesh.vtu'


def generate(g):
    ctw = g.ctw
    pts, tris = icosphere()
    n, m = len(pts), len(tris)
    ids = [1] * m

    def add(name, data, expect=(2,), extra=(), check=None, timeout=120):
        p = g.path(name)
        with open(p, 'wb') as f:
            f.write(data)
        args = ['mesh', '--surface', p, '--edge-length', EDGE, '-o', 'out'] + list(extra)
        g.case(name, args, expect=expect, check=check if 0 in expect else None, timeout=timeout)

    # valid bases in every format: must mesh (exit 0, mesh written)
    add('valid.vtp', vtp(pts, tris, ids), (0,), check=ok_mesh)
    add('valid-ascii.vtk', vtk_ascii(pts, tris, ids), (0,), check=ok_mesh)
    add('valid-bin.vtk', vtk_binary(pts, tris, ids), (0,), check=ok_mesh)
    add('valid-ascii.stl', stl_ascii(pts, tris), (0,), check=ok_mesh)
    add('valid-bin.stl', stl_binary(pts, tris), (0,), check=ok_mesh)

    # indices out of range, negative, huge (every format that has indices)
    for k, bad in (('past', n), ('far', 10 ** 6), ('neg', -1), ('negbig', -2 ** 31), ('i32max', 2 ** 31 - 1)):
        t2 = [list(t) for t in tris]
        t2[5][1] = bad
        add('index-%s.vtp' % k, vtp(pts, t2, ids))
        add('index-%s-ascii.vtk' % k, vtk_ascii(pts, t2, ids))
        add('index-%s-bin.vtk' % k, vtk_binary(pts, t2, ids))
    # VTP offsets and counts
    offs = [3 * (k + 1) for k in range(m)]
    add('offsets-decreasing.vtp', vtp(pts, tris, ids, offsets=offs[:10] + [offs[3]] + offs[11:]))
    add('offsets-past-end.vtp', vtp(pts, tris, ids, offsets=offs[:-1] + [3 * m + 30]))
    add('offsets-negative.vtp', vtp(pts, tris, ids, offsets=[-3] + offs[1:]))
    add('offsets-short.vtp', vtp(pts, tris, ids, offsets=offs[:m // 2]))
    add('offsets-empty.vtp', vtp(pts, tris, ids, offsets=[]))
    add('conn-short.vtp', vtp(pts, tris, ids, conn=[i for t in tris for i in t][:-7]))
    add('conn-empty.vtp', vtp(pts, tris, ids, conn=[]))
    for k, v in (('zero', 0), ('minus', -1), ('more', n + 50), ('huge', 99999999), ('half', n // 2)):
        add('npoints-%s.vtp' % k, vtp(pts, tris, ids, npts=v))
    for k, v in (('zero', 0), ('minus', -1), ('more', m + 5), ('huge', 2000000000), ('half', m // 2)):
        add('npolys-%s.vtp' % k, vtp(pts, tris, ids, npolys=v))
    add('coords-short.vtp', vtp(pts, tris, ids, coords=' '.join(fmt(c) for p in pts for c in p)[:-40]))
    add('coords-text.vtp', vtp(pts, tris, ids, coords='a b c'))
    # surface-id arrays: lengths and types
    add('ids-short.vtp', vtp(pts, tris, ids[:m // 2]))
    add('ids-one.vtp', vtp(pts, tris, [1]))
    add('ids-empty.vtp', vtp(pts, tris, []))
    add('ids-long.vtp', vtp(pts, tris, ids + [1] * 40), (0, 2), check=ok_mesh)
    add('ids-float.vtp', vtp(pts, tris, [1.5] * m, idtype='Float64'), (0, 2), check=ok_mesh)
    add('ids-nan.vtp', vtp(pts, tris, ['nan'] * m, idtype='Float64'), (0, 2), check=ok_mesh)
    add('ids-huge.vtp', vtp(pts, tris, [2 ** 40] * m, idtype='Int64'), (0, 2), check=ok_mesh)
    add('ids-negative.vtp', vtp(pts, tris, [-5] * m), (0, 2), check=ok_mesh)
    add('ids-short-ascii.vtk', vtk_ascii(pts, tris, ids[:m // 2], ncell=m))
    add('ids-short-count-ascii.vtk', vtk_ascii(pts, tris, ids[:m // 2], ncell=m // 2))
    add('ids-float-ascii.vtk', vtk_ascii(pts, tris, [2.5] * m, idtype='float'), (0, 2), check=ok_mesh)
    add('ids-short-bin.vtk', vtk_binary(pts, tris, ids)[:-(4 * m // 2)])

    # legacy VTK counts
    for k, v in (('zero', 0), ('more', n + 10), ('huge', 99999999), ('i32', 2 ** 31 + 5), ('i64', 2 ** 62)):
        add('npoints-%s-ascii.vtk' % k, vtk_ascii(pts, tris, ids, npts=v), timeout=60)
        add('npoints-%s-bin.vtk' % k, vtk_binary(pts, tris, ids, npts=v), timeout=60)
    for k, v in (('zero', 0), ('more', m + 10), ('huge', 2000000000), ('i64', 2 ** 62)):
        add('npolys-%s-ascii.vtk' % k, vtk_ascii(pts, tris, ids, npolys=v), timeout=60)
        add('npolys-%s-bin.vtk' % k, vtk_binary(pts, tris, ids, npolys=v), timeout=60)
    for k, v in (('small', 4 * m - 5), ('big', 4 * m + 50), ('huge', 2000000000), ('zero', 0)):
        add('size-%s-ascii.vtk' % k, vtk_ascii(pts, tris, ids, size=v), timeout=60)
        add('size-%s-bin.vtk' % k, vtk_binary(pts, tris, ids, size=v), timeout=60)
    cells = ['3 %d %d %d' % tuple(t) for t in tris]
    add('cell-npts-big-ascii.vtk', vtk_ascii(pts, tris, ids, cells=['9 %d %d %d' % tris[0]] + cells[1:]))
    add('cell-npts-neg-ascii.vtk', vtk_ascii(pts, tris, ids, cells=['-3 %d %d %d' % tris[0]] + cells[1:]))
    ints = [x for t in tris for x in (3,) + tuple(t)]
    add('cell-npts-big-bin.vtk', vtk_binary(pts, tris, ids, cellints=[1000] + ints[1:]))
    add('cell-npts-neg-bin.vtk', vtk_binary(pts, tris, ids, cellints=[-1] + ints[1:]))

    # truncations of every format at several fractions
    bases = {'vtp': vtp(pts, tris, ids), 'ascii.vtk': vtk_ascii(pts, tris, ids),
             'bin.vtk': vtk_binary(pts, tris, ids), 'ascii.stl': stl_ascii(pts, tris),
             'bin.stl': stl_binary(pts, tris)}
    for ext, b in bases.items():
        for frac in (0.0, 0.02, 0.3, 0.6, 0.97):
            add('trunc%02d-%s' % (int(frac * 100), ext.replace('.', '-')) + '.' + ext.split('.')[-1],
                b[:int(len(b) * frac)])
    b = stl_binary(pts, tris)
    add('stl-bin-short1.stl', b[:-1])
    add('stl-bin-short50.stl', b[:-50])
    add('stl-bin-count-big.stl', stl_binary(pts, tris, count=m + 1))
    add('stl-bin-count-huge.stl', stl_binary(pts, tris, count=0xffffffff))
    add('stl-bin-count-zero.stl', stl_binary(pts, tris, count=0))
    add('stl-bin-extra.stl', b + b'\0' * 50, (0, 2), check=ok_mesh)
    add('stl-header-only.stl', b[:84])
    add('stl-tiny.stl', b[:10])

    # non-finite and absurd coordinates in every format
    for k, v in (('nan', float('nan')), ('inf', float('inf')), ('ninf', float('-inf')),
                 ('1e30', 1e30), ('1e300', 1e300)):
        p2 = list(pts)
        p2[7] = (v, p2[7][1], p2[7][2])
        add('point-%s.vtp' % k, vtp(p2, tris, ids), timeout=60)
        add('point-%s-ascii.vtk' % k, vtk_ascii(p2, tris, ids), timeout=60)
        add('point-%s-ascii.stl' % k, stl_ascii(p2, tris), timeout=60)
        if k in ('nan', 'inf', '1e30'):
            add('point-%s-bin.vtk' % k, vtk_binary(p2, tris, ids), timeout=60)
            add('point-%s-bin.stl' % k, stl_binary(p2, tris), timeout=60)
    for k, s in (('2e-6', 2e-6), ('1e-3', 1e-3), ('1e30', 1e30), ('1e6', 1e6)):
        ps = [tuple(s / 10 * c for c in p) for p in pts]
        add('scale-%s.vtp' % k, vtp(ps, tris, ids), timeout=60)
        add('scale-%s-bin.stl' % k, stl_binary(ps, tris), timeout=60)
        add('scale-%s-ascii.vtk' % k, vtk_ascii(ps, tris, ids), timeout=60, extra=('--timeout', '30'))
    far = [(p[0] + 1e30, p[1], p[2]) for p in pts]
    add('offset-1e30.vtp', vtp(far, tris, ids), timeout=60, extra=('--timeout', '20'))

    # topology: open, inverted, non-manifold, self-intersecting, empty, degenerate
    add('open.vtp', vtp(pts, tris[:-3], ids[:-3]), (0, 2), check=ok_mesh)
    add('open-half.vtp', vtp(pts, [t for t in tris if sum(pts[i][2] for i in t) > 0],
                             None), (0, 2, 3), check=ok_mesh)
    add('inverted.vtp', vtp(pts, [(a, c, b) for a, b, c in tris], ids), (0, 2), check=ok_mesh)
    add('half-inverted.vtp', vtp(pts, [(a, c, b) if k % 2 else (a, b, c) for k, (a, b, c) in
                                       enumerate(tris)], ids), (0, 2, 3), check=ok_mesh)
    add('dup-tris.vtp', vtp(pts, tris + tris[:5], ids + ids[:5]), (0, 2), check=ok_mesh)
    add('nonmanifold.vtp', vtp(pts, tris + [(tris[0][0], tris[0][1], 30), (tris[0][1], tris[0][0], 40)],
                               ids + [1, 1]), (0, 2, 3), check=ok_mesh)
    p2, t2 = icosphere(r=10.0, centre=(5.0, 0.0, 0.0))
    add('two-overlapping.vtp', vtp(pts + p2, tris + [tuple(i + n for i in t) for t in t2], ids * 2),
        (2, 3))
    p3 = list(pts)
    p3[0] = (-p3[0][0] * 3, -p3[0][1] * 3, -p3[0][2] * 3)
    add('spike-through.vtp', vtp(p3, tris, ids), (0, 2, 3), check=ok_mesh)
    add('empty.vtp', vtp([], [], []))
    add('empty-ascii.vtk', vtk_ascii([], [], []))
    add('empty-ascii.stl', b'solid x\nendsolid x\n')
    add('empty-file.stl', b'')
    add('empty-file.vtk', b'')
    add('one-triangle.vtp', vtp(pts, tris[:1], ids[:1]))
    add('all-degenerate.vtp', vtp(pts, [(t[0], t[0], t[1]) for t in tris], ids))
    add('collinear.vtp', vtp([(float(i), 0.0, 0.0) for i in range(n)], tris, ids))
    add('flat.vtp', vtp([(p[0], p[1], 0.0) for p in pts], tris, ids), (2, 3))
    add('garbage.vtp', b'<?xml version="1.0"?><VTKFile type="PolyData"><PolyData><Piece')
    add('garbage.vtk', b'# vtk DataFile Version 3.0\nx\nASCII\nDATASET POLYDATA\nPOINTS abc double\n')
    add('unstructured.vtk', b'# vtk DataFile Version 3.0\nx\nASCII\nDATASET UNSTRUCTURED_GRID\n'
        b'POINTS 4 double\n0 0 0 1 0 0 0 1 0 0 0 1\nCELLS 1 5\n4 0 1 2 3\nCELL_TYPES 1\n10\n')
    add('wrong-ext.obj', b'v 0 0 0\n', extra=())

    # mesh --labels with absurd voxel sizes (a phantom rescaled through its header)
    ph = g.path('phantom')
    lab = os.path.join(ph, 'labels.nii.gz')
    import subprocess
    r = subprocess.run([ctw, 'phantom', '--kind', 'lv', '--spacing', '3', '-o', ph],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode == 0:
        import gzip
        raw = bytearray(gzip.open(lab).read())
        for k, s in (('1e30', 1e30), ('1000', 1000.0), ('1e-4', 1e-4), ('300', 300.0)):
            b2 = bytearray(raw)
            struct.pack_into('<3f', b2, 80, s, s, s)  # pixdim[1..3]
            # sform rows scaled too, so qform/sform agree with the voxel size
            for row in range(3):
                off = 280 + 16 * row
                v = list(struct.unpack_from('<4f', b2, off))
                v[row] = s if v[row] >= 0 else -s
                struct.pack_into('<4f', b2, off, *v)
            p = g.path('labels-%s.nii' % k)
            with open(p, 'wb') as f:
                f.write(bytes(b2))
            g.case('labels-voxel-%s' % k, ['mesh', '--labels', p, '--edge-length', '4', '-o', 'out'],
                   expect=(2,), timeout=120)
            g.case('labels-voxel-%s-timeout' % k, ['mesh', '--labels', p, '--timeout', '20',
                                                     '-o', 'out'], expect=(2, 3), timeout=60)
