# t132: series without UIDs (issue 12, item 16) get ids of their own (a keyed hash of stable
# attributes, never 000000000000) and the study record has no empty hash, saying which hashes are
# derived; `info` prints one slice spacing (item 17), the grid's, with a note when uneven.
. "$CTW_SRC/tests/regress/lib.sh"

"$CTW" -q phantom --kind lv --spacing 4 -o "$T/ph" >/dev/null || fail "phantom"
mkdir "$T/nouid" "$T/one"
/usr/bin/python3 - "$T/ph/dicom" "$T" <<'PY' || fail "pydicom"
import os, sys, warnings
import pydicom
warnings.simplefilter("ignore")
src, out = sys.argv[1:3]
names = sorted(os.listdir(src))
for sn in (1, 2):
    for nm in names[:5]:
        d = pydicom.dcmread(os.path.join(src, nm))
        del d.SeriesInstanceUID
        d.SeriesNumber = sn
        if sn == 1:
            del d.StudyInstanceUID
            d.save_as(os.path.join(out, "one", nm))
        d.save_as(os.path.join(out, "nouid", "%d-%s" % (sn, nm)))
PY
run 0 "$CTW" info "$T/nouid"
ids=$(sed -n 's/^  id: //p' "$T/out" | sort -u | tr '\n' ' ')
[ "$(echo $ids | wc -w)" -eq 2 ] || fail "two series without UIDs: ids '$ids', expected two different ones"
case "$ids" in *000000000000*) fail "an id of zeros: $ids" ;; esac
first=$(echo $ids | cut -d' ' -f1)
run 0 "$CTW" convert "$T/nouid" --series "$first" -o "$T/a.nii.gz"
run 0 "$CTW" convert "$T/one" -o "$T/o.nii.gz"
grep -q '_hmac_sha256": ""' "$T/o.json" && fail "an empty hash in the study record"
has "$T/o.json" '"study_uid_derived": true'
has "$T/o.json" '"series_uid_derived": true'
id=$(sed -n 's/.*"series_uid_hmac_sha256": "\(............\).*/\1/p' "$T/o.json")
"$CTW" info "$T/one" | grep -q "  id: $id" || fail "the record's series hash does not start with the id info prints"

# one slice spacing: the grid's (the third spacing), once; uneven slices noted beside it
run 0 "$CTW" info "$T/ph/dicom"
k=$(field spacing | cut -d' ' -f3)
same "$(field 'slice spacing')" "$k mm"
mkdir "$T/gap"
cp "$T"/ph/dicom/*.dcm "$T/gap/" && rm "$T/gap/IM0010.dcm"
run 0 "$CTW" info "$T/gap"
k=$(field spacing | cut -d' ' -f3)
case "$(field 'slice spacing')" in "$k mm (uneven: 4 to 8 mm between positions;"*) ;; *) fail "uneven: '$(field 'slice spacing')', spacing k $k" ;; esac
finish
