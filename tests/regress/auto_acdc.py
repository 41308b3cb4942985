"""auto_acdc.py: `segment --auto mr` on the ACDC validation patients (segment/train/split.txt,
never trained on), scored by 3-D Dice per label against the expert labels, per patient averaged
over ED and ES, then over the patients (issue 13, the measure of the issue's targets).

    /usr/bin/python3 auto_acdc.py CTW ACDC_DIR SPLIT WORK LV MYO RV [N_PATIENTS]
    /usr/bin/python3 auto_acdc.py write OUT.nii FRAME.h5 [FRAME.h5 ...]   (a 4-D cine of several)

Each validation volume (ACDC's HDF5: image and label, no spacing) is written as a NIfTI-1 file
of 1.5 x 1.5 x 10 mm voxels (ACDC's pixels are 1.37-1.68 mm, its slices 5-10 mm apart) with
the image's own intensities, segmented with `--iso 0 --pad 0` (the labels stay on its grid) and
read back with VTK's NIfTI reader. Fails (exit 1) when a mean Dice is below LV, MYO or RV.
"""
import glob
import os
import struct
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labelmaps  # noqa: E402

ACDC_TO_CANON = np.array([0, 3, 2, 1], np.int64)  # ACDC 1 RV, 2 MYO, 3 LV -> 3, 2, 1


def write_nifti(path, a, spacing):
    """a[k, j, i] (or a[t, k, j, i]: a 4-D cine) float32 as NIfTI-1 (.nii), the sform a scaling."""
    nt = a.shape[0] if a.ndim == 4 else 1
    nz, ny, nx = a.shape[-3:]
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, 4 if a.ndim == 4 else 3, nx, ny, nz, nt, 1, 1, 1)
    struct.pack_into("<hh", h, 70, 16, 32)  # float32
    struct.pack_into("<8f", h, 76, 1.0, spacing[0], spacing[1], spacing[2], 1, 1, 1, 1)
    struct.pack_into("<f", h, 108, 352.0)  # vox_offset
    struct.pack_into("<f", h, 112, 1.0)  # scl_slope
    struct.pack_into("<h", h, 252, 0)  # qform_code
    struct.pack_into("<h", h, 254, 2)  # sform_code: aligned
    struct.pack_into("<4f", h, 280, spacing[0], 0, 0, 0)
    struct.pack_into("<4f", h, 296, 0, spacing[1], 0, 0)
    struct.pack_into("<4f", h, 312, 0, 0, spacing[2], 0)
    h[344:348] = b"n+1\0"
    with open(path, "wb") as f:
        f.write(bytes(h) + b"\0\0\0\0" + np.ascontiguousarray(a, "<f4").tobytes())


def dice(a, b, label):
    x, y = a == label, b == label
    s = x.sum() + y.sum()
    return 1.0 if s == 0 else 2.0 * (x & y).sum() / s


def main():
    if sys.argv[1] == "write":  # write OUT.nii H5 [H5 ...]: the volumes of one or more frames
        vols = [np.asarray(h5py.File(f, "r")["image"], np.float32) for f in sys.argv[3:]]
        write_nifti(sys.argv[2], vols[0] if len(vols) == 1 else np.stack(vols), (1.5, 1.5, 10.0))
        return
    ctw, data, split, work = sys.argv[1:5]
    want = [float(v) for v in sys.argv[5:8]]
    limit = int(sys.argv[8]) if len(sys.argv) > 8 else 0
    val = []
    for line in open(split):
        line = line.split("#")[0].split()
        if len(line) == 2 and line[0] == "val":
            val.append(line[1])
    if limit:
        val = val[:limit]
    per = {}
    for pid in val:
        files = sorted(glob.glob(os.path.join(data, "**", pid + "_frame*.h5"), recursive=True))
        if len(files) != 2:
            sys.exit("FAIL: %s: %d frames, not 2" % (pid, len(files)))
        for f in files:
            with h5py.File(f, "r") as h:
                img = np.asarray(h["image"], np.float32)
                ref = ACDC_TO_CANON[np.asarray(h["label"], np.int64)]
            name = os.path.basename(f)[:-3]
            nii, out = os.path.join(work, name + ".nii"), os.path.join(work, name + "-auto.nii.gz")
            write_nifti(nii, img, (1.5, 1.5, 10.0))
            r = subprocess.run([ctw, "-q", "segment", "--image", nii, "--auto", "mr", "--iso", "0", "--pad", "0",
                                "-o", out], capture_output=True, text=True)
            if r.returncode:
                sys.exit("FAIL: %s: exit %d: %s" % (name, r.returncode, r.stderr))
            lab, _ = labelmaps.read_nifti(out)
            if lab.shape != ref.shape:
                sys.exit("FAIL: %s: labels %s, image %s" % (name, lab.shape, ref.shape))
            d = [dice(lab, ref, l) for l in (1, 2, 3)]
            print("%-22s LV %.3f  MYO %.3f  RV %.3f" % (name, d[0], d[1], d[2]))
            per.setdefault(pid, []).append(d)
    m = np.array([np.mean(v, 0) for v in per.values()]).mean(0)
    print("mean over %d patients (ED and ES averaged): LV %.4f  MYO %.4f  RV %.4f" % (len(per), m[0], m[1], m[2]))
    bad = [n for n, got, w in zip(("LV", "MYO", "RV"), m, want) if got < w]
    if bad:
        sys.exit("FAIL: mean Dice below the threshold for %s (thresholds LV %.2f MYO %.2f RV %.2f)" %
                 (", ".join(bad), want[0], want[1], want[2]))


if __name__ == "__main__":
    main()
