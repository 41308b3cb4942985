# t180: every input mode of `run` end to end, at a coarse edge length (3 mm) so each takes
# seconds (issue 21). Each mode ends in a package `verify` accepts; its case-file form, run into
# the same directory, must be the same plan (every stage and the export skipped as unchanged);
# each conflict ends in an error naming the options or the file.
. "$CTW_SRC/tests/regress/lib.sh"

E="--edge-length 3"
cd "$T" || exit 1

# ok NAME ARGS...: `run ARGS -o NAME` makes a package that verify accepts
ok() {
	name=$1
	shift
	run 0 "$CTW" run "$@" -o "$name"
	grep -q "^run: package $name/case" "$T/out" || fail "$name: no package line"
	cp "$T/out" "$T/$name.out"
	run 0 "$CTW" verify "$name/case"
}
# same_plan NAME CASE.xml: the case file's run into NAME's directory changes nothing
same_plan() {
	run 0 "$CTW" run "$2" -o "$1"
	for st in segment mesh fibers; do
		grep -q "^run: $st: inputs and parameters unchanged, skipped" "$T/out" ||
			{ fail "$1: the case file $2 is not the same plan ($st ran again)"; sed 's/^/  /' "$T/out" >&2; }
	done
	grep -q "^run: export: package unchanged, skipped" "$T/out" || fail "$1: $2 re-exported"
}
# xml FILE INPUT MODEL: a case file with id "case", the input elements INPUT, edge length 3
xml() {
	printf '<?xml version="1.0"?>\n<case id="case">\n  <input>%s</input>\n  <model>%s</model>\n  <mesh edge-length="3"/>\n</case>\n' "$2" "$3" >"$1"
}

# 1. the phantoms
ok ph-lv --phantom lv --spacing 2 $E
xml ph-lv.xml '<phantom kind="lv" spacing="2"/>' lv
same_plan ph-lv ph-lv.xml
ok ph-biv --phantom biv --spacing 2 $E
xml ph-biv.xml '<phantom kind="biv" spacing="2"/>' biv
same_plan ph-biv ph-biv.xml

# 2. a NIfTI image with a label map: the program's own canonical map (found by --preset auto)
# and one map per preset family, made from the phantom's truth with that family's public codes
"$CTW" -q phantom --kind biv --spacing 2 -o ph >/dev/null || fail "phantom"
ok canon --image ph/image.nii.gz --labels ph/labels.nii.gz --model biv $E
xml canon.xml '<image path="ph/image.nii.gz"/><labels path="ph/labels.nii.gz"/>' biv
same_plan canon canon.xml
PYTHONPATH="$CTW_SRC/tests/regress" /usr/bin/python3 - <<'PY' || fail "family maps"
import numpy as np, labelmaps as lm
a, m = lm.read_nifti("ph/labels.nii.gz")
sp = np.linalg.norm(m[:3, :3], axis=0)
# (name, {canonical label: family code}); 103 (RV myocardium) where the family has one
fam = {"acdc": {1: 3, 2: 2, 3: 1},                 # ACDC / M&Ms: 1 RV, 2 myocardium, 3 LV
       "mmwhs": {1: 500, 2: 205, 3: 600},         # MM-WHS: 500 LV, 205 myocardium, 600 RV
       "totalseg": {1: 3, 2: 1, 3: 5}}            # TotalSegmentator heartchambers: 1 myo, 3 LV, 5 RV
for name, f in fam.items():
    w = np.zeros(a.shape, np.int16)
    for c, v in f.items():
        w[a == c] = v
    w[a == 103] = f[2]  # no RV myocardium label: it is myocardium
    lm.write_nrrd(name + ".nrrd", w, spacing=sp, origin=m[:3, 3], direction=m[:3, :3] / sp)
PY
for f in acdc:acdc mmwhs:auto totalseg:totalseg-heartchambers; do
	n=${f%%:*} p=${f#*:}
	ok "$n" --image ph/image.nii.gz --labels "$n.nrrd" --preset "$p" --model biv $E
	run 0 "$CTW" evaluate --ref ph/labels.nii.gz --test "$n/case.work/labels.nii.gz" --labels 1,3
	dice=$(awk -F, '$1 == 1 || $1 == 3 { print $3 }' "$T/out" | sort -n | head -n 1)
	[ -n "$dice" ] && awk -v d="$dice" 'BEGIN { exit !(d >= 0.9) }' || fail "$n: blood Dice $dice < 0.9 against the phantom"
done
xml mmwhs.xml '<image path="ph/image.nii.gz"/><labels path="mmwhs.nrrd" preset="auto"/>' biv
same_plan mmwhs mmwhs.xml
# a label map alone (no image) and --model lv from a biv map
ok alone --labels ph/labels.nii.gz --model lv $E
xml alone.xml '<labels path="ph/labels.nii.gz"/>' lv
same_plan alone alone.xml

need_data sunnybrook_scd || { finish; exit 0; }
# 3. a DICOM cine with a label map made from its contours (issue 21's example, bare names)
sb="$CTW_DATA/sunnybrook_scd/final_data"
ln -s "$sb/dicoms/SCD0000101" SCD0000101
ln -s "$sb/contourfiles/SC-HF-I-1" SC-HF-I-1
run 0 "$CTW" contours --dicom SCD0000101/ --contours SC-HF-I-1/ --phase 19 -o ./c.nii.gz
ok cine19 --image SCD0000101/ --phase 19 --labels ./c.nii.gz --model lv $E
grep -q "phase 19 of 20" cine19.out || fail "cine19: the phase is not reported"
xml cine19.xml '<image path="SCD0000101/" phase="19"/><labels path="./c.nii.gz"/>' lv
same_plan cine19 cine19.xml
ok cine-ed --image SCD0000101 --phase ed --labels c.nii.gz --model lv $E
grep -q "phase 1 of 20 (ed = phase 1 of 20: the smallest trigger time" cine-ed.out || fail "cine-ed: the rule is not reported"
grep -q "phase_chosen" cine-ed/case/provenance.xml || fail "cine-ed: the phase rule is not in the provenance"
# the same map through a NIfTI of that phase: the canonical map under --preset auto
run 0 "$CTW" convert SCD0000101 --phase 19 -o img.nii.gz
ok cine-nii --image img.nii.gz --labels c.nii.gz $E

# 4. a DICOM cine with contours: the default phase (ed) and an explicit one
ok con-ed --image SCD0000101 --contours SC-HF-I-1 $E
xml con-ed.xml '<image path="SCD0000101"/><contours dir="SC-HF-I-1"/>' lv
same_plan con-ed con-ed.xml
ok con-19 --image SCD0000101 --contours SC-HF-I-1 --phase 19 $E

# 5. conflicts: the options or the file named, nothing written
run 1 "$CTW" run --image SCD0000101 --labels c.nii.gz --contours SC-HF-I-1 -o bad
has "$T/err" "--labels and --contours"
run 1 "$CTW" run --phantom lv --image ph/image.nii.gz -o bad
has "$T/err" "--phantom and --image"
run 1 "$CTW" run --phantom lv --phase 2 -o bad
has "$T/err" "--phase"
run 1 "$CTW" run --image SCD0000101 -o bad
has "$T/err" "--labels PATH or --contours DIR"
run 2 "$CTW" run --image ph/image.nii.gz --phase 2 --labels ph/labels.nii.gz -o bad
error_names ph/image.nii.gz
has "$T/err" "no phase 2: the image has 1 volume"
xml bad.xml '<image path="ph/image.nii.gz" phase="2"/><labels path="ph/labels.nii.gz"/>' lv
run 2 "$CTW" run bad.xml -o bad
error_names ph/image.nii.gz
run 2 "$CTW" run --image ph/image.nii.gz --labels c.nii.gz --model lv $E -o bad
error_names c.nii.gz
has "$T/err" "lie outside the grid of the image"
run 2 "$CTW" run --labels c.nii.gz --model biv $E -o bad
error_names c.nii.gz
has "$T/err" "rv_blood"
run 2 "$CTW" run --image SCD0000101 --phase 21 --labels c.nii.gz $E -o bad
error_names SCD0000101
[ ! -e bad/case ] || fail "a refused run wrote a package"
finish
