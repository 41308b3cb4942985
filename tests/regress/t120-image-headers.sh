# t120: image headers checked in C before ITK (issue 12 items 1, 4, 7): NaN/inf or singular
# NIfTI sform/qform (SIGABRT in ITK's vnl before), a NaN or zero-normal base plane in
# cardiotwin's extension, Analyze magic, datatype/bitpix disagreeing, a damaged gzip trailer, a
# gzip bomb, NRRD/MetaImage with NaN directions or a negative NDims (ITK hung), and devices or
# FIFOs as inputs: exit 2 naming the file, quickly. 2-D and one-slice images still read.
. "$CTW_SRC/tests/regress/lib.sh"
PY=/usr/bin/python3

"$CTW" -q phantom --kind lv --spacing 4 -o "$T/ph" >/dev/null || fail "phantom"
gunzip -c "$T/ph/image.nii.gz" >"$T/img.nii"
gunzip -c "$T/ph/labels.nii.gz" >"$T/lab.nii"

# mutate IN OUT FIELD-OFFSET FORMAT VALUE...: a copy of IN with struct fields packed
mutate() {
	$PY - "$@" <<'PYEOF'
import gzip, struct, sys
src, dst, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
b = bytearray(open(src, 'rb').read())
for i in range(0, len(edits), 3):
    off, fmt, val = int(edits[i]), edits[i + 1], edits[i + 2]
    v = val.encode() if fmt.endswith('s') else float(val) if fmt in 'fd' else int(val)
    struct.pack_into('<' + fmt, b, off, v)
data = bytes(b)
open(dst, 'wb').write(gzip.compress(data) if dst.endswith('.gz') else data)
PYEOF
}

# bad CMD-ARGS... -- PATH TEXT: exit 2 within 30 s, one error line naming PATH and saying TEXT
bad() {
	path=$1 text=$2
	shift 2
	run 2 timeout 30 "$CTW" "$@"
	error_names "$path"
	has "$T/err" "$text"
}

mutate "$T/img.nii" "$T/sform-nan.nii" 280 f nan
for cmd in info convert; do
	bad "$T/sform-nan.nii" "sform row x holds nan" $cmd "$T/sform-nan.nii" $([ $cmd = convert ] && echo -o "$T/o.nii.gz")
done
mutate "$T/lab.nii" "$T/lab-sform-inf.nii.gz" 300 f inf
bad "$T/lab-sform-inf.nii.gz" "sform row y" segment --labels "$T/lab-sform-inf.nii.gz" --model lv -o "$T/s.nii.gz"
bad "$T/lab-sform-inf.nii.gz" "sform row y" mesh --labels "$T/lab-sform-inf.nii.gz" --model lv -o "$T/m"
mutate "$T/img.nii" "$T/sform-singular.nii" 300 f 0 320 f 0
bad "$T/sform-singular.nii" "singular" info "$T/sform-singular.nii"
mutate "$T/img.nii" "$T/quat-nan.nii" 254 h 0 260 f nan
bad "$T/quat-nan.nii" "qform" info "$T/quat-nan.nii"
mutate "$T/img.nii" "$T/qoffset-inf.nii" 272 f -inf
bad "$T/qoffset-inf.nii" "qform" info "$T/qoffset-inf.nii"
mutate "$T/img.nii" "$T/analyze.nii" 344 4s xxxx
bad "$T/analyze.nii" "Analyze files are not accepted" info "$T/analyze.nii"
mutate "$T/lab.nii" "$T/bitpix.nii.gz" 72 h 16
bad "$T/bitpix.nii.gz" "disagree with the datatype" info "$T/bitpix.nii.gz"
mutate "$T/img.nii" "$T/slope-nan.nii" 112 f nan
bad "$T/slope-nan.nii" "scl_slope nan" info "$T/slope-nan.nii"
mutate "$T/img.nii" "$T/voxoffset-nan.nii" 108 f nan
bad "$T/voxoffset-nan.nii" "vox_offset" info "$T/voxoffset-nan.nii"

# cardiotwin's geometry extension: a NaN base plane, a zero normal
for kind in nan zero; do
	$PY - "$T/ph/labels.nii.gz" "$T/plane-$kind.nii.gz" $kind <<'PYEOF'
import gzip, re, sys
b = gzip.decompress(open(sys.argv[1], 'rb').read())
rep = r'\1 0 0 0' if sys.argv[3] == 'zero' else r'\1 nan 0 0'
t = re.sub(rb'(base-plane \S+ \S+ \S+) \S+ \S+ \S+', rep.encode(), b, count=1)
n = 352 + int.from_bytes(b[352:356], 'little')
t = t[:n] if len(t) < len(b) else t  # same extension size: the edit only shortens the text
t = t[:352] + t[352:n].ljust(n - 352, b'\0') + b[n:]
open(sys.argv[2], 'wb').write(gzip.compress(t))
PYEOF
	bad "$T/plane-$kind.nii.gz" "geometry extension" info "$T/plane-$kind.nii.gz"
	bad "$T/plane-$kind.nii.gz" "geometry extension" mesh --labels "$T/plane-$kind.nii.gz" --model lv -o "$T/m"
done

# gzip: a wrong CRC, a cut trailer, and a bomb (a valid header, then 200 MB of zeros)
$PY - "$T/ph/labels.nii.gz" "$T" <<'PYEOF'
import sys, zlib
src, d = sys.argv[1], sys.argv[2]
g = bytearray(open(src, 'rb').read())
open(d + '/cut.nii.gz', 'wb').write(bytes(g[:-6]))
g[-8] ^= 0xff
open(d + '/crc.nii.gz', 'wb').write(bytes(g))
import gzip
raw = gzip.decompress(open(src, 'rb').read())
z = zlib.compressobj(9, zlib.DEFLATED, 31)
with open(d + '/bomb.nii.gz', 'wb') as f:
    f.write(z.compress(raw))
    for _ in range(200):
        f.write(z.compress(bytes(1 << 20)))
    f.write(z.flush())
PYEOF
bad "$T/crc.nii.gz" "corrupt" info "$T/crc.nii.gz"
bad "$T/cut.nii.gz" "corrupt" convert "$T/cut.nii.gz" -o "$T/o.nii.gz"
bad "$T/bomb.nii.gz" "more than" info "$T/bomb.nii.gz"

# not regular files
mkfifo "$T/fifo.nii.gz"
bad "$T/fifo.nii.gz" "not a regular file" info "$T/fifo.nii.gz"
bad "$T/fifo.nii.gz" "not a regular file" mesh --labels "$T/fifo.nii.gz" --model lv -o "$T/m"
bad /dev/zero "not a regular file" segment --labels /dev/zero --model lv -o "$T/s.nii.gz"

# a FIFO inside a DICOM directory is skipped, never opened (info hung before)
cp -r "$T/ph/dicom" "$T/dcm" && mkfifo "$T/dcm/zz.dcm"
run 0 timeout 30 "$CTW" info "$T/dcm"
has "$T/out" "files: 36 images"

# NRRD / MetaImage: NaN direction, singular directions, a negative NDims (ITK hung), /dev/zero data
printf 'NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 2 2 2\nspace directions: (nan,0,0) (0,1,0) (0,0,1)\nencoding: raw\nendian: little\n\n0123456789abcdef' >"$T/dir-nan.nrrd"
bad "$T/dir-nan.nrrd" "not finite" info "$T/dir-nan.nrrd"
printf 'NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 2 2 2\nspace directions: (1,0,0) (1,0,0) (0,0,1)\nencoding: raw\nendian: little\n\n0123456789abcdef' >"$T/dir-singular.nrrd"
bad "$T/dir-singular.nrrd" "singular" info "$T/dir-singular.nrrd"
printf 'ObjectType = Image\nNDims = -3\nDimSize = 2 2 2\nElementType = MET_SHORT\nElementDataFile = LOCAL\n0123456789abcdef' >"$T/ndims.mha"
bad "$T/ndims.mha" "number of dimensions" info "$T/ndims.mha"
printf 'ObjectType = Image\nNDims = 3\nDimSize = 2 2 2\nElementType = MET_SHORT\nElementDataFile = /dev/zero\n' >"$T/devzero.mhd"
bad "$T/devzero.mhd" "not a regular file" info "$T/devzero.mhd"
printf 'ObjectType = Image\nNDims = 3\nDimSize = 2 2 2\nElementType = MET_SHORT\nElementDataFile = LOCAL\n0123' >"$T/short.mha"
bad "$T/short.mha" "truncated" info "$T/short.mha"

# still fine: a 2-D image and a one-slice image (refused later by segment/mesh, not the reader)
mutate "$T/img.nii" "$T/two-d.nii" 40 h 2
run 0 "$CTW" info "$T/two-d.nii"
has "$T/out" "size: 39 35"
mutate "$T/img.nii" "$T/one-slice.nii" 46 h 1
run 0 "$CTW" convert "$T/one-slice.nii" -o "$T/one.nii.gz"
run 0 "$CTW" info "$T/one.nii.gz"
has "$T/out" "size: 39 35 1"
finish
