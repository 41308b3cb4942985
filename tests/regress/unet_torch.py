#!/usr/bin/python3
"""t190's helper: the segmenter's C inference (unet_run) against PyTorch's on a random network.

    unet_torch.py UNET_RUN ACDC_DIR WORKDIR [CHECKPOINT.pt]

Exports a randomly initialised network (segment/train/export.py --random), takes a few slices of
ACDC validation patients (normalised as the training data: per volume clipped at the 99th
percentile, min-max to 0..1; centre-cropped/padded to a multiple of 16), runs both, and prints
the max abs difference of the logits. With CHECKPOINT.pt (train.py's), that network instead. Exit 0 when it is <= 1e-3, 1 otherwise; prints
'skip: ...' and exits 0 when torch or h5py is missing."""
import glob
import os
import subprocess
import sys

try:
    import numpy as np
    import torch
    import h5py
except ImportError as e:  # CI has no torch (install-deps --train installs it)
    print("skip: no python3-torch or python3-h5py (%s)" % e)
    sys.exit(0)

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN = os.path.join(HERE, "..", "..", "segment", "train")
sys.path.insert(0, TRAIN)
import export  # noqa: E402
from model import UNet  # noqa: E402


def fit(img, side):
    """Centre crop / zero pad a 2-D slice to side x side."""
    out = np.zeros((side, side), np.float32)
    H, W = img.shape
    sy, sx = max(0, (H - side) // 2), max(0, (W - side) // 2)
    dy, dx = max(0, (side - H) // 2), max(0, (side - W) // 2)
    h, w = min(H, side), min(W, side)
    out[dy:dy + h, dx:dx + w] = img[sy:sy + h, sx:sx + w]
    return out


def main():
    unet_run, acdc, work = sys.argv[1:4]
    torch.manual_seed(7)
    torch.set_num_threads(1)
    net = UNet()
    for m in net.modules():  # as export.py --random: non-trivial batch-norm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    if len(sys.argv) > 4:
        net.load_state_dict(torch.load(sys.argv[4], map_location="cpu")["net"])
    net.eval()
    wpath = os.path.join(work, "unet.bin")
    sha, _ = export.write(net, wpath)
    val = [l.split()[1] for l in open(os.path.join(TRAIN, "split.txt"))
           if l.split() and l.split()[0] == "val"][:3]
    slices = []
    for pid in val:
        f = sorted(glob.glob(os.path.join(acdc, "**", pid + "_frame*.h5"), recursive=True))[0]
        with h5py.File(f, "r") as h:
            v = np.asarray(h["image"], np.float32)
        v = np.minimum(v, np.percentile(v, 99))
        v = (v - v.min()) / max(float(v.max() - v.min()), 1e-6)
        for s in (v.shape[0] // 3, v.shape[0] // 2):
            slices.append(fit(v[s], 144))
    x = np.stack(slices).astype("<f4")
    n, H, W = x.shape
    x.tofile(os.path.join(work, "in.f32"))
    with torch.no_grad():
        ref = net(torch.from_numpy(x)[:, None]).numpy()
    for threads in (1, 2):
        out = os.path.join(work, "out%d.f32" % threads)
        r = subprocess.run([unet_run, wpath, os.path.join(work, "in.f32"), str(n), str(H), str(W), out,
                            str(threads), sha], capture_output=True, text=True)
        if r.returncode:
            print("unet_run failed (%d): %s" % (r.returncode, r.stderr))
            return 1
    c1 = np.fromfile(os.path.join(work, "out1.f32"), "<f4").reshape(ref.shape)
    c2 = np.fromfile(os.path.join(work, "out2.f32"), "<f4").reshape(ref.shape)
    d = float(np.abs(c1 - ref).max())
    print("%d slices %dx%d, logits in [%.3g, %.3g], max abs difference C vs torch %.3g"
          % (n, H, W, float(ref.min()), float(ref.max()), d))
    ok = d <= 1e-3
    if not np.array_equal(c1.view(np.uint32), c2.view(np.uint32)):
        print("1 and 2 threads differ")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
