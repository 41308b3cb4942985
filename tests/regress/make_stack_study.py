#!/usr/bin/python3
"""make_stack_study.py SRC OUT [VARIANT...]: from a one-series cine study SRC (one short-axis stack,
several slice positions x phases), writes OUT as scanners often export it: one series per slice
position (new SeriesInstanceUID, SeriesNumber and SOPInstanceUIDs; StudyInstanceUID, InstanceNumber
and pixels kept) plus two long-axis-like series (the phases of the middle slice with the orientation
turned 90 degrees about the row, resp. the column, axis). Variants (for the grouping rules):
  dup     a second series imaging the first slice position again (same positions, new UIDs)
  phases  the last slice position's series with one phase fewer (left out of the stack)
  tilt    the last slice position's series turned by 1.5 degrees (not parallel: its own stack)
  grid    the last slice position's series with another pixel spacing (not the stack's grid)
  nolax   no long-axis series
Prints the number of slice positions and the series number of each position, in order."""
import copy
import glob
import math
import os
import sys
import warnings

import numpy as np
import pydicom
from pydicom.uid import generate_uid

warnings.filterwarnings("ignore")


def rotate(v, axis, deg):
    """v rotated by deg about the unit vector axis (Rodrigues)."""
    a = math.radians(deg)
    v, k = np.asarray(v, float), np.asarray(axis, float)
    return v * math.cos(a) + np.cross(k, v) * math.sin(a) + k * np.dot(k, v) * (1 - math.cos(a))


def save(ds, series_uid, series_number, path):
    ds = copy.deepcopy(ds)
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.save_as(path)


def main():
    src, out, variants = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    files = [pydicom.dcmread(p) for p in sorted(glob.glob(os.path.join(src, "*.dcm")))]
    iop = [float(x) for x in files[0].ImageOrientationPatient]
    row, col = np.array(iop[:3]), np.array(iop[3:])
    nrm = np.cross(row, col)
    by_pos = {}
    for ds in files:
        key = round(float(np.dot(nrm, [float(x) for x in ds.ImagePositionPatient])), 2)
        by_pos.setdefault(key, []).append(ds)
    keys = sorted(by_pos)
    numbers = []
    for p, key in enumerate(keys):
        uid, number = generate_uid(), 1000 + p
        numbers.append(number)
        group = sorted(by_pos[key], key=lambda d: float(d.TriggerTime))
        last = p == len(keys) - 1
        if last and "phases" in variants:
            group = group[:-1]
        for ds in group:
            ds = copy.deepcopy(ds)
            if last and "tilt" in variants:
                r = rotate(row, col, 1.5)
                ds.ImageOrientationPatient = [f"{x:.6f}" for x in list(r) + list(col)]
            if last and "grid" in variants:
                ds.PixelSpacing = ["1.5", "1.5"]
            save(ds, uid, number, os.path.join(out, f"sa{p:02d}", f"IM{int(ds.InstanceNumber):04d}.dcm"))
    if "dup" in variants:
        uid = generate_uid()
        for ds in by_pos[keys[0]]:
            save(ds, uid, 1900, os.path.join(out, "sa_again", f"IM{int(ds.InstanceNumber):04d}.dcm"))
    if "nolax" not in variants:
        mid = sorted(by_pos[keys[len(keys) // 2]], key=lambda d: float(d.TriggerTime))
        for n, (axis, name) in enumerate(((row, "lax_a"), (col, "lax_b"))):
            uid = generate_uid()
            r, c = rotate(row, axis, 90), rotate(col, axis, 90)
            for i, ds in enumerate(mid):
                ds = copy.deepcopy(ds)
                ds.ImageOrientationPatient = [f"{x:.6f}" for x in list(r) + list(c)]
                ds.InstanceNumber = 5000 + 100 * n + i
                save(ds, uid, 2000 + n, os.path.join(out, name, f"IM{i + 1:04d}.dcm"))
    print(len(keys), " ".join(str(x) for x in numbers))


if __name__ == "__main__":
    main()
