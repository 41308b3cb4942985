"""Hostile Sunnybrook contour directories (issue 12 item 8): the expert contours of SC-HF-I-4
(SCD0000301, 10 slices, end-diastole = phase 20) copied and mutated, run through
`contours --dicom D --contours C -o out.nii.gz`. Every kind of bad contour (outside the image,
zero area, self-intersecting, endocardium outside the epicardium, two files for one image,
misnamed files, no end-diastolic endocardium, NaN/inf/huge/negative coordinates, lines of 1 or 3
tokens, fewer than 3 points, wrong instance numbers, empty and binary files, a million points, a
file past the size limit, symbolic link loops, unreadable directories, the epicardium shifted,
scaled and rotated) must end in exit 2/3 naming the contour file or directory, or exit 0 with a
label map whose LV blood volume matches the original's (and the expected warning on stderr).
Generates nothing without ../shared/data."""
import gzip
import math
import os
import re
import shutil
import struct
import subprocess

STUDY = 'SC-HF-I-4'
DICOM = 'SCD0000301'
ED = [20 * k for k in range(1, 11)]  # instances of the end-diastolic phase (20), one per slice


def read_labels(path):
    """Counts of labels 1 and 2 of a uint8 NIfTI-1 (.nii.gz) label map, read here (no library)."""
    with gzip.open(path, 'rb') as f:
        b = f.read()
    if len(b) < 352 or struct.unpack('<i', b[:4])[0] != 348:
        raise ValueError('not a little-endian NIfTI-1 file')
    dim = struct.unpack('<8h', b[40:56])
    dtype = struct.unpack('<h', b[70:72])[0]
    off = int(struct.unpack('<f', b[108:112])[0])
    n = dim[1] * dim[2] * dim[3]
    if dtype != 2 or len(b) < off + n:
        raise ValueError('not a uint8 label map of %d voxels' % n)
    data = b[off:off + n]
    return data.count(1), data.count(2), set(data)


def read_pts(path):
    with open(path) as f:
        return [tuple(float(t) for t in l.split()) for l in f if l.strip()]


def write_pts(path, pts, fmt='%.4f %.4f\n'):
    with open(path, 'w') as f:
        for p in pts:
            f.write(fmt % p)


def centroid(pts):
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


def generate(g):
    if not g.has_data:
        return
    sb = os.path.join(g.data, 'sunnybrook_scd', 'final_data')
    dcm = os.path.join(sb, 'dicoms', DICOM)
    src = os.path.join(sb, 'contourfiles', STUDY)
    if not (os.path.isdir(dcm) and os.path.isdir(src)):
        return

    def endo(d, inst):
        return os.path.join(d, 'i-contours', 'IM-0001-%04d-icontour-manual.txt' % inst)

    def epi(d, inst):
        return os.path.join(d, 'o-contours', 'IM-0001-%04d-ocontour-manual.txt' % inst)

    # the baseline: the original contours through the program (t104 checks it against the
    # polygon areas)
    base = g.path('original')
    shutil.copytree(src, base)
    salt = g.path('salt')
    with open(salt, 'wb') as f:
        f.write(os.urandom(32))
    ref = g.path('ref.nii.gz')
    subprocess.run([g.ctw, 'contours', '--dicom', dcm, '--contours', base, '-o', ref], check=True,
                   env=dict(os.environ, CTW_SALT_FILE=salt), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120)
    ref_blood, ref_myo, _ = read_labels(ref)

    serial = [0]

    def copy(name):
        serial[0] += 1
        d = g.path('%03d-%s' % (serial[0], name))
        shutil.copytree(src, d)
        return d

    def checker(warn=None, no_warn=False, blood_tol=0.03, myo=True):
        """exit 0 is right when the map is labels {0, 1, 2} with the original's LV blood volume
        (within blood_tol; None: not compared) and stderr holds warn (a regex) or no warning."""
        def check(work, out, err):
            p = os.path.join(work, 'out.nii.gz')
            if not os.path.isfile(p):
                return 'no out.nii.gz'
            try:
                b, m, vals = read_labels(p)
            except (OSError, ValueError, EOFError) as e:
                return 'out.nii.gz unreadable: %s' % e
            if not vals <= {0, 1, 2}:
                return 'labels %s' % sorted(vals)
            if blood_tol is not None and abs(b - ref_blood) > blood_tol * ref_blood:
                return 'LV blood %d voxels, original %d' % (b, ref_blood)
            if myo and m == 0:
                return 'no myocardium'
            if warn and not re.search(warn, err):
                return 'no warning matching %r' % warn
            if no_warn and 'warning' in err:
                return 'unexpected warning: %s' % err.strip().splitlines()[0]
            return None
        return check

    def case(name, d, expect=(2,), check=None, extra=(), timeout=60, names=None, strict=False):
        args = (['--strict'] if strict else []) + ['contours', '--dicom', dcm, '--contours', d,
                                                   '-o', 'out.nii.gz'] + list(extra)
        g.case(name, args, expect=expect, check=check, timeout=timeout, names=names)

    # the original (a control: exit 0, no warning, the same volume)
    case('original', copy('original'), expect=(0,), check=checker(no_warn=True))
    case('original-strict', copy('original-strict'), expect=(0,), check=checker(no_warn=True),
         strict=True)

    # ---- one file's text replaced --------------------------------------------------------------
    texts = {
        'empty': '',
        'blank-lines': '\n \n\t\r\n',
        'one-token': '10 20\n30\n40 50\n',
        'three-tokens': '10 20\n30 40 50\n60 70\n',
        'one-token-only': '10\n20\n30\n',
        'comma': '10,20\n30,40\n50,60\n',
        'nan': '100 100\nnan 110\n110 110\n',
        'inf': '100 100\ninf 110\n110 110\n',
        'minus-inf': '100 100\n110 -inf\n110 110\n',
        'huge-1e30': '100 100\n1e30 110\n110 110\n',
        'overflow-1e400': '100 100\n1e400 110\n110 110\n',
        'negative': '-10 -10\n-20 -10\n-20 -20\n',
        'one-point': '100 100\n',
        'two-points': '100 100\n120 120\n',
        'same-point': '100 100\n100 100\n100 100\n100 100\n',
        'collinear': '100 100\n110 110\n120 120\n130 130\n',
        'tiny-triangle': '100 100\n100.5 100\n100 100.3\n',
        'outside-right': '300 100\n320 100\n320 120\n',
        'partly-outside': '100 100\n260 110\n110 120\n',
        'edge-256': '100 100\n256 110\n110 120\n',
        'hex-float': '0x10 0x20\n0x30 0x20\n0x30 0x30\n',
        'nul-byte': '100 100\n110\x00 110\n120 100\n',
        'text': 'this is not a contour\n',
        'utf8-bom': '\ufeff100 100\n110 110\n120 100\n',
    }
    for kind in ('endo', 'epi'):
        inst = 100
        for tname, text in texts.items():
            if kind == 'epi' and tname not in ('empty', 'one-token', 'nan', 'huge-1e30', 'two-points',
                                               'collinear', 'outside-right', 'text'):
                continue
            d = copy('%s-%s' % (kind, tname))
            f = endo(d, inst) if kind == 'endo' else epi(d, inst)
            with open(f, 'w', encoding='utf-8') as fh:
                fh.write(text)
            case('%s-%s' % (kind, tname), d, names=f)

    # binary garbage, a million points, a sparse file past the size limit
    d = copy('binary')
    f = endo(d, 60)
    with open(f, 'wb') as fh:
        fh.write(bytes((i * 7919 + 13) % 256 for i in range(4096)))
    case('binary', d, names=f)
    d = copy('million-points')
    f = endo(d, 60)
    c = centroid(read_pts(f))
    with open(f, 'w') as fh:
        for i in range(1000000):
            a = 2 * math.pi * i / 1000000
            fh.write('%.5f %.5f\n' % (c[0] + 20 * math.cos(a), c[1] + 20 * math.sin(a)))
    case('million-points', d, names=f, timeout=30)
    d = copy('sparse-70MiB')
    f = endo(d, 60)
    with open(f, 'r+b') as fh:
        fh.truncate(70 << 20)
    case('sparse-70MiB', d, names=f, timeout=30)

    # ---- names ------------------------------------------------------------------------------------
    for tag, new in (('no-dash', 'IM-0001-0100-icontour.txt'), ('upper-ext', 'IM-0001-0100-icontour-manual.TXT'),
                     ('upper-kind', 'IM-0001-0100-ICONTOUR-manual.txt'), ('no-instance', 'IM-icontour-manual.txt'),
                     ('short-instance', 'IM-1-100-icontour-manual.txt')):
        d = copy('name-' + tag)
        os.rename(endo(d, 100), os.path.join(d, 'i-contours', new))
        case('name-' + tag, d, names=os.path.join(d, 'i-contours', new))
    for tag, inst in (('absent-9999', 9999), ('absent-0', 0), ('absent-201', 201)):
        d = copy('instance-' + tag)
        os.rename(endo(d, 100), endo(d, inst))
        case('instance-' + tag, d, names=endo(d, inst))
    # the end-diastolic endocardium of one slice moved to phase 1 (instance 101): slice 5 has an
    # epicardium but no endocardium between slices with both: a warning, the blood pool smaller
    d = copy('instance-other-phase')
    os.rename(endo(d, 100), endo(d, 81))
    case('instance-other-phase', d, expect=(0,),
         check=checker(warn=r'epicardial but no endocardial contour between', blood_tol=None))
    # two files for one image and kind
    d = copy('duplicate')
    shutil.copy(endo(d, 100), os.path.join(d, 'i-contours', 'IM-0001-0100-icontour-auto.txt'))
    case('duplicate', d)
    d = copy('duplicate-subdir')
    os.makedirs(os.path.join(d, 'again'))
    shutil.copy(epi(d, 100), os.path.join(d, 'again', os.path.basename(epi(d, 100))))
    case('duplicate-subdir', d)
    # unrelated files: one warning naming them, the same result
    d = copy('unrelated')
    for n in ('README.md', 'notes.txt', '.DS_Store', 'IM-0001-0100-p1contour-manual.txt'):
        with open(os.path.join(d, 'i-contours', n), 'w') as fh:
            fh.write('x\n')
    case('unrelated', d, expect=(0,), check=checker(warn=r'not contour files ignored: .*(README|notes|DS_Store)'))
    case('unrelated-strict', d, strict=True)
    # papillary contours only beside the real ones: skipped without a warning
    d = copy('papillary')
    shutil.copy(endo(d, 100), os.path.join(d, 'i-contours', 'IM-0001-0100-p1contour-manual.txt'))
    case('papillary', d, expect=(0,), check=checker(no_warn=True))

    # ---- the end-diastolic endocardium missing -------------------------------------------------
    d = copy('no-endo')
    shutil.rmtree(os.path.join(d, 'i-contours'))
    case('no-endo', d)
    d = copy('no-ed-endo')
    for i in ED:
        os.remove(endo(d, i))
    case('no-ed-endo', d)
    d = copy('no-epi')
    shutil.rmtree(os.path.join(d, 'o-contours'))
    # no epicardium anywhere: the ED phase's map has an empty myocardium, said in a warning
    case('no-epi', d, expect=(0,),
         check=checker(warn=r'no epicardial contours: the myocardium \(label 2\) is empty', myo=False))
    case('no-epi-strict', d, strict=True)
    d = copy('empty-dir')
    shutil.rmtree(os.path.join(d, 'o-contours'))
    shutil.rmtree(os.path.join(d, 'i-contours'))
    case('empty-dir', d)
    # phase 1 (instance 1, 21, ...): endocardium only: a warning that the myocardium is empty
    d = copy('phase-endo-only')
    case('phase-endo-only', d, expect=(0,), extra=['--phase', '7'],
         check=checker(warn=r'no epicardial contours: the myocardium \(label 2\) is empty.*cannot be meshed',
                       blood_tol=None, myo=False))
    case('phase-endo-only-strict', d, extra=['--phase', '7'], strict=True)
    case('phase-no-contours', d, extra=['--phase', '3'])
    # phase 19: epicardium only: the myocardium would be solid
    d = copy('phase-epi-only')
    case('phase-epi-only', d, extra=['--phase', '19'])
    # one end-diastolic slice with an endocardium but no epicardium
    d = copy('slice-endo-only')
    os.remove(epi(d, 100))
    case('slice-endo-only', d, expect=(0,), check=checker(warn=r'slice \d+ of phase 20 has an endocardial but no '
                                                              r'epicardial contour'))

    # ---- geometry ----------------------------------------------------------------------------
    def transform_epi(name, fn, warn, expect=(0,), blood_tol=0.03, insts=ED, myo=True):
        d = copy(name)
        for i in insts:
            pts = read_pts(epi(d, i))
            write_pts(epi(d, i), fn(pts, centroid(read_pts(endo(d, i)))))
        case(name, d, expect=expect, check=checker(warn=warn, no_warn=warn is None, blood_tol=blood_tol, myo=myo))
        if warn:
            case(name + '-strict', d, strict=True)

    mm = 1.2891  # pixel spacing of SCD0000301
    leak = r'icontour-manual.txt: slice \d+ \(instance \d+\): .* % of the blood pool lies outside the epicardium'
    for dx, dy in ((15, 0), (0, 15), (-15, 0), (10, 10), (6, 0)):
        transform_epi('epi-shift-%d-%d' % (dx, dy),
                      lambda p, c, dx=dx, dy=dy: [(x + dx / mm, y + dy / mm) for x, y in p], leak)
    for s in (0.5, 0.8):  # 0.5: inside the blood pool, no myocardium left (warned)
        transform_epi('epi-scale-%g' % s,
                      lambda p, c, s=s: [(c[0] + s * (x - c[0]), c[1] + s * (y - c[1])) for x, y in p], leak,
                      myo=s > 0.6)
    transform_epi('epi-scale-2.5', lambda p, c: [(c[0] + 2.5 * (x - c[0]), c[1] + 2.5 * (y - c[1])) for x, y in p],
                  r'the wall is .* mm thick')
    # rotated about the image centre (off the LV): leaks; about the blood pool's centre: fine
    for deg in (20, 45):
        a = math.radians(deg)
        transform_epi('epi-rotate-image-%d' % deg,
                      lambda p, c, a=a: [(128 + (x - 128) * math.cos(a) - (y - 128) * math.sin(a),
                                          128 + (x - 128) * math.sin(a) + (y - 128) * math.cos(a)) for x, y in p],
                      leak)
    transform_epi('epi-rotate-lv-3', lambda p, c: [(c[0] + (x - c[0]) * math.cos(0.05) - (y - c[1]) * math.sin(0.05),
                                                    c[1] + (x - c[0]) * math.sin(0.05) + (y - c[1]) * math.cos(0.05))
                                                   for x, y in p], None)
    # one slice's epicardium shifted: the warning names that slice only
    transform_epi('epi-shift-one-slice', lambda p, c: [(x + 15 / mm, y) for x, y in p],
                  r'slice \d+ \(instance 100\)', insts=[100])
    # the epicardium reversed (clockwise) and resampled: the same polygon, no warning
    transform_epi('epi-reversed', lambda p, c: p[::-1], None)
    transform_epi('epi-every-other-point', lambda p, c: p[::2], None, blood_tol=0.03)
    # endocardium: shifted out of its epicardium on one slice (the same area)
    d = copy('endo-shift-one')
    pts = read_pts(endo(d, 100))
    write_pts(endo(d, 100), [(x + 20 / mm, y) for x, y in pts])
    case('endo-shift-one', d, expect=(0,), check=checker(warn=leak))
    # endocardium completely outside (moved across the image, still inside it)
    d = copy('endo-disjoint')
    pts = read_pts(endo(d, 100))
    c = centroid(pts)
    write_pts(endo(d, 100), [(x - c[0] + 40, y - c[1] + 40) for x, y in pts])
    case('endo-disjoint', d, expect=(0, 2), check=checker(warn=r'100\.0 % of the blood pool lies outside'))
    # self-intersections: a local twist (two neighbours swapped) and a figure eight
    d = copy('endo-twist')
    pts = read_pts(endo(d, 100))
    k = len(pts) // 3
    x, y = pts[k]
    pts[k + 1:k + 1] = [(x + 2, y + 2), (x + 2, y - 2)]  # a small knot: its last edge crosses the first
    write_pts(endo(d, 100), pts)
    case('endo-twist', d, expect=(0,), check=checker(warn=r'icontour-manual.txt: the polygon crosses itself'))
    case('endo-twist-strict', d, strict=True)
    d = copy('endo-figure-eight')
    pts = read_pts(endo(d, 100))
    h = len(pts) // 2
    write_pts(endo(d, 100), pts[:h] + pts[h:][::-1])
    case('endo-figure-eight', d, expect=(0,), check=checker(warn=r'crosses itself', blood_tol=None))
    # a closing point repeated, CRLF, tabs: the same result without a warning
    d = copy('crlf-closed')
    for i in ED:
        pts = read_pts(endo(d, i))
        write_pts(endo(d, i), pts + [pts[0]], fmt='%.4f\t%.4f\r\n')
    case('crlf-closed', d, expect=(0,), check=checker(no_warn=True))

    # ---- the directory -------------------------------------------------------------------------
    d = copy('symlink-loop')
    os.symlink('.', os.path.join(d, 'i-contours', 'loop'))
    os.symlink('self', os.path.join(d, 'o-contours', 'self'))
    os.symlink(d, os.path.join(d, 'up'))
    case('symlink-loop', d, expect=(0,), check=checker(), timeout=30)
    d = copy('symlink-dangling')
    os.symlink('/nonexistent/x', os.path.join(d, 'i-contours', 'IM-0001-0999-icontour-manual.txt'))
    case('symlink-dangling', d, expect=(0, 2, 3), check=checker())
    d = copy('symlink-to-dev-zero')
    os.remove(endo(d, 100))
    os.symlink('/dev/zero', endo(d, 100))
    case('symlink-to-dev-zero', d, expect=(0, 2, 3), check=checker(blood_tol=None), timeout=30)
    d = copy('fifo')
    os.remove(endo(d, 100))
    os.mkfifo(endo(d, 100))
    case('fifo', d, expect=(0, 2, 3), check=checker(blood_tol=None), timeout=30)
    d = copy('deep')
    p = d
    for i in range(40):
        p = os.path.join(p, 'd')
    os.makedirs(p)
    case('deep', d, expect=(0, 2, 3), check=checker())
    # unreadable (as root they are readable: then the result must be right)
    d = copy('unreadable-dir')
    os.chmod(d, 0)
    case('unreadable-dir', d, expect=(0, 2, 3), check=checker())
    d = copy('unreadable-subdir')
    os.chmod(os.path.join(d, 'o-contours'), 0)
    case('unreadable-subdir', d, expect=(0, 2, 3), check=checker())
    d = copy('unreadable-file')
    os.chmod(endo(d, 100), 0)
    case('unreadable-file', d, expect=(0, 2, 3), check=checker())
    f = g.path('a-file')
    with open(f, 'w') as fh:
        fh.write('100 100\n110 110\n120 100\n')
    case('contours-is-a-file', f, expect=(2, 3))
    case('contours-missing', g.path('missing-dir'), expect=(2, 3), names='missing-dir')
