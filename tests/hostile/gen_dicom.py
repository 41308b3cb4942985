"""Hostile DICOM inputs (issue 12, item 6): a small valid series (the phantom's, 36 slices of
39 x 35 pixels) and, with ../shared data, a small cine (4 slices x 3 phases of Sunnybrook
SCD0000101, new UIDs), mutated: every geometry and pixel-module attribute set to 0, -1, huge,
NaN, inf, empty, garbage, a wrong number of values or a wrong length; attributes deleted; files
truncated at many offsets (preamble, meta, mid-dataset, mid-pixel-data); files deleted (a missing
slice, a missing cine image); duplicated instances; mixed series; compressed transfer syntaxes
declared but not present; deep sequences; real-time cine with one trigger time. Each input goes
through convert (and many through info): exit 0 with the right grid, or exit 2 naming the input.
"""
import glob
import os
import re
import shutil
import subprocess
import warnings

warnings.simplefilter('ignore')
try:
    import pydicom
    from pydicom.dataelem import DataElement
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence
    from pydicom.uid import generate_uid
    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
    pydicom.config.settings.writing_validation_mode = pydicom.config.IGNORE
except ImportError:  # pragma: no cover
    pydicom = None

OUT = './out.nii.gz'  # relative to the case's own working directory


def field(text, name):
    m = re.search(r'^ *%s: (.*)$' % name, text, re.M)
    return m.group(1) if m else None


def expect_grid(size, spacing=None):
    """A check of convert's result: its printed size (and spacing) and the file written."""
    def check(work, out, err):
        if not os.path.exists(os.path.join(work, OUT)):
            return 'no output written'
        m = re.search(r'convert: (\d+) x (\d+) x (\d+) voxels of ([\d.]+) x ([\d.]+) x ([\d.]+) mm', out)
        if not m:
            return 'no convert summary: %r' % out[-200:]
        got = tuple(int(m.group(i)) for i in (1, 2, 3))
        if got != tuple(size):
            return 'size %s, expected %s' % (got, size)
        if spacing:
            sp = tuple(float(m.group(i)) for i in (4, 5, 6))
            if any(abs(a - b) > 1e-3 * b for a, b in zip(sp, spacing)):
                return 'spacing %s, expected %s' % (sp, spacing)
        return None
    return check


def info_check(size):
    """info exits 0 on a directory it can describe: then every series either lists a problem or
    has the expected size."""
    def check(work, out, err):
        if 'problem:' in out:
            return None
        got = field(out, 'size')
        if size and got != ' '.join(str(x) for x in size):
            return 'info size %s, expected %s and no problem reported' % (got, size)
        return None
    return check


def info_problem(work, out, err):
    return None if 'problem:' in out else 'info reported no problem for a bad series'


def copy_series(src, dst, edit=None):
    """Copies a series directory, calling edit(index, name, ds) -> False to drop a file."""
    os.makedirs(dst)
    names = sorted(os.listdir(src))
    for k, n in enumerate(names):
        ds = pydicom.dcmread(os.path.join(src, n))
        if edit and edit(k, n, ds) is False:
            continue
        ds.save_as(os.path.join(dst, n), write_like_original=True)
    return dst


def set_raw(ds, keyword, value):
    """Sets keyword's value to a raw string/bytes, bypassing validation."""
    tag = pydicom.datadict.tag_for_keyword(keyword)
    vr = pydicom.datadict.dictionary_VR(tag)
    if value is None:
        if tag in ds:
            del ds[tag]
        return
    if isinstance(value, bytes):
        ds[tag] = DataElement(tag, 'OB' if vr in ('US', 'SS') else vr, value)
        return
    if vr in ('US', 'SS'):
        ds[tag] = DataElement(tag, vr, int(value))
    else:
        # as a plain string (the VR is not checked by the reader; implicit VR writes none)
        ds[tag] = DataElement(tag, 'LO', value)


def patch_syntax(path, uid):
    """Rewrites (0002,0010) of a file's meta (explicit VR) to uid, lengths fixed, data set kept."""
    import struct
    raw = bytearray(open(path, 'rb').read())
    val = uid.encode() + (b'\x00' if len(uid) % 2 else b'')
    p = 132
    glen_at = None
    while p + 8 <= len(raw):
        grp, el = struct.unpack_from('<HH', raw, p)
        if grp != 2:
            break
        vr = bytes(raw[p + 4:p + 6])
        if vr in (b'OB', b'OW', b'UN', b'SQ', b'UT'):
            n = struct.unpack_from('<I', raw, p + 8)[0]
            hdr = 12
        else:
            n = struct.unpack_from('<H', raw, p + 6)[0]
            hdr = 8
        if el == 0:
            glen_at = p + 8
        if el == 0x10:
            delta = len(val) - n
            raw[p + hdr:p + hdr + n] = val
            struct.pack_into('<H', raw, p + 6, len(val))
            if glen_at:
                struct.pack_into('<I', raw, glen_at, struct.unpack_from('<I', raw, glen_at)[0] + delta)
            break
        p += hdr + n
    open(path, 'wb').write(bytes(raw))


def generate(g):
    if pydicom is None:
        return
    base = g.path('base')
    subprocess.run([g.ctw, '-q', 'phantom', '--kind', 'lv', '--spacing', '4', '-o', base],
                   check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, CTW_SALT_FILE=g.path('salt')))
    src = os.path.join(base, 'dicom')
    names = sorted(os.listdir(src))
    n = len(names)
    mid = n // 2
    first = pydicom.dcmread(os.path.join(src, names[0]))
    size = (int(first.Columns), int(first.Rows), n)
    spacing = (4.0, 4.0, 4.0)
    k = [0]

    def new_dir(tag):
        k[0] += 1
        return g.path('%03d-%s' % (k[0], tag))

    def conv(tag, d, expect=(2,), check=None, info=False, extra=()):
        g.case(tag, ['convert', d] + list(extra) + ['-o', OUT], expect=expect, check=check, timeout=60)
        if info:
            g.case(tag + '-info', ['info', d], expect=(0, 2), check=info_check(size), timeout=60)

    # the valid base series itself, and as a copy through pydicom
    conv('valid', src, expect=(0,), check=expect_grid(size, spacing), info=True)
    conv('valid-copy', copy_series(src, new_dir('valid-copy')), expect=(0,), check=expect_grid(size, spacing))

    # every geometry / pixel-module attribute of the middle file, with hostile values
    ds_values = ['0', '-1', '1e300', 'NaN', 'inf', '', 'abc', '1\\2\\3\\4\\5\\6\\7']
    for kw, valid in (('PixelSpacing', ()), ('ImagePositionPatient', ()), ('ImageOrientationPatient', ()),
                      ('RescaleSlope', ('-1', '')), ('RescaleIntercept', ('0', '-1', ''))):
        for v in ds_values + ['-1e-300']:
            vv = v
            if kw == 'PixelSpacing' and v not in ('', '1\\2\\3\\4\\5\\6\\7'):
                vv = '%s\\%s' % (v, v)
            if kw == 'ImagePositionPatient' and v not in ('', '1\\2\\3\\4\\5\\6\\7'):
                vv = '%s\\%s\\%s' % (v, v, v)
            if kw == 'ImageOrientationPatient' and v not in ('', '1\\2\\3\\4\\5\\6\\7'):
                vv = '\\'.join([v] * 6)
            ok = v in valid or (kw == 'RescaleIntercept' and v == '-1e-300')
            d = copy_series(src, new_dir('%s-%s' % (kw, v or 'empty')),
                            lambda i, nm, ds, kw=kw, vv=vv: set_raw(ds, kw, vv) if i == mid else None)
            conv('%s=%s' % (kw, v or 'empty'), d, expect=(0,) if ok else (2,),
                 check=expect_grid(size, spacing) if ok else None, info=v in ('NaN', '1e300'))
    # the same on the first file (its geometry is the grid's)
    for kw, vv in (('ImagePositionPatient', '1e300\\0\\0'), ('ImagePositionPatient', 'NaN\\0\\0'),
                   ('ImageOrientationPatient', '1\\0\\0\\1\\0\\0'), ('ImageOrientationPatient', '2\\0\\0\\0\\2\\0'),
                   ('PixelSpacing', '0\\4'), ('RescaleSlope', 'NaN'), ('RescaleIntercept', 'inf')):
        d = copy_series(src, new_dir('first-%s' % kw), lambda i, nm, ds, kw=kw, vv=vv: set_raw(ds, kw, vv) if i == 0 else None)
        conv('first-%s=%s' % (kw, vv), d)
    # a single file with a bad position: no neighbour to compare with
    for kw, vv in (('ImagePositionPatient', '1e300\\0\\0'), ('ImagePositionPatient', 'NaN\\NaN\\NaN'),
                   ('ImageOrientationPatient', '0\\0\\0\\0\\0\\0'), ('RescaleSlope', 'NaN')):
        d = new_dir('single-%s' % kw)
        os.makedirs(d)
        ds = pydicom.dcmread(os.path.join(src, names[0]))
        set_raw(ds, kw, vv)
        p = os.path.join(d, 'one.dcm')
        ds.save_as(p, write_like_original=True)
        conv('single-file-%s' % kw, p)

    # unsigned short attributes: other values and wrong lengths
    us = {'Rows': (0, 1, 65535, 17), 'Columns': (0, 1, 65535, 17), 'BitsAllocated': (0, 1, 8, 32, 65535),
          'BitsStored': (0, 8, 17, 65535), 'HighBit': (0, 7, 16, 65535), 'SamplesPerPixel': (0, 3, 65535),
          'PixelRepresentation': (2, 65535)}
    for kw, vals in us.items():
        for v in list(vals) + [b'\x01\x00\x00\x00', b'\x07\x00\x00\x00\x00\x00']:
            tag = 'len%d' % len(v) if isinstance(v, bytes) else v
            d = copy_series(src, new_dir('%s-%s' % (kw, tag)), lambda i, nm, ds, kw=kw, v=v: set_raw(ds, kw, v) if i == mid else None)
            conv('%s=%s' % (kw, tag), d, info=kw in ('Rows', 'BitsStored') and v == 0)
    for v in ('0', '-1', '2', 'abc', '1e300', '1.5'):
        d = copy_series(src, new_dir('frames-%s' % v), lambda i, nm, ds, v=v: set_raw(ds, 'NumberOfFrames', v) if i == mid else None)
        conv('NumberOfFrames=%s' % v, d)
    d = copy_series(src, new_dir('frames-1'), lambda i, nm, ds: set_raw(ds, 'NumberOfFrames', '1'))
    conv('NumberOfFrames=1', d, expect=(0,), check=expect_grid(size, spacing))

    # attributes deleted from the middle file
    for kw in ('PixelSpacing', 'ImagePositionPatient', 'ImageOrientationPatient', 'Rows', 'Columns', 'BitsAllocated',
               'PixelData'):
        d = copy_series(src, new_dir('del-%s' % kw), lambda i, nm, ds, kw=kw: set_raw(ds, kw, None) if i == mid else None)
        conv('deleted-%s' % kw, d)
    d = copy_series(src, new_dir('del-syntax'), lambda i, nm, ds: ds.file_meta.__delattr__('TransferSyntaxUID') if i == mid else None)
    conv('deleted-TransferSyntaxUID', d)

    # transfer syntaxes declared but not present, unknown, big endian
    for uid in ('1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.5',
                '1.2.3.4.5', '1.2.840.10008.1.2.2'):
        d = copy_series(src, new_dir('syntax-%s' % uid))
        # the middle file as explicit VR little endian, then its meta's syntax UID patched
        p = os.path.join(d, names[mid])
        ds = pydicom.dcmread(p)
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        ds.is_implicit_VR, ds.is_little_endian = False, True
        ds.save_as(p, write_like_original=False)
        patch_syntax(p, uid)
        conv('syntax-%s' % uid, d)

    # truncated files: first, middle, last, at many offsets
    size_mid = os.path.getsize(os.path.join(src, names[mid]))
    offsets = [0, 1, 64, 128, 131, 132, 140, 200, 300, 500, 800, size_mid // 2, size_mid - 100, size_mid - 2,
               size_mid - 1]
    for which, idx in (('first', 0), ('mid', mid), ('last', n - 1)):
        for off in offsets if which == 'mid' else offsets[::2]:
            d = copy_series(src, new_dir('trunc-%s-%d' % (which, off)))
            p = os.path.join(d, names[idx])
            raw = open(p, 'rb').read()
            open(p, 'wb').write(raw[:off])
            conv('truncated-%s-at-%d' % (which, off), d, info=off in (131, 500))

    # deleted files: a missing middle slice is a gap; a missing end slice is a shorter series
    d = copy_series(src, new_dir('missing-mid'), lambda i, nm, ds: False if i == mid else None)
    conv('missing-middle-slice', d, info=True)
    conv('missing-middle-slice-allow-gaps', d, expect=(0,), check=expect_grid(size, spacing), extra=['--allow-gaps'])
    d = copy_series(src, new_dir('missing-last'), lambda i, nm, ds: False if i == n - 1 else None)
    conv('missing-last-slice', d, expect=(0,), check=expect_grid((size[0], size[1], n - 1), spacing))

    # duplicates, mixed series, a localizer, series without UIDs
    d = copy_series(src, new_dir('duplicate'))
    shutil.copy(os.path.join(d, names[mid]), os.path.join(d, 'copy-of-mid.dcm'))
    conv('duplicate-instance', d, info=True)
    d = copy_series(src, new_dir('dup-position'), lambda i, nm, ds: ds.__setattr__('ImagePositionPatient', first.ImagePositionPatient) if i == 1 else None)
    conv('two-slices-one-position', d)
    d = copy_series(src, new_dir('mixed'))
    other = pydicom.dcmread(os.path.join(src, names[0]))
    other.SeriesInstanceUID = generate_uid()
    other.save_as(os.path.join(d, 'other-series.dcm'), write_like_original=True)
    conv('mixed-series', d, info=True)
    d = copy_series(src, new_dir('localizer'), lambda i, nm, ds: ds.__setattr__('ImageOrientationPatient', [0, 1, 0, 0, 0, -1]) if i == mid else None)
    conv('mixed-orientation', d)
    # two series without UIDs (different SeriesNumber): two series with ids of their own
    d = new_dir('no-uids')
    os.makedirs(d)
    for sn in (1, 2):
        for i, nm in enumerate(names[:4]):
            ds = pydicom.dcmread(os.path.join(src, nm))
            del ds.SeriesInstanceUID
            ds.SeriesNumber = sn
            ds.save_as(os.path.join(d, '%d-%s' % (sn, nm)), write_like_original=True)

    def two_ids(work, out, err):
        ids = re.findall(r'^  id: (\S+)$', out, re.M)
        if len(ids) != 2 or len(set(ids)) != 2 or '000000000000' in ids:
            return 'series without UIDs: ids %s, expected two different ones' % ids
        return None
    g.case('no-uids-info', ['info', d], expect=(0,), check=two_ids)
    conv('no-uids-convert', d)  # two series: --series needed

    # deep sequences in the middle file: 10 levels are fine, 40 are refused as damaged
    for depth in (10, 40):
        def deep(i, nm, ds, depth=depth):
            if i != mid:
                return None
            item = Dataset()
            item.CodeValue = 'X'
            for _ in range(depth):
                outer = Dataset()
                outer.ContentSequence = Sequence([item])
                item = outer
            ds.ContentSequence = item.ContentSequence
            return None
        d = copy_series(src, new_dir('deep-%d' % depth), deep)
        # defined-length sequences are skipped whole, so depth is harmless there; undefined-length
        # ones nested past 16 levels are refused as damaged: either way no crash, a right grid
        conv('sequence-depth-%d' % depth, d, expect=(0,) if depth == 10 else (0, 2), check=expect_grid(size, spacing))
    # odd-length value written raw (a description of 3 bytes): tolerated
    d = copy_series(src, new_dir('odd-length'))
    p = os.path.join(d, names[mid])
    raw = bytearray(open(p, 'rb').read())
    i = raw.find(b'\x08\x00\x3e\x10')
    if i > 0:
        conv('odd-length-description', d, expect=(0, 2), check=expect_grid(size, spacing))

    # a small cine from Sunnybrook: 4 slices x 3 phases
    if not g.has_data:
        return
    sb = os.path.join(g.data, 'sunnybrook_scd', 'final_data', 'dicoms', 'SCD0000101')
    if not os.path.isdir(sb):
        return
    cine = g.path('cine')
    os.makedirs(cine)
    suid, stuid = generate_uid(), generate_uid()
    slices, phases = (2, 3, 4, 5), (0, 1, 2)
    for s in slices:
        for ph in phases:
            ds = pydicom.dcmread(os.path.join(sb, '%d.dcm' % (20 * s + ph + 1)))
            ds.SeriesInstanceUID = suid
            ds.StudyInstanceUID = stuid
            ds.SOPInstanceUID = generate_uid()
            ds.save_as(os.path.join(cine, 'c%02d-%02d.dcm' % (s, ph)), write_like_original=True)
    cs = (256, 256, len(slices))
    cnames = sorted(os.listdir(cine))
    for ph in ('1', '2', '3', 'ed'):
        conv('cine-phase-%s' % ph, cine, expect=(0,), check=expect_grid(cs), extra=['--phase', ph])
    conv('cine-no-phase', cine)
    conv('cine-phase-4', cine, extra=['--phase', '4'])
    g.case('cine-info', ['info', cine], expect=(0,), check=info_check(cs))
    # one cine image missing, at every slice and phase: never another phase's pixels
    for s in slices:
        for ph in phases:
            d = copy_series(cine, new_dir('cine-missing-%d-%d' % (s, ph)),
                            lambda i, nm, ds, s=s, ph=ph: False if nm == 'c%02d-%02d.dcm' % (s, ph) else None)
            for want in ('1', '3'):
                conv('cine-missing-s%d-p%d-phase%s' % (s, ph, want), d, extra=['--phase', want])
    # real-time cine: one trigger time, or none
    for how in ('same', 'none'):
        d = copy_series(cine, new_dir('realtime-%s' % how),
                        lambda i, nm, ds, how=how: set_raw(ds, 'TriggerTime', '40' if how == 'same' else None))
        conv('realtime-%s-ed' % how, d, extra=['--phase', 'ed'])
        conv('realtime-%s-phase2' % how, d, expect=(0,), check=expect_grid(cs), extra=['--phase', '2'])
    # a cine image duplicated, TriggerTime garbage, a truncated cine file
    d = copy_series(cine, new_dir('cine-dup'))
    shutil.copy(os.path.join(d, cnames[4]), os.path.join(d, 'zz-dup.dcm'))
    conv('cine-duplicate', d, extra=['--phase', '1'])
    d = copy_series(cine, new_dir('cine-tt-nan'), lambda i, nm, ds: set_raw(ds, 'TriggerTime', 'NaN') if i == 4 else None)
    conv('cine-triggertime-nan', d, extra=['--phase', '2'])
    d = copy_series(cine, new_dir('cine-trunc'))
    p = os.path.join(d, cnames[-1])
    raw = open(p, 'rb').read()
    open(p, 'wb').write(raw[:len(raw) // 2])
    conv('cine-truncated-last', d, extra=['--phase', '3'])
    # convert --phase on an image file (not DICOM): refused naming the file
    nii = os.path.join(base, 'image.nii.gz')
    g.case('phase-on-nifti', ['convert', nii, '--phase', '2', '-o', OUT], expect=(2,), names=nii)

    # ---- stacks (issue 13): the cine exported one series per slice position, plus long-axis ----
    def split(tag, edit=None, lax=True, extra_series=None):
        """The cine above as one series per slice position (new series UIDs, same study), edit(s,
        ph, ds) -> False drops a file; lax adds a long-axis-like series (the phases of slice 3 with
        the orientation turned 90 degrees about the row axis); extra_series(d) adds more."""
        d = new_dir('stack-' + tag)
        os.makedirs(d)
        uids = {s: generate_uid() for s in slices}
        for s in slices:
            for ph in phases:
                ds = pydicom.dcmread(os.path.join(cine, 'c%02d-%02d.dcm' % (s, ph)))
                ds.SeriesInstanceUID = uids[s]
                ds.SeriesNumber = 100 + s
                if edit and edit(s, ph, ds) is False:
                    continue
                ds.save_as(os.path.join(d, 's%02d-%02d.dcm' % (s, ph)), write_like_original=True)
        if lax:
            luid = generate_uid()
            for ph in phases:
                ds = pydicom.dcmread(os.path.join(cine, 'c03-%02d.dcm' % ph))
                iop = [float(x) for x in ds.ImageOrientationPatient]
                r, c = iop[:3], iop[3:]
                nrm = [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]]
                ds.ImageOrientationPatient = ['%.6f' % x for x in r + nrm]  # turned 90 degrees about the row
                ds.SeriesInstanceUID = luid
                ds.SeriesNumber = 200
                ds.InstanceNumber = 900 + ph
                ds.save_as(os.path.join(d, 'lax-%02d.dcm' % ph), write_like_original=True)
        if extra_series:
            extra_series(d)
        return d

    def turned(ds, deg):
        """ds's orientation turned by deg degrees about its column axis (in-plane)."""
        import math
        iop = [float(x) for x in ds.ImageOrientationPatient]
        r, c = iop[:3], iop[3:]
        nrm = [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]]
        a = math.radians(deg)
        r2 = [r[i] * math.cos(a) + nrm[i] * math.sin(a) for i in range(3)]
        ds.ImageOrientationPatient = ['%.8f' % x for x in r2 + c]

    cs1 = (256, 256, 1)
    d = split('valid')
    for ph in ('1', '3', 'ed'):
        conv('stack-default-phase-%s' % ph, d, expect=(0,), check=expect_grid(cs), extra=['--phase', ph])
        conv('stack-auto-phase-%s' % ph, d, expect=(0,), check=expect_grid(cs), extra=['--stack', 'auto', '--phase', ph])
    conv('stack-1', d, expect=(0,), check=expect_grid(cs), extra=['--stack', '1', '--phase', '2'])
    conv('stack-2-long-axis', d, expect=(0,), check=expect_grid(cs1), extra=['--stack', '2', '--phase', '2'])
    conv('stack-3-none', d, extra=['--stack', '3', '--phase', '2'])
    conv('stack-auto-no-phase', d, extra=['--stack', 'auto'])
    conv('stack-auto-phase-4', d, extra=['--stack', 'auto', '--phase', '4'])
    g.case('stack-info', ['info', d], expect=(0,),
           check=lambda w, o, e: None if 'stack 1: 4 series, 4 slices x 3 phases, short axis (auto)' in o
           else 'info: no 4-series short-axis stack 1')
    d = split('no-lax', lax=False)
    conv('stack-no-lax', d, expect=(0,), check=expect_grid(cs), extra=['--phase', '1'])
    # a series on another grid (pixel spacing), at the end and in the middle (then a gap)
    for s, want in ((5, (0,)), (3, (2,))):
        d = split('grid-%d' % s, lambda sl, ph, ds, s=s: set_raw(ds, 'PixelSpacing', '1.5\\1.5') if sl == s else None)
        conv('stack-other-spacing-slice%d' % s, d, expect=want,
             check=expect_grid((256, 256, 3)) if want == (0,) else None, extra=['--phase', '1'])
        if s == 3:
            conv('stack-other-spacing-slice3-allow-gaps', d, expect=(0,), check=expect_grid(cs),
                 extra=['--phase', '1', '--allow-gaps'])
    # spacing off by less than 1e-3 mm: the same grid
    d = split('grid-close', lambda sl, ph, ds: set_raw(ds, 'PixelSpacing', '%.7f\\%.7f' % (
        float(ds.PixelSpacing[0]) + 4e-4, float(ds.PixelSpacing[1]) + 4e-4)) if sl == 5 else None)
    conv('stack-spacing-within-1e-3', d, expect=(0, 2), check=expect_grid(cs), extra=['--phase', '1'])
    # slightly non-parallel: 1.5 degrees is another stack, 0.5 degrees joins (stacked on the grid)
    for deg, want in ((1.5, (256, 256, 3)), (0.5, cs), (-1.5, (256, 256, 3)), (90, (256, 256, 3))):
        d = split('tilt-%g' % deg, lambda sl, ph, ds, deg=deg: turned(ds, deg) if sl == 5 else None)
        # 0.5 degrees: stacked when the corners line up along the stack, else refused as not parallel
        conv('stack-tilted-%g-degrees' % deg, d, expect=(0,) if abs(deg) > 1 else (0, 2), check=expect_grid(want),
             extra=['--phase', '2'])
    d = split('tilt-mid', lambda sl, ph, ds: turned(ds, 1.5) if sl == 3 else None)
    conv('stack-tilted-middle', d, extra=['--phase', '2'])
    # a slice position imaged twice by two series; a series at the position of another's slice
    def again(dst, which=2):
        u = generate_uid()
        for ph in phases:
            ds = pydicom.dcmread(os.path.join(cine, 'c%02d-%02d.dcm' % (which, ph)))
            ds.SeriesInstanceUID = u
            ds.SeriesNumber = 300
            ds.save_as(os.path.join(dst, 'again-%02d.dcm' % ph), write_like_original=True)
    for which in (2, 4):
        d = split('dup-%d' % which, extra_series=lambda dst, which=which: again(dst, which))
        conv('stack-duplicate-position-%d' % which, d, extra=['--phase', '1'])
        conv('stack-duplicate-position-%d-auto' % which, d, extra=['--stack', 'auto', '--phase', '1'])
        g.case('stack-duplicate-position-%d-info' % which, ['info', d], expect=(0,), check=info_problem)
        conv('stack-duplicate-position-%d-series' % which, d, expect=(0,), check=expect_grid(cs1),
             extra=['--series', '1', '--phase', '1'])
    # a series with another phase count: left out (end: 3 slices; middle: a gap, exit 2)
    for s, want in ((5, (0,)), (3, (2,)), (2, (0,))):
        d = split('phases-%d' % s, lambda sl, ph, ds, s=s: False if sl == s and ph == 2 else None)
        conv('stack-other-phase-count-slice%d' % s, d, expect=want,
             check=expect_grid((256, 256, 3)) if want == (0,) else None, extra=['--phase', '1'])
    # a member series with a damaged file, a missing cine image, a duplicate image, a bad header
    d = split('trunc')
    p = os.path.join(d, 's03-01.dcm')
    raw = open(p, 'rb').read()
    open(p, 'wb').write(raw[:len(raw) // 2])
    conv('stack-member-truncated', d, extra=['--phase', '1'])
    conv('stack-member-truncated-auto', d, extra=['--stack', 'auto', '--phase', '1'])
    d = split('dupimg')
    shutil.copy(os.path.join(d, 's04-01.dcm'), os.path.join(d, 'zz-copy.dcm'))
    conv('stack-member-duplicate-image', d, extra=['--phase', '1'])
    for kw, vv in (('ImagePositionPatient', 'NaN\\NaN\\NaN'), ('ImageOrientationPatient', '0\\0\\0\\0\\0\\0'),
                   ('ImageOrientationPatient', None), ('ImagePositionPatient', None), ('PixelSpacing', '0\\0'),
                   ('ImageOrientationPatient', 'NaN\\0\\0\\0\\1\\0'), ('Rows', 0), ('TriggerTime', 'NaN')):
        d = split('hdr-%s-%s' % (kw, vv), lambda sl, ph, ds, kw=kw, vv=vv: set_raw(ds, kw, vv) if sl == 3 and ph == 1 else None)
        conv('stack-member-%s=%s' % (kw, vv), d, expect=(0, 2) if kw == 'TriggerTime' else (2,),
             check=expect_grid(cs) if kw == 'TriggerTime' else None, extra=['--phase', '2'])
        g.case('stack-member-%s=%s-info' % (kw, vv), ['info', d], expect=(0, 2), check=lambda w, o, e: None)
    # every series on its own StudyInstanceUID: no stack of several, no clear choice
    d = split('studies', lambda sl, ph, ds: setattr(ds, 'StudyInstanceUID', '1.2.3.%d' % sl), lax=False)
    conv('stack-other-studies', d, extra=['--phase', '1'])
    # --stack on an image file, and an absurd stack number
    g.case('stack-on-nifti', ['convert', nii, '--stack', 'auto', '-o', OUT], expect=(2,), names=nii)
    d = split('big')
    conv('stack-99999', d, extra=['--stack', '99999', '--phase', '1'])
