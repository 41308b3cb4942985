# t107: malformed but common DICOM keeps working: compressed transfer syntaxes GDCM decodes
# (JPEG lossless, JPEG-LS, JPEG 2000, RLE; made with gdcmconv) give the same voxels and geometry
# as the uncompressed files; missing optional tags (TriggerTime, SliceThickness, descriptions,
# dates, ...) change nothing; invalid UIDs (leading zeros, as in Sunnybrook) are read.
# Pins issue #3 (2026-11-24).
. "$CTW_SRC/tests/regress/lib.sh"
need_data sunnybrook_scd || exit 0

export CTW_SALT_FILE="$T/salt"
head -c 32 /dev/urandom >"$CTW_SALT_FILE"
src="$CTW_DATA/sunnybrook_scd/final_data/dicoms/SCD0000101"
# one phase (instances 1, 21, ..., 221) as a single-phase series
mkdir "$T/raw"
for s in 0 1 2 3 4 5 6 7 8 9 10 11; do cp "$src/$((20 * s + 1)).dcm" "$T/raw/"; done
run 0 "$CTW" convert "$T/raw" -o "$T/raw.nii"
run 0 "$CTW" convert "$src" --phase ed -o "$T/cine-ed.nii"
cmp -s "$T/raw.nii" "$T/cine-ed.nii" || fail "phase ed of the cine series differs from its files alone"

for syntax in jpeg jpegls j2k rle; do
	mkdir "$T/$syntax"
	for f in "$T"/raw/*.dcm; do
		gdcmconv --$syntax "$f" "$T/$syntax/${f##*/}" || fail "gdcmconv --$syntax"
	done
	cmp -s "$T/raw/1.dcm" "$T/$syntax/1.dcm" && fail "$syntax: gdcmconv did not recompress"
	run 0 "$CTW" convert "$T/$syntax" -o "$T/$syntax.nii"
	cmp -s "$T/raw.nii" "$T/$syntax.nii" || fail "$syntax: voxels or geometry differ from the uncompressed series"
done

# optional tags removed from every file
mkdir "$T/bare"
/usr/bin/python3 - "$T/raw" "$T/bare" <<'PY' || fail "pydicom"
import sys, glob, os, warnings
import pydicom
warnings.simplefilter("ignore")
for f in glob.glob(sys.argv[1] + "/*.dcm"):
    d = pydicom.dcmread(f)
    for k in ("TriggerTime", "SliceThickness", "SpacingBetweenSlices", "SeriesDescription", "Manufacturer",
              "MagneticFieldStrength", "StudyDate", "SeriesDate", "InstanceNumber", "SliceLocation",
              "RescaleSlope", "RescaleIntercept", "StudyInstanceUID", "PatientName"):
        if k in d: del d[k]
    d.save_as(os.path.join(sys.argv[2], "x" + os.path.basename(f)))
PY
run 0 "$CTW" convert "$T/bare" -o "$T/bare.nii.gz"
gunzip -c "$T/bare.nii.gz" | cmp -s "$T/raw.nii" - || fail "missing optional tags changed the result"
has "$T/bare.json" '"study_year": null'
has "$T/bare.json" '"study_uid_derived": true'
grep -q '_hmac_sha256": ""' "$T/bare.json" && fail "an empty hash in the study record"
has "$T/bare.json" '"manufacturer": ""'
run 0 "$CTW" info "$T/bare"
has "$T/out" "description: (none)"
finish
