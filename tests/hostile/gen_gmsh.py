"""Hostile Gmsh MSH 4.1 meshes for `fibers --mesh X.msh` and `mesh --surface X.msh` (issue 12
item 9): a small valid LV mesh (phantom --spacing 3, mesh --edge-length 8) written by hand as
ASCII and binary MSH 4.1 with named physical groups, then mutated: node tags out of range,
unknown element types, physical groups missing or wrong, inverted and flat tetrahedra, counts,
truncations, NaN nodes."""
import math
import os
import struct
import subprocess

PHYS = {1: 'EPI', 2: 'LV_ENDO', 4: 'BASE'}  # cardiotwin surface ids -> Gmsh names


def load_base(g):
    ph, m = g.path('ph'), g.path('m')
    for args in (['phantom', '--kind', 'lv', '--spacing', '3', '-o', ph],
                 ['mesh', '--labels', os.path.join(ph, 'labels.nii.gz'), '--edge-length', '8', '-o', m]):
        if subprocess.run([g.ctw, '-q'] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
            return None
    import meshio
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy
    v = meshio.read(os.path.join(m, 'mesh.vtu'))
    pts = [tuple(map(float, p)) for p in v.points]
    tets = [tuple(map(int, c)) for c in v.cells_dict['tetra']]
    r = vtk.vtkXMLPolyDataReader()
    r.SetFileName(os.path.join(m, 'surfaces.vtp'))
    r.Update()
    pd = r.GetOutput()
    conn = vtk_to_numpy(pd.GetPolys().GetConnectivityArray())
    tris = [tuple(int(x) for x in conn[3 * i:3 * i + 3]) for i in range(pd.GetNumberOfPolys())]
    cd = pd.GetCellData()
    arr = cd.GetArray('surface') or cd.GetArray(0)
    marks = [int(arr.GetValue(i)) for i in range(pd.GetNumberOfPolys())]
    return pts, tets, tris, marks


def blocks_of(tris, marks):
    by = {}
    for t, k in zip(tris, marks):
        by.setdefault(k, []).append(t)
    return by


def ascii_msh(pts, tets, tris, marks, names=True, node_tags=None, tet_type=4, count_nodes=None,
              count_elems=None, phys_vol=True, extra=''):
    tags = node_tags or list(range(1, len(pts) + 1))
    by = blocks_of(tris, marks)

    def tg(i):
        return str(tags[i]) if 0 <= i < len(tags) else str(i + 1)
    s = ['$MeshFormat', '4.1 0 8', '$EndMeshFormat']
    if names:
        s += ['$PhysicalNames', str(len(by) + 1)] + ['2 %d "%s"' % (k, PHYS.get(k, 'X%d' % k)) for k in by] + \
             ['3 10 "MYOCARDIUM"', '$EndPhysicalNames']
    s += ['$Entities', '0 0 %d 1' % len(by)]
    s += ['%d 0 0 0 1 1 1 1 %d 0' % (k, k) for k in by]
    s += ['1 0 0 0 1 1 1 %s 0' % ('1 10' if phys_vol else '0')]
    s += ['$EndEntities', '$Nodes', '1 %d %d %d' % (count_nodes or len(pts), min(tags), max(tags)),
          '3 1 0 %d' % len(pts)] + [str(t) for t in tags] + \
         ['%s %s %s' % tuple(repr(c) for c in p) for p in pts] + ['$EndNodes']
    ne = len(tets) + len(tris)
    s += ['$Elements', '%d %d 1 %d' % (len(by) + 1, count_elems or ne, ne)]
    e = 1
    s += ['3 1 %d %d' % (tet_type, len(tets))]
    for t in tets:
        s.append('%d %s' % (e, ' '.join(tg(i) for i in t)))
        e += 1
    for k, ts in by.items():
        s.append('2 %d 2 %d' % (k, len(ts)))
        for t in ts:
            s.append('%d %s' % (e, ' '.join(tg(i) for i in t)))
            e += 1
    s += ['$EndElements', extra]
    return '\n'.join(s).encode()


def binary_msh(pts, tets, tris, marks):
    by = blocks_of(tris, marks)
    Q = lambda *v: struct.pack('<%dQ' % len(v), *v)
    I = lambda *v: struct.pack('<%di' % len(v), *v)
    D = lambda *v: struct.pack('<%dd' % len(v), *v)
    b = b'$MeshFormat\n4.1 1 8\n' + I(1) + b'\n$EndMeshFormat\n'
    b += b'$PhysicalNames\n%d\n' % (len(by) + 1)
    b += b''.join(b'2 %d "%s"\n' % (k, PHYS.get(k, 'X%d' % k).encode()) for k in by) + b'3 10 "MYOCARDIUM"\n'
    b += b'$EndPhysicalNames\n$Entities\n' + Q(0, 0, len(by), 1)
    for k in by:
        b += I(k) + D(0, 0, 0, 1, 1, 1) + Q(1) + I(k) + Q(0)
    b += I(1) + D(0, 0, 0, 1, 1, 1) + Q(1) + I(10) + Q(0)
    b += b'\n$EndEntities\n$Nodes\n' + Q(1, len(pts), 1, len(pts)) + I(3, 1, 0) + Q(len(pts))
    b += Q(*range(1, len(pts) + 1)) + D(*[c for p in pts for c in p]) + b'\n$EndNodes\n'
    ne = len(tets) + len(tris)
    b += b'$Elements\n' + Q(len(by) + 1, ne, 1, ne) + I(3, 1, 4) + Q(len(tets))
    e = 1
    for t in tets:
        b += Q(e, *[i + 1 for i in t])
        e += 1
    for k, ts in by.items():
        b += I(2, k, 2) + Q(len(ts))
        for t in ts:
            b += Q(e, *[i + 1 for i in t])
            e += 1
    return b + b'\n$EndElements\n'


def ok_fibers(work, out, err):
    t = os.path.join(work, 'out', 'fibers.txt')
    return None if os.path.isfile(t) else 'exit 0 without out/fibers.txt'


def ok_reoriented(work, out, err):
    t = os.path.join(work, 'out', 'fibers.txt')
    if not os.path.isfile(t):
        return 'exit 0 without out/fibers.txt'
    return None if 'reoriented' in open(t).read() and 'reoriented' in err else \
        'inverted tetrahedra accepted without a warning in fibers.txt and on stderr'


def generate(g):
    base = load_base(g)
    if not base:
        return
    pts, tets, tris, marks = base
    n = len(pts)

    def add(name, data, expect=(2,), check=None, surface=False):
        p = g.path(name)
        with open(p, 'wb') as f:
            f.write(data)
        g.case(name, ['fibers', '--mesh', p, '-o', 'out'], expect=expect, check=check, timeout=120)
        if surface:
            g.case(name + '-surface', ['mesh', '--surface', p, '-o', 'out'], expect=(2,), timeout=60)

    a = ascii_msh(pts, tets, tris, marks)
    bb = binary_msh(pts, tets, tris, marks)
    add('valid.msh', a, (0,), ok_fibers, surface=True)
    add('valid-bin.msh', bb, (0,), ok_fibers, surface=True)
    # node tags out of range in elements
    for k, v in (('past', n), ('far', 10 ** 9), ('neg', -2)):
        t2 = list(tets)
        t2[3] = (t2[3][0], v, t2[3][2], t2[3][3])
        add('tet-node-%s.msh' % k, ascii_msh(pts, t2, tris, marks))
        tr2 = list(tris)
        tr2[2] = (tr2[2][0], v if v >= 0 else 0, tr2[2][2]) if k != 'neg' else (tr2[2][0], tr2[2][0], tr2[2][2])
        if k != 'neg':
            add('tri-node-%s.msh' % k, ascii_msh(pts, tets, tr2, marks))
    add('tri-node-repeat.msh', ascii_msh(pts, tets, [(tris[0][0], tris[0][0], tris[0][2])] + tris[1:], marks),
        (0, 2), ok_fibers)
    # node tags: sparse (valid), duplicated, zero
    add('node-tags-sparse.msh', ascii_msh(pts, tets, tris, marks, node_tags=[3 * i + 7 for i in range(n)]),
        (0,), ok_fibers)
    add('node-tags-dup.msh', ascii_msh(pts, tets, tris, marks, node_tags=[1] + list(range(1, n))))
    add('node-tags-zero.msh', ascii_msh(pts, tets, tris, marks, node_tags=[0] + list(range(2, n + 1))), (0, 2), ok_fibers)
    # element types
    for tt in (0, 1, 5, 11, 99, -4, 2 ** 31 - 1):
        add('tet-type-%d.msh' % tt, ascii_msh(pts, tets, tris, marks, tet_type=tt))
    # physical groups missing or wrong
    add('no-names.msh', ascii_msh(pts, tets, tris, marks, names=False), (0, 2), ok_fibers)
    add('no-vol-phys.msh', ascii_msh(pts, tets, tris, marks, phys_vol=False), (0,), ok_fibers)
    add('all-epi.msh', ascii_msh(pts, tets, tris, [1] * len(marks)))
    add('no-base.msh', ascii_msh(pts, tets, [t for t, k in zip(tris, marks) if k != 4],
                                 [k for k in marks if k != 4]), (0, 2), ok_fibers)
    add('no-endo.msh', ascii_msh(pts, tets, [t for t, k in zip(tris, marks) if k != 2],
                                 [k for k in marks if k != 2]))
    add('no-tris.msh', ascii_msh(pts, tets, [], []))
    add('unknown-names.msh', ascii_msh(pts, tets, tris, [k + 20 for k in marks]))
    # inverted and flat tetrahedra
    for frac, nm in ((1, 'one'), (10, 'tenth'), (2, 'half'), (1.0, 'all')):
        if nm == 'one':
            sel = {0}
        elif nm == 'all':
            sel = set(range(len(tets)))
        else:
            sel = set(range(0, len(tets), int(frac)))
        t2 = [(t[0], t[1], t[3], t[2]) if i in sel else t for i, t in enumerate(tets)]
        add('inverted-%s.msh' % nm, ascii_msh(pts, t2, tris, marks), (0, 2), ok_reoriented)
        if nm in ('one', 'tenth'):
            add('inverted-%s-bin.msh' % nm, binary_msh(pts, t2, tris, marks), (0, 2), ok_reoriented)
    t2 = list(tets)
    t2[5] = (t2[5][0], t2[5][1], t2[5][2], t2[5][0])
    add('tet-repeat-node.msh', ascii_msh(pts, t2, tris, marks))
    p2 = list(pts)
    a0, b0, c0, d0 = (pts[i] for i in tets[7])
    p2[tets[7][3]] = tuple((a0[k] + b0[k] + c0[k]) / 3 for k in range(3))
    add('tet-flat.msh', ascii_msh(p2, tets, tris, marks))
    # counts
    for k, v in (('more', n + 5), ('huge', 2 ** 40), ('zero', 0)):
        add('count-nodes-%s.msh' % k, ascii_msh(pts, tets, tris, marks, count_nodes=v) if v else
            ascii_msh(pts, tets, tris, marks).replace(b'\n1 %d 1 %d\n' % (n, n), b'\n1 0 1 %d\n' % n))
    for k, v in (('more', len(tets) + len(tris) + 3), ('huge', 2 ** 40)):
        add('count-elems-%s.msh' % k, ascii_msh(pts, tets, tris, marks, count_elems=v))
    a_lines = a.split(b'\n')
    i_nodes = a_lines.index(b'$Nodes')
    l2 = list(a_lines)
    l2[i_nodes + 2] = b'3 1 0 %d' % (n + 100)
    add('block-nodes-more.msh', b'\n'.join(l2))
    l2 = list(a_lines)
    l2[i_nodes + 2] = b'3 1 0 99999999999'
    add('block-nodes-huge.msh', b'\n'.join(l2))
    l2 = list(a_lines)
    l2[i_nodes + 2] = b'3 1 1 %d' % n  # parametric
    add('block-parametric.msh', b'\n'.join(l2))
    i_el = a_lines.index(b'$Elements')
    for k, v in (('more', len(tets) + 9), ('huge', 2 ** 40), ('neg', -1)):
        l2 = list(a_lines)
        l2[i_el + 2] = b'3 1 4 %d' % v
        add('block-elems-%s.msh' % k, b'\n'.join(l2))
    # NaN / inf / huge nodes
    for k, v in (('nan', float('nan')), ('inf', float('inf')), ('1e300', 1e300)):
        p2 = list(pts)
        p2[11] = (v, p2[11][1], p2[11][2])
        add('node-%s.msh' % k, ascii_msh(p2, tets, tris, marks).replace(b'inf', b'Inf'))
        add('node-%s-bin.msh' % k, binary_msh(p2, tets, tris, marks))
    # truncations (ASCII and binary) and format lines
    for fr in (0.0, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99):
        add('trunc%02d.msh' % int(fr * 100), a[:int(len(a) * fr)])
        add('trunc%02d-bin.msh' % int(fr * 100), bb[:int(len(bb) * fr)])
    for k, line in (('v2', b'2.2 0 8'), ('v4', b'4.0 0 8'), ('type2', b'4.1 2 8'), ('garbage', b'x y z')):
        add('format-%s.msh' % k, a.replace(b'4.1 0 8', line, 1))
    # the data size only matters in binary files
    add('format-dsize4.msh', a.replace(b'4.1 0 8', b'4.1 0 4', 1), (0, 2), ok_fibers)
    add('bin-endian.msh', bb.replace(struct.pack('<i', 1), struct.pack('>i', 1), 1))
    add('no-endnodes.msh', a.replace(b'$EndNodes', b'$EndNodez'))
    add('two-formats.msh', a.replace(b'$EndMeshFormat', b'$EndMeshFormat\n$MeshFormat\n4.1 0 8\n$EndMeshFormat', 1))
    add('unknown-section.msh', a + b'\n$Foo\n1 2 3\n$EndFoo\n', (0,), ok_fibers)
    add('unclosed-section.msh', a + b'\n$Foo\n1 2 3\n')
    add('empty.msh', b'')
    add('only-format.msh', b'$MeshFormat\n4.1 0 8\n$EndMeshFormat\n')
    add('names-huge-count.msh', a.replace(b'$PhysicalNames\n4', b'$PhysicalNames\n999999999', 1))
    add('names-unterminated.msh', a.replace(b'"EPI"', b'"EPI', 1))
    add('entities-huge.msh', a.replace(b'$Entities\n0 0 3 1', b'$Entities\n0 0 3000000000 1', 1))
    add('dirlike.msh', b'\0' * 4096)
