# t130: DICOM inputs that used to convert with exit 0 and a wrong volume (issue 12, item 6) now
# exit 2 with one error naming the file: a cine image missing (slice 6, phase 3: phase 4's pixels
# were taken for phase 3), a truncated first or last slice (skipped: one slice less), BitsStored >
# BitsAllocated, HighBit inconsistent, RescaleSlope NaN or 0, RescaleIntercept inf, positions 1e300
# or NaN, a degenerate orientation, PixelSpacing 0, Rows not matching the pixel data,
# SamplesPerPixel 3, NumberOfFrames 0, a duplicate image, a syntax that is not the data's.
. "$CTW_SRC/tests/regress/lib.sh"

"$CTW" -q phantom --kind lv --spacing 4 -o "$T/ph" >/dev/null || fail "phantom"
/usr/bin/python3 - "$T/ph/dicom" "$T" <<'PY' >/dev/null || fail "pydicom"
import os, shutil, sys, warnings
import pydicom
from pydicom.dataelem import DataElement
warnings.simplefilter("ignore")
pydicom.config.settings.writing_validation_mode = pydicom.config.IGNORE
src, out = sys.argv[1], sys.argv[2]
names = sorted(os.listdir(src))
mid = len(names) // 2
def case(name, idx, edit):
    d = os.path.join(out, "c-" + name)
    shutil.copytree(src, d)
    p = os.path.join(d, names[idx])
    ds = pydicom.dcmread(p)
    edit(ds)
    ds.save_as(p, write_like_original=True)
    print(name, p)
def raw(kw, v):
    def edit(ds):
        tag = pydicom.datadict.tag_for_keyword(kw)
        ds[tag] = DataElement(tag, "US" if isinstance(v, int) else "LO", v)
    return edit
case("bits-stored", mid, raw("BitsStored", 17))
case("high-bit", mid, raw("HighBit", 11))
case("slope-nan", mid, raw("RescaleSlope", "NaN"))
case("slope-zero", mid, raw("RescaleSlope", "0"))
case("intercept-inf", mid, raw("RescaleIntercept", "inf"))
case("ipp-huge", 0, raw("ImagePositionPatient", "1e300\\0\\0"))
case("ipp-nan", 0, raw("ImagePositionPatient", "NaN\\NaN\\NaN"))
case("iop-degenerate", 0, raw("ImageOrientationPatient", "1\\0\\0\\1\\0\\0"))
case("spacing-zero", mid, raw("PixelSpacing", "0\\0"))
case("rows", mid, raw("Rows", 17))
case("samples", mid, raw("SamplesPerPixel", 3))
case("frames", mid, raw("NumberOfFrames", "0"))
def trunc(name, idx, frac):
    d = os.path.join(out, "c-" + name)
    shutil.copytree(src, d)
    p = os.path.join(d, names[idx])
    b = open(p, "rb").read()
    open(p, "wb").write(b[:int(len(b) * frac)])
    print(name, p)
trunc("trunc-first", 0, 0.5)
trunc("trunc-last", len(names) - 1, 0.9)
trunc("trunc-last-preamble", len(names) - 1, 0.3 * 132 / len(open(os.path.join(src, names[-1]), "rb").read()))
d = os.path.join(out, "c-duplicate")
shutil.copytree(src, d)
shutil.copy(os.path.join(d, names[mid]), os.path.join(d, "zz-copy.dcm"))
print("duplicate", os.path.join(d, "zz-copy.dcm"))
PY
# every case: exit 2, one error line, no output
for c in bits-stored high-bit slope-nan slope-zero intercept-inf ipp-huge ipp-nan iop-degenerate spacing-zero rows samples \
	frames trunc-first trunc-last trunc-last-preamble duplicate; do
	rm -f "$T/o.nii.gz"
	run 2 "$CTW" convert "$T/c-$c" -o "$T/o.nii.gz"
	[ "$(grep -c '^cardiotwin: error:' "$T/err")" -eq 1 ] || fail "$c: not one error line"
	[ ! -e "$T/o.nii.gz" ] || fail "$c: output written"
done
# the file at fault is named, not only the directory
run 2 "$CTW" convert "$T/c-trunc-last" -o "$T/o.nii.gz"
error_names "$T/c-trunc-last/IM00"
run 2 "$CTW" convert "$T/c-slope-nan" -o "$T/o.nii.gz"
error_names "$T/c-slope-nan/IM00.*RescaleSlope"
run 2 "$CTW" convert "$T/c-ipp-huge" -o "$T/o.nii.gz"
error_names "$T/c-ipp-huge/IM0001.dcm: ImagePositionPatient"
run 2 "$CTW" convert "$T/c-bits-stored" -o "$T/o.nii.gz"
error_names "BitsStored 17"
run 2 "$CTW" convert "$T/c-duplicate" -o "$T/o.nii.gz"
error_names "zz-copy.dcm"

# a Sunnybrook cine with the image of slice 6, phase 3 removed
if [ -d "$CTW_DATA/sunnybrook_scd" ]; then
	src="$CTW_DATA/sunnybrook_scd/final_data/dicoms/SCD0000101"
	mkdir "$T/cine"
	cp "$src"/*.dcm "$T/cine/"
	rm "$T/cine/$((20 * 5 + 3)).dcm" # instances 101..120 are one slice, 103 its 3rd phase
	for ph in 3 4 ed; do
		run 2 "$CTW" convert "$T/cine" --phase $ph -o "$T/o.nii.gz"
		error_names "$T/cine: slice .* has 19 images, the other slices 20: phase 3 is missing"
	done
	run 0 "$CTW" info "$T/cine"
	has "$T/out" "phase 3 is missing"
elif [ "${CI:-}" = true ]; then
	fail "$CTW_DATA missing"
else
	echo "skip: no $CTW_DATA (the cine case)"
fi
finish
