# t185: evaluate --contours against closed forms (issue 13, section 3): expert circles scored
# against a map of concentric discs of other radii, on the phantom's DICOM series (1.5 mm pixels,
# one phase). The APD of a disc of radius a against a circle of radius b is |a - b| (the outline
# of the rasterised disc lies on the circle up to its half-pixel steps, which average out), the
# Dice of concentric discs 2 min(a,b)^2 / (a^2 + b^2); a slice where the map is empty is a missing
# contour (Dice 0, not good); --good-mm moves the good threshold; --labels names other labels.
. "$CTW_SRC/tests/regress/lib.sh"
run 0 "$CTW" phantom --kind lv --spacing 1.5 -o "$T/ph"
# the map: discs of 8 px (blood) and 14 px (blood + myocardium) on slices of instances 40..44,
# rasterised from circles by `contours`; the expert: circles of 11 px and 12 px on the same
# slices and on instance 50 (nothing in the map there)
/usr/bin/python3 - "$T" <<'PY' || fail "circle files"
import math, os, sys
t = sys.argv[1]
def circle(d, inst, kind, r, cx=50.3, cy=43.6, n=240):
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/IM-0001-{inst:04d}-{kind}contour-manual.txt", "w") as f:
        for k in range(n):
            a = 2 * math.pi * k / n
            f.write(f"{cx + r * math.cos(a):.5f} {cy + r * math.sin(a):.5f}\n")
for i in range(40, 45):
    circle(f"{t}/map", i, "i", 8)
    circle(f"{t}/map", i, "o", 14)
for i in list(range(40, 45)) + [50]:
    circle(f"{t}/exp", i, "i", 11)
    circle(f"{t}/exp", i, "o", 12)
PY
run 0 "$CTW" contours --dicom "$T/ph/dicom" --contours "$T/map" -o "$T/map.nii.gz"
run 0 "$CTW" evaluate --contours "$T/exp" --dicom "$T/ph/dicom" --test "$T/map.nii.gz"
cp "$T/out" "$T/scores"
# each row against the closed forms; the summary as the challenge computes it
/usr/bin/python3 - "$T/scores" <<'PY' || fail "scores against the closed forms"
import csv, io, math, re, sys
text = open(sys.argv[1]).read()
rows = list(csv.DictReader(io.StringIO("".join(l for l in text.splitlines(True) if not l.startswith("#")))))
assert len(rows) == 12, rows
px = 1.5
want = {"endo": (3 * px, 2 * 64 / (64 + 121)), "epi": (2 * px, 2 * 144 / (144 + 196))}
bad = []
for r in rows:
    apd, dice = want[r["kind"]]
    if r["instance"] == "50":
        if not (r["apd_mm"] == "" and float(r["dice"]) == 0 and r["good"] == "0"):
            bad.append(("missing contour", r))
        continue
    if abs(float(r["apd_mm"]) - apd) > 0.1 or abs(float(r["apd_sym_mm"]) - apd) > 0.1:
        bad.append(("apd", apd, r))
    if abs(float(r["dice"]) - dice) > 0.01:
        bad.append(("dice", dice, r))
    if r["good"] != "1" or r["phase"] != "1" or int(r["slice"]) != int(r["instance"]) - 1:
        bad.append(("good/phase/slice", r))
for kind in want:
    m = re.search(r"^# %s: 6 contours, 5 good \(83\.3 %%\), 1 missing; good contours: mean dice ([0-9.]+), mean apd ([0-9.]+) mm$" % kind, text, re.M)
    if not m or abs(float(m.group(1)) - want[kind][1]) > 0.01 or abs(float(m.group(2)) - want[kind][0]) > 0.1:
        bad.append(("summary", kind))
if bad:
    print(text)
    for b in bad:
        print(b)
    sys.exit(1)
PY
# a threshold below the endocardial APD (4.5 mm): no good endocardium, means undefined
run 0 "$CTW" evaluate --contours "$T/exp" --dicom "$T/ph/dicom" --test "1=$T/map.nii.gz" --good-mm 4
has "$T/out" "# endo: 6 contours, 0 good (0.0 %), 1 missing; good contours: mean dice nan, mean apd nan mm"
has "$T/out" "# epi: 6 contours, 5 good (83.3 %), 1 missing"
# --labels: the myocardium named as the blood pool gives the ring (8..14 px) as the automatic
# endocardial mask: Dice 2 (11^2 - 8^2) / ((14^2 - 8^2) + 11^2); its outline is the ring's outer
# loop (the largest), 3 px from the expert's 11 px circle
run 0 "$CTW" evaluate --contours "$T/exp" --dicom "$T/ph/dicom" --test "$T/map.nii.gz" --labels 2,1
/usr/bin/python3 - "$T/out" <<'PY' || fail "--labels 2,1"
import sys
rows = [r for r in (l.split(",") for l in open(sys.argv[1])) if len(r) == 9 and r[1] == "endo" and r[4] != "50"]
assert len(rows) == 5, rows
for r in rows:
    assert abs(float(r[5]) - 2 * 57 / 253) < 0.01 and abs(float(r[6]) - 4.5) < 0.1, r
PY
finish
