# t102: bad input to `cardiotwin info`: exit 2 and one message naming the file, never a crash
# or a huge allocation. Pins issue #2 (2026-11-24).
. "$CTW_SRC/tests/regress/lib.sh"

# bad PATH [TEXT]: info fails with exit 2, names PATH and says TEXT.
bad() {
	run 2 "$CTW" info "$1"
	error_names "$1"
	[ $# -lt 2 ] || has "$T/err" "$2"
	[ "$(grep -c 'error:' "$T/err")" -eq 1 ] || fail "not exactly one error line for $1"
}

"$CTW" -q phantom --kind lv --spacing 3 -o "$T/ph" >/dev/null || fail "phantom"
gunzip -c "$T/ph/image.nii.gz" >"$T/good.nii"
run 0 "$CTW" info "$T/good.nii"

# patch NAME OFFSET OCTAL-BYTES: a copy of good.nii with bytes replaced
patch() {
	cp "$T/good.nii" "$T/$1"
	printf "$3" | dd of="$T/$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

bad "$T/missing.nii.gz" "No such file"
mkdir "$T/notdicom" && echo hello >"$T/notdicom/a.txt"
bad "$T/notdicom" "no DICOM image series"
mkdir "$T/emptydir"
bad "$T/emptydir" "no DICOM image series"
head -c 5000 "$T/ph/image.nii.gz" >"$T/trunc.nii.gz"
bad "$T/trunc.nii.gz" "truncated"
head -c 100 "$T/ph/image.nii.gz" >"$T/trunc-header.nii.gz"
bad "$T/trunc-header.nii.gz" "truncated"
head -c 20000 "$T/good.nii" >"$T/trunc.nii"
bad "$T/trunc.nii" "truncated"
: >"$T/empty.nii"
bad "$T/empty.nii" "truncated NIfTI header"
patch zero.nii 80 '\000\000\000\000'
bad "$T/zero.nii" "voxel size along axis 0 is 0"
patch nan.nii 84 '\000\000\300\177'
bad "$T/nan.nii" "voxel size along axis 1 is nan"
patch huge.nii 42 '\060\165\060\165\060\165' # 30000^3 voxels
bad "$T/huge.nii" "more than"
gzip -c "$T/huge.nii" >"$T/huge.nii.gz"
bad "$T/huge.nii.gz" "more than"
patch negdim.nii 44 '\373\377' # -5
bad "$T/negdim.nii" "dimension 2 is -5"
# NRRD and MetaImage headers claiming absurd sizes are refused before any allocation
printf 'NRRD0004\ntype: short\ndimension: 3\nsizes: 100000 100000 100000\nencoding: raw\nendian: little\n\n' >"$T/huge.nrrd"
bad "$T/huge.nrrd" "exceed the limit"
printf 'ObjectType = Image\nNDims = 3\nDimSize = 90000 90000 90000\nElementType = MET_FLOAT\nElementSpacing = 1 1 1\nElementDataFile = LOCAL\n' >"$T/huge.mha"
bad "$T/huge.mha" "exceed the limit"
printf 'ObjectType = Image\nNDims = 3\nDimSize = 2 2 2\nElementType = MET_SHORT\nElementSpacing = 1 nan 1\nElementDataFile = LOCAL\n0123456789abcdef' >"$T/nan.mha"
bad "$T/nan.mha"
echo "this is not an image" >"$T/text.nii.gz"
bad "$T/text.nii.gz"
echo "this is not an image" >"$T/text.nrrd"
bad "$T/text.nrrd"
echo "this is not an image" >"$T/text.mha"
bad "$T/text.mha"
echo "x" >"$T/unknown.xyz"
bad "$T/unknown.xyz" "not an image file"
# a DICOM directory with one corrupted slice among good ones still reads the good series,
# and a directory holding only corrupt files is refused
mkdir "$T/baddcm" && head -c 300 "$T/ph/dicom/IM0001.dcm" >"$T/baddcm/IM0001.dcm"
bad "$T/baddcm" "1 damaged DICOM files skipped"
has "$T/err" "warning: $T/baddcm/IM0001.dcm: skipped: damaged DICOM file"
# damaged files at every length through the header and into the pixel data: never a crash
for n in 0 131 132 140 200 400 700 1000 2000 5000; do
	head -c $n "$T/ph/dicom/IM0002.dcm" >"$T/baddcm/IM0001.dcm"
	bad "$T/baddcm"
done
# a series with a missing slice: info reports it, convert refuses it, --allow-gaps resamples
cp -r "$T/ph/dicom" "$T/gap" && rm "$T/gap/IM0005.dcm"
run 0 "$CTW" info "$T/gap"
has "$T/out" "slice gaps: uneven spacing"
run 2 "$CTW" convert "$T/gap" -o "$T/gap.nii.gz"
error_names "$T/gap"
has "$T/err" "unevenly spaced"
[ ! -e "$T/gap.nii.gz" ] || fail "a refused conversion wrote its output"
run 0 "$CTW" convert "$T/gap" --allow-gaps -o "$T/gap.nii.gz"
has "$T/err" "resampled"
# the resampled grid is the original one: same size, spacing and origin
run 0 "$CTW" info "$T/ph/image.nii.gz"
cp "$T/out" "$T/orig.txt"
run 0 "$CTW" info "$T/gap.nii.gz"
for k in size spacing origin; do
	same "$(field $k)" "$(field $k "$T/orig.txt")" "(gap resampled $k)"
done
# the same series copied twice: two identical images at each position, refused as duplicates (not taken for phases)
mkdir "$T/twice" && for f in "$T"/ph/dicom/*.dcm; do cp "$f" "$T/twice/"; cp "$f" "$T/twice/b-${f##*/}"; done
run 0 "$CTW" info "$T/twice"
has "$T/out" "phases: 2"
run 2 "$CTW" convert "$T/twice" -o "$T/twice.nii.gz"
has "$T/err" "the same image as"
finish
