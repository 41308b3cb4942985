# t186: evaluate --contours on the Sunnybrook cases (issue 13, section 3). The expert contours
# scored against the program's own `contours` maps of the same phases (ED and ES) are all good,
# Dice >= 0.99 and APD < 0.5 mm (the outline's half-pixel steps); against maps made from the same
# contours translated by 5 px along x and y (9.7 mm), the APD is about the shift (the mean
# distance of a translated circle to itself is 2/pi of the shift) and fewer contours are good.
. "$CTW_SRC/tests/regress/lib.sh"
need_data sunnybrook_scd || { finish; exit 0; }
sb="$CTW_DATA/sunnybrook_scd/final_data"
for c in "SCD0000101 SC-HF-I-1" "SCD0000301 SC-HF-I-4"; do
	set -- $c
	d="$sb/dicoms/$1" cdir="$sb/contourfiles/$2"
	run 0 "$CTW" contours --dicom "$d" --contours "$cdir" -o "$T/$1-ed.nii.gz"
	# the ES phase: the smallest expert blood pool (evaluate names it; the ED map is on its grid too)
	run 0 "$CTW" evaluate --contours "$cdir" --dicom "$d" --test "es=$T/$1-ed.nii.gz"
	es=$(sed -n 's/^# es: phase \([0-9]*\) .*/\1/p' "$T/out")
	[ -n "$es" ] || { fail "$1: no es phase"; continue; }
	run 0 "$CTW" contours --dicom "$d" --contours "$cdir" --phase "$es" -o "$T/$1-es.nii.gz"
	run 0 "$CTW" evaluate --contours "$cdir" --dicom "$d" --test "ed=$T/$1-ed.nii.gz,es=$T/$1-es.nii.gz"
	cp "$T/out" "$T/$1.scores"
	# the same contours translated by (5, 5) px, rasterised the same way
	mkdir -p "$T/$1-shift"
	/usr/bin/python3 - "$cdir" "$T/$1-shift" <<'PY' || fail "$1: shifted contours"
import os, sys
src, dst = sys.argv[1:]
for root, _, files in os.walk(src):
    for f in files:
        if "-icontour-" in f or "-ocontour-" in f:
            pts = [l.split() for l in open(os.path.join(root, f)) if l.strip()]
            with open(os.path.join(dst, f), "w") as out:
                out.write("".join(f"{float(x) + 5} {float(y) + 5}\n" for x, y in pts))
PY
	run 0 "$CTW" contours --dicom "$d" --contours "$T/$1-shift" -o "$T/$1-sh-ed.nii.gz"
	run 0 "$CTW" contours --dicom "$d" --contours "$T/$1-shift" --phase "$es" -o "$T/$1-sh-es.nii.gz"
	run 0 "$CTW" evaluate --contours "$cdir" --dicom "$d" --test "ed=$T/$1-sh-ed.nii.gz,$es=$T/$1-sh-es.nii.gz"
	cp "$T/out" "$T/$1.shifted"
	/usr/bin/python3 - "$T/$1.scores" "$T/$1.shifted" "$d" <<'PY' || fail "$1: scores"
import csv, io, math, re, sys
import pydicom, glob
def read(p):
    text = open(p).read()
    rows = list(csv.DictReader(io.StringIO("".join(l for l in text.splitlines(True) if not l.startswith("#")))))
    summ = {m.group(1): (int(m.group(2)), int(m.group(3)), float(m.group(4)), float(m.group(5)))
            for m in re.finditer(r"^# (endo|epi): (\d+) contours, (\d+) good .*mean dice ([0-9.na]+), mean apd ([0-9.na]+) mm$", text, re.M)}
    return text, rows, summ
f = sorted(glob.glob(sys.argv[3] + "/*.dcm"))[0]
px = float(pydicom.dcmread(f, stop_before_pixels=True).PixelSpacing[0])
shift = 5 * math.sqrt(2) * px
text, rows, summ = read(sys.argv[1])
n = len(rows)
assert n >= 20 and {r["phase"] for r in rows} and len({r["phase"] for r in rows}) == 2, text
for r in rows:
    assert float(r["dice"]) >= 0.99 and float(r["apd_mm"]) < 0.5 and r["good"] == "1", r
for k in ("endo", "epi"):
    c, g, dice, apd = summ[k]
    assert c > 0 and g == c and dice >= 0.99 and apd < 0.5, (k, summ[k])
assert "left out" not in text, text
text2, rows2, summ2 = read(sys.argv[2])
assert len(rows2) == n, text2
apd = sum(float(r["apd_mm"]) for r in rows2) / n
assert 0.5 * shift < apd < 1.0 * shift, (apd, shift)
good = sum(r["good"] == "1" for r in rows2)
assert good < n, text2
assert all(float(r["dice"]) < 0.95 for r in rows2), text2
print(f"{sys.argv[3]}: own maps: endo {summ['endo']}, epi {summ['epi']}; shifted by {shift:.2f} mm: mean apd {apd:.2f} mm, {good}/{n} good")
PY
done
finish
