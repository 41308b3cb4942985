"""Hostile NRRD and MetaImage inputs (issue 12 items 1, 4): the phantom image written as NRRD and
.mha/.mhd here, then every header field mutated (0, -1, huge, NaN, inf, garbage), detached data
files missing or short, every encoding, truncated and corrupt compressed data, huge sizes, NaN or
singular spacings and directions. Run through `info` and `convert`. An input that ends in exit 0
must give exactly the grid the header means (as computed here) and the voxels written here."""
import gzip
import os
import re
import subprocess
import zlib

import numpy as np

NAN = 'nan'

TYPES = {'u1': ('uchar', 'MET_UCHAR'), 'i2': ('short', 'MET_SHORT'), 'u2': ('ushort', 'MET_USHORT'),
         'f4': ('float', 'MET_FLOAT')}


def read_nifti_gz(path):
    """The voxels (array[k, j, i]) and LPS grid of a NIfTI file cardiotwin wrote (identity-free:
    from its sform)."""
    import struct
    b = gzip.decompress(open(path, 'rb').read())
    dim = struct.unpack_from('<8h', b, 40)
    dt = {2: 'u1', 4: 'i2', 512: 'u2', 16: 'f4', 8: 'i4'}[struct.unpack_from('<h', b, 70)[0]]
    off = int(struct.unpack_from('<f', b, 108)[0])
    a = np.frombuffer(b, dtype='<' + dt, count=dim[1] * dim[2] * dim[3], offset=off)
    srow = np.array([struct.unpack_from('<4f', b, 280 + 16 * r) for r in range(3)], dtype=float)
    flip = np.diag([-1.0, -1.0, 1.0])
    m = flip @ srow
    sp = np.linalg.norm(m[:, :3], axis=0)
    return a.reshape(dim[3], dim[2], dim[1]), list(sp), list(m[:, 3]), m[:, :3] / sp


def info_fields(out):
    f = {}
    for line in out.splitlines():
        m = re.match(r'(\w[\w ]*): (.*)$', line)
        if m:
            f[m.group(1)] = m.group(2)
    return f


def same_grid(size, sp, org, d, want):
    wsize, wsp, worg, wd = want
    return list(size) == list(wsize) and np.allclose(sp, wsp, rtol=1e-6) and \
        np.allclose(org, worg, atol=1e-4) and np.allclose(d, wd, atol=1e-6)


def check_info(want):
    def check(work, out, err):
        f = info_fields(out)
        try:
            size = [int(x) for x in f['size'].split()]
            sp = [float(x) for x in f['spacing'].split()]
            org = [float(x) for x in f['origin'].split()]
            d = np.array([float(x) for x in f['direction'].split()]).reshape(3, 3)
        except (KeyError, ValueError) as e:
            return 'info output unreadable: %r' % e
        if not same_grid(size, sp, org, d, want):
            return 'info grid %s %s %s %s, the header means %s' % (size, sp, org, d.tolist(), want[:3])
        return None
    return check


def check_convert(want, voxels):
    def check(work, out, err):
        p = os.path.join(work, 'out.nii.gz')
        if not os.path.exists(p):
            return 'no output'
        a, sp, org, d = read_nifti_gz(p)
        size = [a.shape[2], a.shape[1], a.shape[0]]
        if not same_grid(size, sp, org, d, want):
            return 'output grid %s %s %s, the header means %s' % (size, sp, org, want[:3])
        if a.shape != voxels.shape or not np.array_equal(a.astype(np.float64), voxels.astype(np.float64)):
            return 'output voxels differ from the input voxels'
        return None
    return check


def nrrd_header(a, sp, org, d, fields=None, drop=()):
    """NRRD header lines (an ordered dict) for a[k, j, i] with the grid (LPS)."""
    cols = ['(%r,%r,%r)' % tuple(float(d[r][c] * sp[c]) for r in range(3)) for c in range(3)]
    h = {
        'type': TYPES[a.dtype.str[1:]][0], 'dimension': '3', 'space': 'left-posterior-superior',
        'sizes': '%d %d %d' % (a.shape[2], a.shape[1], a.shape[0]),
        'space directions': ' '.join(cols), 'kinds': 'domain domain domain', 'endian': 'little',
        'encoding': 'raw', 'space origin': '(%r,%r,%r)' % tuple(float(x) for x in org),
    }
    h.update(fields or {})
    for k in drop:
        h.pop(k, None)
    return 'NRRD0004\n' + ''.join('%s: %s\n' % kv for kv in h.items()) + '\n'


def mha_header(a, sp, org, d, fields=None, drop=()):
    h = {
        'ObjectType': 'Image', 'NDims': '3', 'BinaryData': 'True', 'BinaryDataByteOrderMSB': 'False',
        'CompressedData': 'False',
        'TransformMatrix': ' '.join('%r' % float(d[r][c]) for c in range(3) for r in range(3)),
        'Offset': ' '.join('%r' % float(x) for x in org), 'AnatomicalOrientation': 'RAI',
        'ElementSpacing': ' '.join('%r' % float(x) for x in sp),
        'DimSize': '%d %d %d' % (a.shape[2], a.shape[1], a.shape[0]),
        'ElementType': TYPES[a.dtype.str[1:]][1], 'ElementDataFile': 'LOCAL',
    }
    h.update(fields or {})
    for k in drop:
        h.pop(k, None)
    last = h.pop('ElementDataFile', None)
    s = ''.join('%s = %s\n' % kv for kv in h.items())
    return s + ('ElementDataFile = %s\n' % last if last is not None else '')


def generate(g):
    ph = g.path('ph')
    subprocess.run([g.ctw, '-q', 'phantom', '--kind', 'lv', '--spacing', '4', '-o', ph], check=True,
                   stdout=subprocess.DEVNULL)
    a, sp, org, d = read_nifti_gz(os.path.join(ph, 'image.nii.gz'))
    # an oblique grid (a rotation about z by 30 degrees) so directions are really exercised
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    sp = [4.0, 4.0, 4.0]
    raw = a.astype('<i2').tobytes()
    base = ([a.shape[2], a.shape[1], a.shape[0]], sp, org, rot)

    def write(name, data):
        p = g.path(name)
        with open(p, 'wb') as f:
            f.write(data)
        return p

    def both(name, data, ok=False, want=base, voxels=a, detached=None):
        """info and convert; exit 0 allowed only when ok (then checked against want)."""
        p = write(name, data)
        if detached:
            for fn, content in detached.items():
                if content is not None:
                    write(fn, content)
        exp = (0, 2) if ok else (2,)
        g.case(name + '-info', ['info', p], expect=exp, timeout=60, check=check_info(want))
        g.case(name + '-convert', ['convert', p, '-o', 'out.nii.gz'], expect=exp, timeout=60,
               check=check_convert(want, voxels))

    # ---- NRRD
    def nrrd(fields=None, drop=(), data=raw):
        return nrrd_header(a, sp, org, rot, fields, drop).encode() + data

    both('valid.nrrd', nrrd(), ok=True)
    both('valid-gzip.nrrd', nrrd({'encoding': 'gzip'}, data=gzip.compress(raw)), ok=True)
    both('valid-big.nrrd', nrrd({'endian': 'big'}, data=a.astype('>i2').tobytes()), ok=True)
    both('valid-ascii.nrrd', nrrd({'encoding': 'ascii'}, data=' '.join(str(int(x)) for x in a.ravel()).encode()),
         ok=True)
    dirs = lambda m: ' '.join('(%s,%s,%s)' % tuple(m[c]) for c in range(3))
    mut = {
        'sizes-zero': {'sizes': '0 35 36'}, 'sizes-negative': {'sizes': '-39 35 36'},
        'sizes-huge': {'sizes': '100000 100000 100000'}, 'sizes-2e9': {'sizes': '2147483647 1 1'},
        'sizes-short': {'sizes': '39 35'}, 'sizes-text': {'sizes': 'a b c'}, 'sizes-float': {'sizes': '39.5 35 36'},
        'sizes-more-than-data': {'sizes': '39 35 37'}, 'sizes-less-than-data': {'sizes': '39 35 35'},
        'dimension-0': {'dimension': '0'}, 'dimension-2': {'dimension': '2'}, 'dimension-4': {'dimension': '4'},
        'dimension-99': {'dimension': '99'}, 'dimension-neg': {'dimension': '-1'},
        'type-bad': {'type': 'quaternion'}, 'type-block': {'type': 'block'}, 'type-int': {'type': 'int'},
        'type-uchar': {'type': 'uchar'}, 'type-double': {'type': 'double'},
        'encoding-bad': {'encoding': 'lzma'}, 'encoding-gzip-but-raw': {'encoding': 'gzip'},
        'encoding-bzip2-but-raw': {'encoding': 'bzip2'}, 'encoding-hex-but-raw': {'encoding': 'hex'},
        'endian-bad': {'endian': 'middle'},
        'dir-nan': {'space directions': dirs([['nan', 0, 0], [0, 4, 0], [0, 0, 4]])},
        'dir-inf': {'space directions': dirs([[4, 0, 0], [0, 'inf', 0], [0, 0, 4]])},
        'dir-zero': {'space directions': dirs([[0, 0, 0], [0, 4, 0], [0, 0, 4]])},
        'dir-singular': {'space directions': dirs([[4, 0, 0], [4, 0, 0], [0, 0, 4]])},
        'dir-shear': {'space directions': dirs([[4, 0, 0], [2, 4, 0], [0, 0, 4]])},
        'dir-huge': {'space directions': dirs([[1e300, 0, 0], [0, 4, 0], [0, 0, 4]])},
        'dir-none': {'space directions': 'none (0,4,0) (0,0,4)'},
        'dir-garbage': {'space directions': '(a,b,c) (0,4,0) (0,0,4)'},
        'dir-two': {'space directions': '(4,0,0) (0,4,0)'},
        'origin-nan': {'space origin': '(nan,0,0)'}, 'origin-inf': {'space origin': '(0,-inf,0)'},
        'origin-huge': {'space origin': '(1e300,0,0)'}, 'origin-short': {'space origin': '(1,2)'},
        'space-bad': {'space': 'left-right-up'}, 'space-ras': {'space': 'right-anterior-superior'},
        'byte-skip-huge': {'byte skip': '1000000000'}, 'byte-skip-neg2': {'byte skip': '-2'},
        'line-skip-huge': {'line skip': '1000000'},
        'kinds-bad': {'kinds': 'vector domain domain'}, 'kinds-rgb': {'kinds': 'RGB-color domain domain'},
    }
    for name, f in mut.items():
        want = base
        ok = name in ('kinds-bad',)
        if name == 'space-ras':  # a valid header in another frame: LPS = diag(-1,-1,1) RAS
            ok = True
            flip = np.diag([-1.0, -1.0, 1.0])
            want = (base[0], sp, list(flip @ np.array(org)), flip @ rot)
        both('n-%s.nrrd' % name, nrrd(f), ok=ok, want=want)
    both('n-spacings-nan.nrrd', nrrd({'spacings': 'nan 4 4'}, drop=('space directions', 'space', 'space origin')))
    both('n-spacings-zero.nrrd', nrrd({'spacings': '0 4 4'}, drop=('space directions', 'space', 'space origin')))
    both('n-spacings-neg.nrrd', nrrd({'spacings': '-4 4 4'}, drop=('space directions', 'space', 'space origin')))
    both('n-no-sizes.nrrd', nrrd(drop=('sizes',)))
    both('n-no-type.nrrd', nrrd(drop=('type',)))
    both('n-no-encoding.nrrd', nrrd(drop=('encoding',)))
    both('n-magic.nrrd', b'NRRD9999' + nrrd()[8:])
    both('n-no-blank-line.nrrd', nrrd().replace(b'\n\n', b'\n', 1))
    both('n-data-short.nrrd', nrrd(data=raw[:-100]))
    both('n-data-empty.nrrd', nrrd(data=b''))
    gz = gzip.compress(raw)
    both('n-gzip-truncated.nrrd', nrrd({'encoding': 'gzip'}, data=gz[:len(gz) // 2]))
    both('n-gzip-trailer-cut.nrrd', nrrd({'encoding': 'gzip'}, data=gz[:-6]))
    bad = bytearray(gz)
    bad[-8] ^= 0xff
    both('n-gzip-crc.nrrd', nrrd({'encoding': 'gzip'}, data=bytes(bad)))
    both('n-gzip-bomb.nrrd', nrrd({'encoding': 'gzip'}, data=gzip.compress(raw + bytes(200 << 20), 1)))
    both('n-ascii-short.nrrd', nrrd({'encoding': 'ascii'}, data=b'1 2 3'))
    both('n-ascii-garbage.nrrd', nrrd({'encoding': 'ascii'}, data=b'x ' * (len(raw) // 2)))
    # detached data files
    det = nrrd_header(a, sp, org, rot, {'data file': 'vox.raw'}).encode()
    both('n-detached.nhdr', det, ok=True, detached={'vox.raw': raw})
    both('n-detached-missing.nhdr', nrrd_header(a, sp, org, rot, {'data file': 'missing.raw'}).encode())
    both('n-detached-short.nhdr', nrrd_header(a, sp, org, rot, {'data file': 'short.raw'}).encode(),
         detached={'short.raw': raw[:1000]})
    both('n-detached-dir.nhdr', nrrd_header(a, sp, org, rot, {'data file': '.'}).encode())
    both('n-detached-devzero.nhdr', nrrd_header(a, sp, org, rot, {'data file': '/dev/zero'}).encode())
    both('n-detached-list.nhdr', nrrd_header(a, sp, org, rot, {'data file': 'LIST'}).encode() + b'vox.raw\n')
    both('n-detached-pattern.nhdr',
         nrrd_header(a, sp, org, rot, {'data file': 'sl%03d.raw 0 1000000 1 2'}).encode())

    # ---- MetaImage
    def mha(fields=None, drop=(), data=raw):
        return mha_header(a, sp, org, rot, fields, drop).encode() + data

    both('valid.mha', mha(), ok=True)
    comp = zlib.compress(raw)
    both('valid-compressed.mha', mha({'CompressedData': 'True', 'CompressedDataSize': str(len(comp))},
                                     data=comp), ok=True)
    both('valid-msb.mha', mha({'BinaryDataByteOrderMSB': 'True'}, data=a.astype('>i2').tobytes()), ok=True)
    mmut = {
        'ndims-0': {'NDims': '0'}, 'ndims-9': {'NDims': '9'}, 'ndims-neg': {'NDims': '-3'},
        'ndims-text': {'NDims': 'three'}, 'dimsize-zero': {'DimSize': '39 0 36'},
        'dimsize-neg': {'DimSize': '39 -35 36'}, 'dimsize-huge': {'DimSize': '90000 90000 90000'},
        'dimsize-short': {'DimSize': '39 35'}, 'dimsize-more': {'DimSize': '39 35 40'},
        'spacing-nan': {'ElementSpacing': 'nan 4 4'}, 'spacing-inf': {'ElementSpacing': '4 inf 4'},
        'spacing-zero': {'ElementSpacing': '4 4 0'}, 'spacing-neg': {'ElementSpacing': '-4 4 4'},
        'spacing-huge': {'ElementSpacing': '4 4 1e300'}, 'spacing-short': {'ElementSpacing': '4'},
        'matrix-nan': {'TransformMatrix': 'nan 0 0 0 1 0 0 0 1'},
        'matrix-inf': {'TransformMatrix': '1 0 0 0 inf 0 0 0 1'},
        'matrix-zero': {'TransformMatrix': '0 0 0 0 0 0 0 0 0'},
        'matrix-singular': {'TransformMatrix': '1 0 0 1 0 0 0 0 1'},
        'matrix-scaled': {'TransformMatrix': '2 0 0 0 2 0 0 0 2'},
        'matrix-short': {'TransformMatrix': '1 0 0'},
        'offset-nan': {'Offset': 'nan 0 0'}, 'offset-inf': {'Offset': '0 0 -inf'},
        'offset-huge': {'Offset': '1e300 0 0'},
        'type-bad': {'ElementType': 'MET_QUATERNION'}, 'type-none': {'ElementType': 'MET_NONE'},
        'type-float': {'ElementType': 'MET_FLOAT'}, 'type-double': {'ElementType': 'MET_DOUBLE'},
        'channels-3': {'ElementNumberOfChannels': '3'}, 'channels-0': {'ElementNumberOfChannels': '0'},
        'channels-neg': {'ElementNumberOfChannels': '-1'},
        'compressed-but-raw': {'CompressedData': 'True'},
        'compressed-size-huge': {'CompressedData': 'True', 'CompressedDataSize': '99999999999'},
        'headersize-huge': {'HeaderSize': '999999999'}, 'headersize-neg': {'HeaderSize': '-5'},
        'objecttype-bad': {'ObjectType': 'Tube'}, 'binary-false': {'BinaryData': 'False'},
        'orientation-bad': {'AnatomicalOrientation': 'XYZ'},
    }
    for name, f in mmut.items():
        # an unknown AnatomicalOrientation is only a label: the grid comes from TransformMatrix
        both('m-%s.mha' % name, mha(f), ok=name == 'orientation-bad')
    both('m-no-dimsize.mha', mha(drop=('DimSize',)))
    both('m-no-elementtype.mha', mha(drop=('ElementType',)))
    both('m-no-datafile.mha', mha(drop=('ElementDataFile',)))
    both('m-data-short.mha', mha(data=raw[:-2]))
    both('m-data-empty.mha', mha(data=b''))
    both('m-compressed-truncated.mha', mha({'CompressedData': 'True', 'CompressedDataSize': str(len(comp))},
                                           data=comp[:len(comp) // 2]))
    both('m-compressed-bomb.mha', mha({'CompressedData': 'True'}, data=zlib.compress(raw + bytes(200 << 20), 1)))
    both('m-detached.mhd', mha({'ElementDataFile': 'vox.raw'}, data=b''), ok=True, detached={'vox.raw': raw})
    both('m-detached-missing.mhd', mha({'ElementDataFile': 'nothere.raw'}, data=b''))
    both('m-detached-short.mhd', mha({'ElementDataFile': 'short2.raw'}, data=b''), detached={'short2.raw': raw[:10]})
    both('m-detached-devzero.mhd', mha({'ElementDataFile': '/dev/zero'}, data=b''))
    both('m-detached-dir.mhd', mha({'ElementDataFile': '.'}, data=b''))
    both('m-detached-list.mhd', mha({'ElementDataFile': 'LIST'}, data=b'') + b'vox.raw\n')
    both('m-detached-pattern.mhd', mha({'ElementDataFile': 'sl%03d.raw 1 1000000 1'}, data=b''))
    both('m-garbage-line.mha', b'this is = not a key\n' + mha(), ok=True)  # unknown keys are ignored
    both('m-empty.mha', b'')
    fifo = g.path('fifo.nrrd')
    os.mkfifo(fifo)
    g.case('fifo-nrrd-info', ['info', fifo], timeout=20)
