"""Hostile inputs of `evaluate --contours DIR --dicom D --test MAP` (issue 13, section 3): circle
contours on the phantom's DICOM series (4 mm pixels, no shared data needed) scored against the map
`contours` makes of them, with one input broken at a time: contour files (non-finite, huge or
outside coordinates, too few points, zero area, wrong instance numbers, duplicates, misnamed,
empty, binary), label maps (truncated at many offsets, every geometry field of the header set to
0, -1, huge, NaN, inf, another data type, another grid) and --test lists. Bad input is exit 2
naming the file (usage errors exit 1 naming the option); exit 0 only with well-formed scores
(each Dice in [0, 1], each APD empty or finite, the challenge's summary lines) that match what
the input must give."""
import csv
import gzip
import io
import math
import os
import re
import shutil
import struct
import subprocess

CX, CY = 19.3, 17.6  # circle centre (pixels) on the 39 x 35 slices of the 4 mm phantom
INSTANCES = range(15, 21)


def circle(r, n=48, cx=CX, cy=CY):
    return [(cx + r * math.cos(2 * math.pi * k / n), cy + r * math.sin(2 * math.pi * k / n)) for k in range(n)]


def write_pts(path, pts):
    with open(path, 'w') as f:
        for x, y in pts:
            f.write('%.4f %.4f\n' % (x, y))


def name(inst, kind):
    return 'IM-0001-%04d-%scontour-manual.txt' % (inst, kind)


def contour_dir(d):
    os.makedirs(d, exist_ok=True)
    for i in INSTANCES:
        write_pts(os.path.join(d, name(i, 'i')), circle(4))
        write_pts(os.path.join(d, name(i, 'o')), circle(7))
    return d


def scores(n_endo=6, n_epi=6, good=None, dice_min=None):
    """A check: CSV rows well formed; n_endo/n_epi contours; all good (good=True) or none
    (good=False); each Dice at least dice_min."""
    def check(work, out, err):
        lines = out.splitlines(True)
        rows = list(csv.DictReader(io.StringIO(''.join(l for l in lines if not l.startswith('#')))))
        kinds = {'endo': 0, 'epi': 0}
        for r in rows:
            try:
                d = float(r['dice'])
                a = float(r['apd_mm']) if r['apd_mm'] else None
            except (TypeError, ValueError):
                return 'malformed row %r' % r
            if not 0 <= d <= 1 or (a is not None and not (math.isfinite(a) and a >= 0)) or r['good'] not in '01':
                return 'impossible scores %r' % r
            if r['kind'] not in kinds:
                return 'kind %r' % r['kind']
            kinds[r['kind']] += 1
            if good is not None and (r['good'] == '1') != good:
                return 'good is %s, expected %s: %r' % (r['good'], good, r)
            if dice_min is not None and d < dice_min:
                return 'dice %g < %g: %r' % (d, dice_min, r)
        if kinds != {'endo': n_endo, 'epi': n_epi}:
            return 'contours %r, expected %d endo %d epi' % (kinds, n_endo, n_epi)
        for k in kinds:
            if kinds[k] and not re.search(r'^# %s: \d+ contours, \d+ good \([0-9.]+ %%\), \d+ missing; good contours: '
                                          r'mean dice (nan|[0-9.]+), mean apd (nan|[0-9.]+) mm$' % k, out, re.M):
                return 'no summary line for %s' % k
        return None
    return check


def nifti_fields():
    """(name, offset, struct format) of the header fields that decide the grid and the voxels."""
    f = [('dim%d' % i, 40 + 2 * i, '<h') for i in range(0, 5)]
    f += [('datatype', 70, '<h'), ('bitpix', 72, '<h')]
    f += [('pixdim%d' % i, 76 + 4 * i, '<f') for i in range(0, 4)]
    f += [('vox_offset', 108, '<f'), ('scl_slope', 112, '<f'), ('qform_code', 252, '<h'), ('sform_code', 254, '<h')]
    f += [('quatern_%s' % c, 256 + 4 * i, '<f') for i, c in enumerate('bcd')]
    f += [('qoffset_%s' % c, 268 + 4 * i, '<f') for i, c in enumerate('xyz')]
    f += [('srow_x%d' % i, 280 + 4 * i, '<f') for i in range(4)]
    return f


def generate(g):
    salt = g.path('salt')
    with open(salt, 'wb') as f:
        f.write(os.urandom(32))
    env = dict(os.environ, CTW_SALT_FILE=salt)
    ph = g.path('ph')
    subprocess.run([g.ctw, '-q', 'phantom', '--kind', 'lv', '--spacing', '4', '-o', ph], check=True,
                   stdout=subprocess.DEVNULL, env=env)
    dcm = os.path.join(ph, 'dicom')
    ok = contour_dir(g.path('ok'))
    mapgz = g.path('map.nii.gz')
    subprocess.run([g.ctw, '-q', 'contours', '--dicom', dcm, '--contours', ok, '-o', mapgz], check=True,
                   stdout=subprocess.DEVNULL, env=env)
    with gzip.open(mapgz, 'rb') as f:
        nii = f.read()

    def ev(cdir, test, *more):
        return ['evaluate', '--contours', cdir, '--dicom', dcm, '--test', test] + list(more)

    # 0. the base case and benign variants: exit 0 with the right scores
    g.case('base', ev(ok, mapgz), expect=(0,), check=scores(good=True, dice_min=0.99))
    g.case('base-ed-es-same-phase', ev(ok, 'es=' + mapgz), expect=(0,), check=scores(good=True, dice_min=0.99))
    g.case('base-good-mm-tiny', ev(ok, mapgz, '--good-mm', '0.001'), expect=(0,), check=scores(good=False))
    g.case('base-labels-swapped', ev(ok, mapgz, '--labels', '2,1'), expect=(0,), check=scores())
    g.case('base-labels-absent', ev(ok, mapgz, '--labels', '7,9'), expect=(0,), check=scores(good=False))

    # 1. contour files: one endocardium (instance 17) broken, the rest intact
    bad_files = {
        'nan': '%s nan\n' % CX, 'inf': 'inf %s\n' % CY, '-inf': '-inf %s\n' % CY, 'huge': '1e300 1\n',
        'beyond-limit': '100001 5\n', 'negative': '-50 -50\n', 'outside': '60 10\n', 'hex': '0x10 5\n',
        'one-token': '12\n', 'three-tokens': '1 2 3\n', 'comma': '1,2\n', 'nul': '1 2\x00\n',
    }
    base_pts = ''.join('%.4f %.4f\n' % p for p in circle(4))
    for tag, line in bad_files.items():
        d = contour_dir(g.path('c-' + tag))
        p = os.path.join(d, name(17, 'i'))
        with open(p, 'w') as f:
            f.write(base_pts + line)
        g.case('contour-' + tag, ev(d, mapgz), names=p)
    for tag, text in {'empty': '', 'one-point': '5 5\n', 'two-points': '5 5\n6 6\n',
                      'collinear': '5 5\n6 6\n7 7\n8 8\n', 'repeated': '5 5\n' * 10,
                      'tiny': '10 10\n10.5 10\n10.5 10.5\n', 'binary': '\x89PNG\r\n\x1a\n\x00\x00'}.items():
        d = contour_dir(g.path('c-' + tag))
        p = os.path.join(d, name(17, 'i'))
        with open(p, 'w', newline='') as f:
            f.write(text)
        g.case('contour-' + tag, ev(d, mapgz), names=p)
    # instance numbers without an image
    for inst in [0, 9999, 99999999]:
        d = contour_dir(g.path('c-instance-%d' % inst))
        p = os.path.join(d, name(inst, 'i'))
        write_pts(p, circle(4))
        g.case('contour-instance-%d' % inst, ev(d, mapgz), names=p)
    # two files for one image, misnamed files, no contour at all, not a directory
    d = contour_dir(g.path('c-duplicate'))
    os.makedirs(os.path.join(d, 'sub'))
    write_pts(os.path.join(d, 'sub', name(17, 'i')), circle(4))
    g.case('contour-duplicate', ev(d, mapgz), names=d)
    for bad in ['IM-0001-0017-icontour.txt', 'IM-0001-0017-icontour-manual.TXT', 'IM-0017-icontour.txt']:
        d = contour_dir(g.path('c-misnamed-' + bad))
        p = os.path.join(d, bad)
        write_pts(p, circle(4))
        g.case('contour-misnamed-' + bad, ev(d, mapgz), names=p)
    d = g.path('c-none')
    os.makedirs(d)
    with open(os.path.join(d, 'readme.txt'), 'w') as f:
        f.write('nothing\n')
    g.case('contour-dir-without-contours', ev(d, mapgz), names=d)
    g.case('contour-dir-missing', ev(g.path('c-nosuch'), mapgz), names=g.path('c-nosuch'))
    g.case('contour-dir-is-a-file', ev(mapgz, mapgz), names=mapgz)
    # the instance number is the last group of 4 digits: IM-0001-icontour-manual.txt is instance 1,
    # slice 0, where the map is empty: a 7th endocardium, missing
    d = contour_dir(g.path('c-instance-from-series'))
    write_pts(os.path.join(d, 'IM-0001-icontour-manual.txt'), circle(4))
    g.case('contour-instance-from-series-number', ev(d, mapgz), expect=(0,), check=scores(n_endo=7))
    # only epicardia: no blood pool defined
    d = g.path('c-epi-only')
    os.makedirs(d)
    for i in INSTANCES:
        write_pts(os.path.join(d, name(i, 'o')), circle(7))
    g.case('contour-epi-only', ev(d, mapgz), names=d)
    # a self-intersecting expert contour: scored (even-odd fill) with a warning
    d = contour_dir(g.path('c-bowtie'))
    star = [(CX + 5 * math.cos(math.radians(144 * k)), CY + 5 * math.sin(math.radians(144 * k))) for k in range(5)]
    write_pts(os.path.join(d, name(17, 'i')), star)
    g.case('contour-self-intersecting', ev(d, mapgz), expect=(0,), check=scores())

    # 2. label maps: truncated, header fields broken, other grids, other values
    for k, cut in enumerate([0, 1, 100, 347, 348, 352, 353, len(nii) // 2, len(nii) - 1]):
        p = g.path('trunc-%d.nii' % cut)
        with open(p, 'wb') as f:
            f.write(nii[:cut])
        g.case('map-truncated-%d' % cut, ev(ok, p), names=p)
    gz = open(mapgz, 'rb').read()
    for cut in [10, len(gz) // 3, len(gz) - 5]:
        p = g.path('trunc-%d.nii.gz' % cut)
        with open(p, 'wb') as f:
            f.write(gz[:cut])
        g.case('map-gz-truncated-%d' % cut, ev(ok, p), names=p)
    for field, off, fmt in nifti_fields():
        vals = [0, -1, 32767] if fmt == '<h' else [0.0, -1.0, 1e30, float('nan'), float('inf')]
        for v in vals:
            b = bytearray(nii)
            b[off:off + struct.calcsize(fmt)] = struct.pack(fmt, v)
            if bytes(b) == nii:
                continue
            p = g.path('hdr-%s=%s.nii' % (field, v))
            with open(p, 'wb') as f:
                f.write(b)
            # what a field change may leave acceptable: the same grid, the same voxels (a scaling
            # making labels negative or fractional is refused)
            g.case('map-%s=%s' % (field, v), ev(ok, p), expect=(0, 2), names=p,
                   check=scores(good=True, dice_min=0.99))
    # the map shifted by one slice (origin moved along k) and scaled: another grid
    b = bytearray(nii)
    z = struct.unpack('<f', b[276:280])[0]
    b[276:280] = struct.pack('<f', z + 4.0)
    b[292:296] = struct.pack('<f', struct.unpack('<f', b[292:296])[0] + 4.0)
    p = g.path('shifted.nii')
    with open(p, 'wb') as f:
        f.write(b)
    g.case('map-another-origin', ev(ok, p), names=p)
    # the phantom's own labels are on the grid of its DICOM series: scored (not circles, any result)
    g.case('map-phantom-labels', ev(ok, os.path.join(ph, 'labels.nii.gz')), expect=(0,), check=scores())
    g.case('map-missing', ev(ok, g.path('nosuch.nii.gz')), names=g.path('nosuch.nii.gz'))
    g.case('map-is-a-directory', ev(ok, ok), names=ok)
    g.case('map-is-a-contour-file', ev(ok, os.path.join(ok, name(17, 'i'))), names=os.path.join(ok, name(17, 'i')))
    # voxel values: empty (every contour missing), all blood, the largest label value
    off = int(struct.unpack('<f', nii[108:112])[0])
    for tag, fill in [('empty', 0), ('all-blood', 1), ('all-255', 255)]:
        b = bytearray(nii)
        b[off:] = bytes([fill]) * (len(nii) - off)
        p = g.path('values-%s.nii' % tag)
        with open(p, 'wb') as f:
            f.write(b)
        g.case('map-values-%s' % tag, ev(ok, p), expect=(0,), check=scores(good=False))

    # 3. --test lists and options
    for tag, spec in [('commas', ',,,'), ('eq', '='), ('ed-empty', 'ed='), 
                      ('phase-0', '0=' + mapgz), ('phase-neg', '-1=' + mapgz), ('phase-huge', '999999999=' + mapgz),
                      ('phase-word', 'mid=' + mapgz), ('twice', '1=%s,ed=%s' % (mapgz, mapgz)),
                      ('nan-phase', 'nan=' + mapgz)]:
        g.case('test-' + tag, ev(ok, spec), expect=(1,), names='--test')
    g.case('test-phase-2-of-1', ev(ok, '2=' + mapgz), names=dcm)
    g.case('test-double-eq', ev(ok, 'es=es=' + mapgz), names='es=' + mapgz)  # the path after es= is es=...
    g.case('test-path-with-eq', ev(ok, 'es=' + g.path('hdr-qform_code=0.nii')), expect=(0,),
           check=scores(good=True, dice_min=0.99))
    g.case('test-too-many', ev(ok, ','.join('%d=%s' % (i, mapgz) for i in range(1, 70))), expect=(1,),
           names='--test')
    for v in ['abc', 'nan', 'inf', '-1', '0', '1e308', '']:
        g.case('good-mm=%s' % (v or 'empty'), ev(ok, mapgz, '--good-mm', v), expect=(1,), names='--good-mm')
    for v in ['1', '1,1', '0,2', '1,2,3', 'a,b', '1,70000', '']:
        g.case('labels=%s' % (v or 'empty'), ev(ok, mapgz, '--labels', v), expect=(1,), names='--labels')
    g.case('ref-and-contours', ['evaluate', '--ref', mapgz] + ev(ok, mapgz)[1:], expect=(1,), names='--ref')
    g.case('dicom-missing', ev(ok, mapgz)[:3] + ['--test', mapgz], expect=(1,), names='--dicom')
    g.case('dicom-nosuch', ['evaluate', '--contours', ok, '--dicom', g.path('nodicom'), '--test', mapgz],
           names=g.path('nodicom'))
    g.case('dicom-is-contours', ['evaluate', '--contours', ok, '--dicom', ok, '--test', mapgz], names=ok)
