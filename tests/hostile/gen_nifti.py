"""Hostile NIfTI inputs (issue 12 items 1, 4, 7): every NIfTI-1 header field of a small phantom
image and label map mutated (0, -1, huge, NaN, inf), byte order swapped, NIfTI-2, truncations
at many offsets plain and gzip, gzip trailer damage, a gzip bomb, extensions with bad sizes,
cardiotwin's geometry extension with NaN / zero-normal base planes, devices and FIFOs. Run
through `info` and `convert` (and a few through segment/mesh). An input that ends in exit 0 is
checked against an independent reading of its header here: sizes, the geometry of one of the
header's transforms (sform, qform, or pixdim when neither), and the voxels (scaled as the header
says) must be what `info` prints and what `convert` writes."""
import gzip
import math
import os
import re
import struct
import subprocess
import zlib

import numpy as np

np.seterr(all="ignore")  # NaN headers are the point here

DTYPES = {2: 'u1', 4: 'i2', 8: 'i4', 16: 'f4', 64: 'f8', 256: 'i1', 512: 'u2', 768: 'u4',
          1024: 'i8', 1280: 'u8'}

# NIfTI-1 fields: name -> (offset, struct code)
F1 = {
    'sizeof_hdr': (0, 'i'), 'dim0': (40, 'h'), 'dim1': (42, 'h'), 'dim2': (44, 'h'), 'dim3': (46, 'h'),
    'dim4': (48, 'h'), 'dim5': (50, 'h'), 'intent_p1': (56, 'f'), 'intent_code': (68, 'h'),
    'datatype': (70, 'h'), 'bitpix': (72, 'h'), 'slice_start': (74, 'h'), 'qfac': (76, 'f'),
    'pixdim1': (80, 'f'), 'pixdim2': (84, 'f'), 'pixdim3': (88, 'f'), 'pixdim4': (92, 'f'),
    'vox_offset': (108, 'f'), 'scl_slope': (112, 'f'), 'scl_inter': (116, 'f'),
    'slice_end': (120, 'h'), 'slice_code': (122, 'B'), 'xyzt_units': (123, 'B'),
    'cal_max': (124, 'f'), 'cal_min': (128, 'f'), 'slice_duration': (132, 'f'), 'toffset': (136, 'f'),
    'qform_code': (252, 'h'), 'sform_code': (254, 'h'), 'quatern_b': (256, 'f'),
    'quatern_c': (260, 'f'), 'quatern_d': (264, 'f'), 'qoffset_x': (268, 'f'), 'qoffset_y': (272, 'f'),
    'qoffset_z': (276, 'f'),
}
for _r, _n in enumerate('xyz'):
    for _c in range(4):
        F1['srow_%s%d' % (_n, _c)] = (280 + 16 * _r + 4 * _c, 'f')

NAN, INF = float('nan'), float('inf')


# ---- an independent reader of NIfTI-1/2 (the reference the program's results are checked with)

def parse(b):
    """Header fields of a NIfTI-1 or -2 file's bytes (either byte order) as a dict."""
    if struct.unpack('<i', b[:4])[0] in (348, 540):
        e = '<'
    else:
        e = '>'
    v2 = struct.unpack(e + 'i', b[:4])[0] == 540
    u = lambda fmt, off: struct.unpack_from(e + fmt, b, off)
    h = {'v2': v2, 'e': e}
    if v2:
        h['dim'] = list(u('8q', 16))
        h['pixdim'] = list(u('8d', 104))
        h['datatype'], h['bitpix'] = u('hh', 12)
        h['vox_offset'] = u('q', 168)[0]
        h['slope'], h['inter'] = u('dd', 176)
        h['qcode'], h['scode'] = u('ii', 344)
        h['quat'] = list(u('3d', 352))
        h['qoff'] = list(u('3d', 376))
        h['srow'] = [list(u('4d', 400 + 32 * r)) for r in range(3)]
    else:
        h['dim'] = list(u('8h', 40))
        h['pixdim'] = list(u('8f', 76))
        h['datatype'], h['bitpix'] = u('hh', 70)
        h['vox_offset'] = u('f', 108)[0]
        h['slope'], h['inter'] = u('ff', 112)
        h['qcode'], h['scode'] = u('hh', 252)
        h['quat'] = list(u('3f', 256))
        h['qoff'] = list(u('3f', 268))
        h['srow'] = [list(u('4f', 280 + 16 * r)) for r in range(3)]
    return h


def geometries(h):
    """The LPS geometries (size, spacing, origin, direction 3x3) the header can mean: from the
    sform, from the qform, or from pixdim alone, whichever its codes allow."""
    nd = h['dim'][0]
    size = [h['dim'][i + 1] if i < nd else 1 for i in range(3)]
    pix = [abs(h['pixdim'][i + 1]) if i < nd and h['pixdim'][i + 1] > 0 else 1.0 for i in range(3)]
    flip = np.diag([-1.0, -1.0, 1.0])
    out = []
    if h['scode'] > 0:
        m = np.array(h['srow'], dtype=float)
        sp = np.linalg.norm(m[:, :3], axis=0)
        if np.all(sp > 0):
            out.append((size, list(sp), list(flip @ m[:, 3]), flip @ (m[:, :3] / sp)))
    if h['qcode'] > 0:
        b, c, d = h['quat']
        a = 1.0 - (b * b + c * c + d * d)
        a = math.sqrt(a) if a > 1e-7 else 0.0
        r = np.array([[a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
                      [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
                      [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b]])
        if h['pixdim'][0] < 0:
            r[:, 2] *= -1
        out.append((size, pix, list(flip @ np.array(h['qoff'], dtype=float)), flip @ r))
    if not out:  # no transform: ITK's identity, or nifti1_io's RAS axes
        out.append((size, pix, [0.0, 0.0, 0.0], np.eye(3)))
        out.append((size, pix, [0.0, 0.0, 0.0], flip))
    return out


def voxels(b, h):
    """The voxels (float64, scaled as the header says), i fastest, of a whole file's bytes."""
    nd = h['dim'][0]
    n = 1
    for i in range(nd):
        n *= h['dim'][i + 1]
    off = int(h['vox_offset'])
    a = np.frombuffer(b, dtype=np.dtype(h['e'] + DTYPES[h['datatype']]), count=n, offset=off)
    a = a.astype(np.float64)
    if h['slope'] != 0 and not (h['slope'] == 1 and h['inter'] == 0):
        a = a * h['slope'] + h['inter']
    return a


def load(path):
    with open(path, 'rb') as f:
        b = f.read()
    return gzip.decompress(b) if b[:2] == b'\x1f\x8b' else b


def close(a, b, tol):
    return all(abs(float(x) - float(y)) <= tol * max(1.0, abs(float(y))) for x, y in zip(a, b))


def matches(geoms, size, sp, org, d, nd=3):
    """One of geoms is (size, sp, org, d); for a 2-D image only its first two axes count."""
    k = min(nd, 3)
    for gs, gsp, gorg, gd in geoms:
        if list(size) == list(gs) and close(sp[:k], gsp[:k], 1e-4) and close(org[:k], gorg[:k], 1e-3) and \
                np.allclose(np.array(d)[:k, :k], np.array(gd)[:k, :k], atol=1e-4):
            return True
    return False


def info_fields(out):
    f = {}
    for line in out.splitlines():
        m = re.match(r'(\w[\w ]*): (.*)$', line)
        if m:
            f[m.group(1)] = m.group(2)
    return f


def check_info(src):
    """exit 0 of `info src`: the printed grid is one of src's header transforms."""
    def check(work, out, err):
        b = load(src)
        h = parse(b)
        f = info_fields(out)
        try:
            size = [int(x) for x in f['size'].split()]
            sp = [float(x) for x in f['spacing'].split()]
            org = [float(x) for x in f['origin'].split()]
            d = np.array([float(x) for x in f['direction'].split()]).reshape(3, 3)
        except (KeyError, ValueError) as e:
            return 'info output unreadable: %r' % e
        while len(size) < 3:
            size.append(1)
        if not matches(geometries(h), size[:3], sp, org, d, h['dim'][0]):
            return 'info geometry %s %s %s %s is none of the header transforms' % (size, sp, org, d.tolist())
        return None
    return check


def check_convert(src):
    """exit 0 of `convert src -o out.nii.gz`: the output's grid is one of src's header transforms
    and its voxels are src's voxels (scaled as src's header says)."""
    def check(work, out, err):
        b = load(src)
        h = parse(b)
        p = os.path.join(work, 'out.nii.gz')
        if not os.path.exists(p):
            return 'no output'
        ob = load(p)
        oh = parse(ob)
        g = geometries(oh)[0]
        if not matches(geometries(h), g[0], g[1], g[2], g[3], h['dim'][0]):
            return 'output geometry %s is none of the input header transforms' % (g[:3],)
        a, o = voxels(b, h), voxels(ob, oh)
        if a.shape != o.shape or not np.allclose(a, o, rtol=1e-6, atol=1e-6):
            return 'output voxels differ from the input voxels'
        if sorted(os.listdir(work)) not in (['out.nii.gz'], ['out.json', 'out.nii.gz']):
            return 'left behind: %s' % sorted(os.listdir(work))
        return None
    return check


# ---- mutations

def put(b, field, value, e='<'):
    off, code = F1[field]
    b = bytearray(b)
    if code in 'hB' and isinstance(value, float):
        value = int(value)
    struct.pack_into(e + code, b, off, value)
    return bytes(b)


def swap_endian(b):
    """A big-endian copy of a little-endian NIfTI-1 file (header, extension sizes, voxels)."""
    h = parse(b)
    out = bytearray(b)
    for field, (off, code) in F1.items():
        if code != 'B':
            struct.pack_into('>' + code, out, off, struct.unpack_from('<' + code, b, off)[0])
    for i in range(8):
        struct.pack_into('>h', out, 40 + 2 * i, struct.unpack_from('<h', b, 40 + 2 * i)[0])
        struct.pack_into('>f', out, 76 + 4 * i, struct.unpack_from('<f', b, 76 + 4 * i)[0])
    pos = 352
    while b[348] and pos + 8 <= h['vox_offset']:
        esize, ecode = struct.unpack_from('<ii', b, pos)
        struct.pack_into('>ii', out, pos, esize, ecode)
        if esize < 8:
            break
        pos += esize
    off = int(h['vox_offset'])
    a = np.frombuffer(b, dtype=np.dtype('<' + DTYPES[h['datatype']]), offset=off)
    out[off:] = a.astype('>' + DTYPES[h['datatype']]).tobytes()
    return bytes(out)


def to_nifti2(b):
    """The same image as NIfTI-2 (with the extensions kept)."""
    h = parse(b)
    n2 = bytearray(544)
    struct.pack_into('<i', n2, 0, 540)
    n2[4:12] = b'n+2\0\r\n\x1a\n'
    struct.pack_into('<hh', n2, 12, h['datatype'], h['bitpix'])
    struct.pack_into('<8q', n2, 16, *h['dim'])
    struct.pack_into('<8d', n2, 104, *h['pixdim'])
    ext = b[352:int(h['vox_offset'])] if b[348] else b''
    struct.pack_into('<q', n2, 168, 544 + len(ext))
    struct.pack_into('<dd', n2, 176, h['slope'], h['inter'])
    struct.pack_into('<ii', n2, 344, h['qcode'], h['scode'])
    struct.pack_into('<3d', n2, 352, *h['quat'])
    struct.pack_into('<3d', n2, 376, *h['qoff'])
    for r in range(3):
        struct.pack_into('<4d', n2, 400 + 32 * r, *h['srow'][r])
    struct.pack_into('<i', n2, 500, 2)  # xyzt_units: mm
    n2[540] = 1 if ext else 0
    return bytes(n2) + ext + b[int(h['vox_offset']):]


def with_ext_text(b, edit):
    """b with cardiotwin's geometry extension text edited by edit(text) (same extension size)."""
    h = parse(b)
    off = int(h['vox_offset'])
    esize = struct.unpack_from('<i', b, 352)[0]
    text = b[360:352 + esize].rstrip(b'\0').decode()
    new = edit(text).encode()
    new_esize = (len(new) + 1 + 8 + 15) // 16 * 16
    ext = struct.pack('<ii', new_esize, 6) + new + b'\0' * (new_esize - 8 - len(new))
    out = bytearray(b[:352] + ext + b[off:])
    struct.pack_into('<f', out, 108, 352 + new_esize)
    return bytes(out)


def gzip_bomb(path, header, total):
    """A gzip file: header, then total bytes of zeros (compressed about 1000:1)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    with open(path, 'wb') as f:
        f.write(z.compress(header))
        for _ in range(total >> 20):
            f.write(z.compress(chunk))
        f.write(z.flush())


def generate(g):
    ph = g.path('ph')
    subprocess.run([g.ctw, '-q', 'phantom', '--kind', 'lv', '--spacing', '4', '-o', ph], check=True,
                   stdout=subprocess.DEVNULL)
    img = load(os.path.join(ph, 'image.nii.gz'))
    lab = load(os.path.join(ph, 'labels.nii.gz'))
    n = [0]

    def write(name, data, gz=False):
        p = g.path(name + ('.nii.gz' if gz else '.nii'))
        with open(p, 'wb') as f:
            f.write(gzip.compress(data, 1) if gz else data)
        return p

    def both(name, data, expect=(0, 2), gz=False, convert=True):
        """info and convert of one input; exit 0 is checked against the header."""
        p = write(name, data, gz)
        g.case(name + '-info', ['info', p], expect=expect, timeout=60, check=check_info(p))
        if convert:
            g.case(name + '-convert', ['convert', p, '-o', 'out.nii.gz'], expect=expect, timeout=60,
                   check=check_convert(p))
        n[0] += 1
        return p

    # the valid inputs themselves, and byte-swapped / NIfTI-2 copies, must read right
    both('valid-image', img, expect=(0,))
    both('valid-labels-gz', lab, expect=(0,), gz=True)
    both('big-endian', swap_endian(img), expect=(0,))
    # NIfTI-2: ITK 5.2 reads NIfTI-1 only; refused with a clear message (or read right)
    both('nifti2', to_nifti2(img))
    both('nifti2-gz', to_nifti2(lab), gz=True)

    # every header field: 0, -1, huge, NaN, inf (what makes sense for its type)
    ints = [0, -1, 32767, -32768]
    floats = [0.0, -1.0, 1e30, NAN, INF]
    plan = {
        'sizeof_hdr': [0, 349, -1], 'dim0': [0, -1, 8, 2, 4, 7], 'dim1': ints + [1], 'dim2': [0, -1, 32767],
        'dim3': [0, -1, 1, 32767, 2], 'dim4': [0, 2, -1], 'dim5': [3],
        'datatype': [0, -1, 2, 8, 16, 32, 128, 2304, 32767], 'bitpix': [0, -16, 8, 12, 32, 64],
        'qfac': [0.0, -1.0, NAN, INF], 'pixdim1': floats, 'pixdim2': [0.0, NAN], 'pixdim3': [-1.0, INF],
        'pixdim4': [NAN, 0.0], 'vox_offset': [0.0, -1.0, 347.0, 352.5, 1e30, NAN, INF, 4096.0],
        'scl_slope': [0.0, -1.0, 2.0, NAN, INF, 1e38], 'scl_inter': [100.0, NAN, -INF],
        'intent_code': [1002, 32767], 'intent_p1': [NAN], 'slice_code': [255], 'xyzt_units': [0, 255],
        'cal_max': [NAN], 'slice_duration': [INF], 'toffset': [NAN], 'slice_start': [-1],
        'qform_code': [0, -1, 6, 32767], 'sform_code': [0, -1, 6],
        'quatern_b': [NAN, INF, 2.0, 0.5], 'quatern_c': [NAN], 'quatern_d': [-INF, 1.0],
        'qoffset_x': [NAN, 1e30], 'qoffset_y': [INF], 'qoffset_z': [NAN],
        'srow_x0': [NAN, INF, 0.0, 1e30, -4.0], 'srow_x1': [4.0], 'srow_x3': [NAN, -INF],
        'srow_y1': [NAN, 0.0], 'srow_y2': [INF], 'srow_z2': [NAN, 0.0, -4.0], 'srow_z3': [INF],
    }
    for field, values in plan.items():
        for v in values:
            name = 'hdr-%s-%s' % (field, str(v).replace('-', 'm').replace('.', 'p'))
            both(name, put(img, field, v))
    # both transforms off, or the qform alone wrong while the sform is right, and the reverse
    both('codes-both-0', put(put(img, 'qform_code', 0), 'sform_code', 0))
    both('qform-only-nan-quat', put(put(img, 'sform_code', 0), 'quatern_b', NAN))
    both('sform-only-singular', put(put(put(img, 'qform_code', 0), 'srow_y1', 0.0), 'srow_z2', 0.0))
    # magic: Analyze, the .hdr/.img magic, NIfTI-2's in a NIfTI-1 header, blank
    for m in (b'xxxx', b'ni1\0', b'n+2\0', b'\0\0\0\0'):
        both('magic-' + m.decode('latin-1').strip('\0').replace('+', 'p') or 'magic-blank',
             img[:344] + m + img[348:])
    both('magic-analyze-gz', img[:344] + b'\0\0\0\0' + img[348:], gz=True)
    # label maps: datatype and bitpix disagree (sized by one, read by the other)
    both('labels-u8-bitpix16', put(lab, 'bitpix', 16))
    both('labels-i16-datatype', put(lab, 'datatype', 4))
    # big-endian copy with a NaN sform
    both('big-endian-nan-sform', put(swap_endian(img), 'srow_x0', NAN, '>'))
    # NIfTI-2 mutations
    n2 = to_nifti2(img)

    def put2(b, off, code, v):
        b = bytearray(b)
        struct.pack_into('<' + code, b, off, v)
        return bytes(b)
    both('nifti2-sform-nan', put2(n2, 400, 'd', NAN))
    both('nifti2-quat-inf', put2(n2, 352, 'd', INF))
    both('nifti2-dim-huge', put2(n2, 24, 'q', 1 << 40))
    both('nifti2-dim-negative', put2(n2, 32, 'q', -3))
    both('nifti2-vox-offset-negative', put2(n2, 168, 'q', -8))
    both('nifti2-vox-offset-huge', put2(n2, 168, 'q', 1 << 62))
    both('nifti2-bitpix', put2(n2, 14, 'h', 8))
    both('nifti2-magic', n2[:4] + b'n+2\0\0\0\0\0' + n2[12:])
    # truncations, plain and gzip
    for cut in (0, 4, 100, 347, 348, 352, 400, 600, len(img) // 2, len(img) - 1):
        both('trunc-%d' % cut, img[:cut], convert=cut in (0, 348, len(img) - 1))
    gz = gzip.compress(lab, 6)
    for cut in (1, 10, 100, 500, len(gz) // 2, len(gz) - 8, len(gz) - 5, len(gz) - 1):
        p = g.path('gztrunc-%d.nii.gz' % cut)
        with open(p, 'wb') as f:
            f.write(gz[:cut])
        g.case('gztrunc-%d-info' % cut, ['info', p], timeout=60)
        g.case('gztrunc-%d-convert' % cut, ['convert', p, '-o', 'out.nii.gz'], timeout=60)
        n[0] += 1
    # gzip trailer: CRC32 wrong, ISIZE wrong, a flipped byte in the deflate stream
    for name, pos in (('crc', len(gz) - 8), ('isize', len(gz) - 2), ('stream', len(gz) // 2)):
        bad = bytearray(gz)
        bad[pos] ^= 0x5a
        p = g.path('gzbad-%s.nii.gz' % name)
        with open(p, 'wb') as f:
            f.write(bytes(bad))
        g.case('gzbad-%s-info' % name, ['info', p], timeout=60)
        g.case('gzbad-%s-convert' % name, ['convert', p, '-o', 'out.nii.gz'], timeout=60)
        g.case('gzbad-%s-mesh' % name, ['mesh', '--labels', p, '--model', 'lv', '-o', 'm'], timeout=120)
        n[0] += 1
    # a gzip bomb: a valid small header followed by 300 MB of zeros; and a header that declares
    # 2e9 voxels (the default limit) over a tiny stream
    p = g.path('bomb.nii.gz')
    gzip_bomb(p, lab, 300 << 20)
    g.case('bomb-info', ['info', p], timeout=60)
    g.case('bomb-segment', ['segment', '--labels', p, '--model', 'lv', '-o', 'o.nii.gz'], timeout=60)
    n[0] += 1
    both('declares-huge', put(put(put(lab, 'dim1', 2000), 'dim2', 1000), 'dim3', 1000), expect=(2,), gz=True)
    p = write('declares-over-limit', lab, gz=True)
    g.case('max-voxels-limit', ['--max-voxels', '1000', 'info', p], timeout=60)
    # extensions with bad sizes (nifti1_io trusts them)
    esize_off = 352
    for v in (0, 7, 8, 20, -16, 1 << 30, 16):
        both('ext-esize-%s' % str(v).replace('-', 'm'), img[:esize_off] + struct.pack('<i', v) + img[esize_off + 4:])
    both('ext-flag-no-extension', img[:348] + b'\0' + img[349:])
    # cardiotwin's geometry extension: NaN / inf values, zero or NaN base-plane normal
    def sub(pat, rep):
        return lambda t: re.sub(pat, rep, t, count=1)
    ext_cases = {
        'ext-spacing-nan': (img, sub(r'spacing \S+', 'spacing nan')),
        'ext-spacing-zero': (img, sub(r'spacing \S+', 'spacing 0')),
        'ext-origin-inf': (img, sub(r'origin \S+', 'origin inf')),
        'ext-direction-nan': (img, sub(r'direction \S+', 'direction nan')),
        'ext-garbage': (img, lambda t: t.replace('lps size', 'lps sise')),
        'ext-size-mismatch': (img, sub(r'size \d+', 'size 7')),
        'ext-plane-nan': (lab, sub(r'base-plane \S+', 'base-plane nan')),
        'ext-plane-inf': (lab, sub(r'base-plane \S+ \S+ \S+ \S+', 'base-plane 1 2 3 inf')),
        'ext-plane-zero-normal': (lab, sub(r'(base-plane \S+ \S+ \S+) \S+ \S+ \S+', r'\1 0 0 0')),
        'ext-plane-normal-nan': (lab, sub(r'(base-plane \S+ \S+ \S+ \S+) \S+', r'\1 nan')),
        'ext-plane-tiny-normal': (lab, sub(r'(base-plane \S+ \S+ \S+) \S+ \S+ \S+', r'\1 1e-300 0 0')),
    }
    for name, (base, edit) in ext_cases.items():
        p = both(name, with_ext_text(base, edit), gz=True)
        if 'plane' in name:
            g.case(name + '-mesh', ['mesh', '--labels', p, '--model', 'lv', '-o', 'm'], timeout=120)
            g.case(name + '-segment', ['segment', '--labels', p, '--model', 'lv', '-o', 'o.nii.gz'],
                   timeout=120)
    # label maps with a NaN sform / quaternion through segment and mesh
    for name, data in (('labels-sform-nan', put(lab, 'srow_x0', NAN)),
                       ('labels-quat-nan', put(put(lab, 'sform_code', 0), 'quatern_c', NAN)),
                       ('labels-analyze', lab[:344] + b'xxxx' + lab[348:]),
                       ('labels-bitpix', put(lab, 'bitpix', 32))):
        p = write(name, data, gz=True)
        g.case(name + '-segment', ['segment', '--labels', p, '--model', 'lv', '-o', 'o.nii.gz'], timeout=120)
        g.case(name + '-mesh', ['mesh', '--labels', p, '--model', 'lv', '-o', 'm'], timeout=120)
        n[0] += 1
    # not regular files where a file is expected
    fifo = g.path('fifo.nii.gz')
    os.mkfifo(fifo)
    g.case('fifo-info', ['info', fifo], timeout=20)
    g.case('fifo-convert', ['convert', fifo, '-o', 'out.nii.gz'], timeout=20)
    g.case('fifo-segment', ['segment', '--labels', fifo, '--model', 'lv', '-o', 'o.nii.gz'], timeout=20)
    g.case('fifo-mesh', ['mesh', '--labels', fifo, '--model', 'lv', '-o', 'm'], timeout=20)
    g.case('devzero-info', ['info', '/dev/zero'], timeout=20, names='/dev/zero')
    g.case('devzero-segment', ['segment', '--labels', '/dev/zero', '--model', 'lv', '-o', 'o.nii.gz'],
           timeout=20, names='/dev/zero')
    d = g.path('dir.nii.gz')
    os.mkdir(d)
    g.case('dir-mesh', ['mesh', '--labels', d, '--model', 'lv', '-o', 'm'], timeout=20)
    g.case('dir-segment', ['segment', '--labels', d, '--model', 'lv', '-o', 'o.nii.gz'], timeout=20)
    n[0] += 3
