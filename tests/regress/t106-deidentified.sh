# t106: nothing identifying leaves the input. info, convert and contours run on both Sunnybrook
# studies (behind neutral directory names, as a cohort's pseudonyms would be); every byte they
# print or write, decompressed too, is searched for the inputs' PatientName, PatientID,
# PatientBirthDate, InstitutionName, ReferringPhysicianName, AccessionNumber, full dates and
# times, device serial number and every UID (and the unsalted SHA-256 of the UIDs): none may
# appear. Pins issue #3 (2026-11-24).
. "$CTW_SRC/tests/regress/lib.sh"
need_data sunnybrook_scd || exit 0

sb="$CTW_DATA/sunnybrook_scd/final_data"
export CTW_SALT_FILE="$T/salt"
head -c 32 /dev/urandom >"$CTW_SALT_FILE"
mkdir -p "$T/in" "$T/o" "$T/log"
ln -s "$sb/dicoms/SCD0000101" "$T/in/case1"
ln -s "$sb/dicoms/SCD0000301" "$T/in/case2"
ln -s "$sb/contourfiles/SC-HF-I-1" "$T/in/contours1"
ln -s "$sb/contourfiles/SC-HF-I-4" "$T/in/contours2"

for c in 1 2; do
	# capture CMD...: runs verbosely, keeping stdout and stderr as outputs
	k=0
	capture() {
		k=$((k + 1))
		"$CTW" -v "$@" >"$T/log/case$c-$k.out" 2>"$T/log/case$c-$k.err" || fail "case$c: $*"
	}
	capture info "$T/in/case$c"
	capture info "$T/in/case$c/1.dcm"
	capture convert "$T/in/case$c" --phase ed -o "$T/o/case$c-ed.nii.gz"
	capture convert "$T/in/case$c" --phase 7 -o "$T/o/case$c-7.nii"
	capture contours --dicom "$T/in/case$c" --contours "$T/in/contours$c" -o "$T/o/case$c-labels.nii.gz"
	# a failing run's message too
	"$CTW" convert "$T/in/case$c" -o "$T/o/never.nii.gz" >"$T/log/case$c-fail.out" 2>"$T/log/case$c-fail.err"
done
for f in "$T"/o/*.gz; do gunzip -c "$f" >"$f.raw"; done
ls "$T/o" | grep -q json || fail "no study record written"

/usr/bin/python3 - "$T" "$sb/dicoms" <<'PY' || fail "identifying data found in the outputs"
import sys, os, glob, hashlib, warnings
import pydicom
warnings.simplefilter("ignore")
t, dicoms = sys.argv[1], sys.argv[2]
keys = ["PatientName", "PatientID", "PatientBirthDate", "InstitutionName", "InstitutionAddress",
        "ReferringPhysicianName", "AccessionNumber", "StudyDate", "SeriesDate", "AcquisitionDate",
        "ContentDate", "StudyTime", "SeriesTime", "AcquisitionTime", "ContentTime",
        "DeviceSerialNumber", "StationName", "OperatorsName", "PerformingPhysicianName", "StudyID",
        "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID"]
secrets = {}
for f in glob.glob(dicoms + "/*/*.dcm"):
    d = pydicom.dcmread(f, stop_before_pixels=True)
    vals = [(k, d.get(k)) for k in keys] + [("MediaStorageSOPInstanceUID", d.file_meta.get("MediaStorageSOPInstanceUID"))]
    for k, v in vals:
        if v is None: continue
        v = str(v).strip()
        # too short to search for, or an already blanked value ("00000000" dates): no information
        if len(v) < 4 or set(v) <= set("0. "): continue
        secrets[v.encode()] = k
        if k.endswith("UID"):
            secrets[hashlib.sha256(v.encode()).hexdigest().encode()] = "sha256(%s)" % k
files = [p for p in glob.glob(t + "/o/*") + glob.glob(t + "/log/*") if not p.endswith(".gz")]
assert len(files) >= 20, files
found = []
for p in files:
    data = open(p, "rb").read()
    for s, k in secrets.items():
        if s in data:
            found.append("%s: %s (%s)" % (os.path.basename(p), k, s.decode()))
print("%d identifying values searched for in %d outputs" % (len(secrets), len(files)))
if found:
    print("\n".join(sorted(set(found))[:20]))
    sys.exit(1)
PY
# the record carries what it should
has "$T/o/case1-ed.json" '"modality": "MR"'
has "$T/o/case1-ed.json" '"study_year": 2012'
has "$T/o/case1-ed.json" '"magnetic_field_strength_t": 1.5'
# hashes are keyed: another salt gives other hashes, the same salt the same ones
grep series_uid "$T/o/case1-ed.json" >"$T/h1"
"$CTW" -q convert "$T/in/case1" --phase ed -o "$T/again.nii.gz" >/dev/null
grep series_uid "$T/again.json" | cmp -s - "$T/h1" || fail "same salt, different hash"
head -c 32 /dev/urandom >"$T/salt2"
"$CTW" -q --salt-file "$T/salt2" convert "$T/in/case1" --phase ed -o "$T/other.nii.gz" >/dev/null
grep series_uid "$T/other.json" | cmp -s - "$T/h1" && fail "another salt, same hash"
# a salt file that is too short or missing is refused
head -c 4 /dev/urandom >"$T/short"
run 2 "$CTW" --salt-file "$T/short" info "$T/in/case1"
has "$T/err" "at least 16"
run 2 "$CTW" --salt-file "$T/nosuch" info "$T/in/case1"
error_names "$T/nosuch"
# the installation's salt is created once, private
env -u CTW_SALT_FILE XDG_CONFIG_HOME="$T/cfg" "$CTW" -q info "$T/in/case1" >"$T/i1" || fail "info with a new salt"
[ "$(stat -c %a "$T/cfg/cardiotwin/salt")" = 600 ] || fail "the salt file is not private"
env -u CTW_SALT_FILE XDG_CONFIG_HOME="$T/cfg" "$CTW" -q info "$T/in/case1" >"$T/i2"
cmp -s "$T/i1" "$T/i2" || fail "the installation's salt changed between runs"
finish
