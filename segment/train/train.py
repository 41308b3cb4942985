#!/usr/bin/python3
"""Trains cardiotwin's cine MR short-axis segmenter (issue 13) on ../shared/data/acdc.

    /usr/bin/python3 segment/train/train.py [--data DIR] [--out DIR] [--epochs N] [--threads N]

A 2-D U-Net (segment/train/ARCHITECTURE.md) labelling each short-axis slice: 0 background,
1 LV blood pool, 2 LV myocardium, 3 RV blood pool (cardiotwin's canonical codes; ACDC's 3, 2, 1).
CPU only (Debian's python3-torch; `scripts/install-deps --train`). Fixed patient split
(split.txt), fixed seeds. Checkpoints every epoch to OUT/checkpoint.pt and resumes from it, so a
killed run goes on where it stopped; the best epoch by validation Dice is kept in OUT/best.pt.
Then `export.py` writes the weights file the C inference reads.

The HDF5 files carry no spacing: their pixels are taken as NOMINAL_MM (ACDC: 1.37-1.68 mm) and
scaled by +-20 % (augmentation) onto the network's grid of NET_MM pixels. Other augmentation:
any rotation, flips (the orientations of other scanners), gamma and contrast, crops anywhere
around the heart (so the network also works on whole images, off-centre hearts).
"""
import argparse
import glob
import math
import os
import random
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import UNet, NET_MM, CROP  # noqa: E402

NOMINAL_MM = 1.5           # the pixel size assumed for the ACDC files
ACDC_TO_CANON = np.array([0, 3, 2, 1], np.int64)  # ACDC 1 RV, 2 MYO, 3 LV -> 3, 2, 1


def read_split(path):
    val = set()
    for line in open(path):
        line = line.split("#")[0].strip()
        if line:
            kind, pid = line.split()
            if kind == "val":
                val.add(pid)
    return val


def load(data, val_ids):
    """[(pid, image (S,H,W) float32 0..1, label (S,H,W) canonical)] for train and val."""
    train, val = [], []
    for f in sorted(glob.glob(os.path.join(data, "**", "patient*_frame*.h5"), recursive=True)):
        pid = os.path.basename(f).split("_")[0]
        with h5py.File(f, "r") as h:
            img = np.asarray(h["image"], np.float32)
            lab = ACDC_TO_CANON[np.asarray(h["label"], np.int64)]
        (val if pid in val_ids else train).append((pid, img, lab))
    return train, val


def augment(img, lab, rng, crop=CROP):
    """One training sample: a crop of crop x crop network pixels from a random slice, by a random
    similarity transform (scale, rotation, flip) about a point near the heart; gamma/contrast."""
    s = rng.randrange(img.shape[0])
    im = torch.from_numpy(img[s])[None, None]
    lb = torch.from_numpy(lab[s].astype(np.float32))[None, None]
    H, W = img.shape[1:]
    ys, xs = np.nonzero(lab[s])
    if len(ys) and rng.random() < 0.9:
        cy = ys.mean() + rng.gauss(0, 25)
        cx = xs.mean() + rng.gauss(0, 25)
    else:
        cy, cx = rng.uniform(0, H - 1), rng.uniform(0, W - 1)
    # network pixel -> source pixel: scale (NET_MM / pixel mm), rotation, flip
    pix_mm = NOMINAL_MM * math.exp(rng.uniform(math.log(0.8), math.log(1.25)))
    k = NET_MM / pix_mm
    a = rng.uniform(0, 2 * math.pi)
    fl = -1.0 if rng.random() < 0.5 else 1.0
    R = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ np.diag([fl, 1.0]) * k
    # grid_sample normalised coordinates (align_corners=False): x_n = (2x + 1) / W - 1
    o = (np.arange(crop) - (crop - 1) / 2.0)
    gx, gy = np.meshgrid(o, o)
    src = np.einsum("ij,jhw->ihw", R, np.stack([gx, gy]))
    sx, sy = src[0] + cx, src[1] + cy
    grid = torch.from_numpy(np.stack([(2 * sx + 1) / W - 1, (2 * sy + 1) / H - 1], -1)[None].astype(np.float32))
    x = F.grid_sample(im, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0]
    y = F.grid_sample(lb, grid, mode="nearest", padding_mode="zeros", align_corners=False)[0, 0].long()
    # intensity: gamma, contrast, brightness, noise; then back to 0..1 like the data
    x = x.clamp(0, 1) ** math.exp(rng.uniform(math.log(0.6), math.log(1.6)))
    x = x * rng.uniform(0.8, 1.2) + rng.uniform(-0.1, 0.1) + torch.randn_like(x) * rng.uniform(0, 0.03)
    return x, y


def dice_loss(logits, y, n=4):
    p = logits.softmax(1)
    oh = F.one_hot(y, n).permute(0, 3, 1, 2).float()
    inter = (p * oh).sum((0, 2, 3))
    den = p.sum((0, 2, 3)) + oh.sum((0, 2, 3))
    return 1 - ((2 * inter + 1) / (den + 1))[1:].mean()


def predict_volume(net, img):
    """Labels of each slice of img (S,H,W) on its own grid: resampled to NET_MM pixels (from
    NOMINAL_MM), padded to a multiple of 16, logits back to the slice grid, argmax."""
    S, H, W = img.shape
    h, w = round(H * NOMINAL_MM / NET_MM), round(W * NOMINAL_MM / NET_MM)
    ph, pw = (-h) % 16, (-w) % 16
    out = np.zeros((S, H, W), np.int64)
    with torch.no_grad():
        x = torch.from_numpy(img)[:, None]
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        lo = net(x)[:, :, ph // 2:ph // 2 + h, pw // 2:pw // 2 + w]
        lo = F.interpolate(lo, size=(H, W), mode="bilinear", align_corners=False)
        out[:] = lo.argmax(1).numpy()
    return out


def dice3d(a, b, l):
    x, y = a == l, b == l
    s = x.sum() + y.sum()
    return 1.0 if s == 0 else 2.0 * (x & y).sum() / s


def validate(net, val):
    net.eval()
    per = {}
    for pid, img, lab in val:
        p = predict_volume(net, img)
        per.setdefault(pid, []).append([dice3d(p, lab, l) for l in (1, 2, 3)])
    net.train()
    d = np.array([np.mean(v, 0) for v in per.values()])  # per patient, averaged over ED and ES
    return d.mean(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data", "acdc"))
    ap.add_argument("--out", default=os.path.join(HERE, "run"))
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--steps", type=int, default=100, help="batches per epoch")
    ap.add_argument("--val-every", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    val_ids = read_split(os.path.join(HERE, "split.txt"))
    train, val = load(a.data, val_ids)
    print("train: %d volumes (%d patients), val: %d volumes (%d patients)" %
          (len(train), len({t[0] for t in train}), len(val), len({v[0] for v in val})), flush=True)
    if not train or not val:
        sys.exit("no data in %s" % a.data)

    torch.manual_seed(a.seed)
    net = UNet()
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=1e-4)
    ck = os.path.join(a.out, "checkpoint.pt")
    start, best, log = 0, -1.0, []
    if os.path.exists(ck):
        st = torch.load(ck)
        net.load_state_dict(st["net"])
        opt.load_state_dict(st["opt"])
        start, best, log = st["epoch"], st["best"], st["log"]
        print("resumed at epoch %d (best %.4f)" % (start, best), flush=True)
    for ep in range(start, a.epochs):
        rng = random.Random(a.seed * 100003 + ep)  # the same samples whenever this epoch runs
        torch.manual_seed(a.seed * 100003 + ep)
        lr = a.lr * 0.5 * (1 + math.cos(math.pi * ep / a.epochs))
        for g in opt.param_groups:
            g["lr"] = lr
        t0, tot = time.time(), 0.0
        for step in range(a.steps):
            xs, ys = zip(*(augment(*rng.choice(train)[1:], rng) for _ in range(a.batch)))
            x, y = torch.stack(xs), torch.stack(ys)
            lo = net(x)
            loss = F.cross_entropy(lo, y) + dice_loss(lo, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.item()
        if (ep + 1) % a.val_every and ep + 1 != a.epochs:
            print("epoch %3d  loss %.4f  lr %.2e  %.0f s" % (ep + 1, tot / a.steps, lr, time.time() - t0), flush=True)
            d, mean = None, -1.0
        else:
            d = validate(net, val)
            mean = float(d.mean())
            log.append((ep + 1, tot / a.steps, *map(float, d), time.time() - t0))
            print("epoch %3d  loss %.4f  val Dice LV %.4f MYO %.4f RV %.4f  lr %.2e  %.0f s" %
                  (ep + 1, tot / a.steps, d[0], d[1], d[2], lr, time.time() - t0), flush=True)
        if d is not None and mean > best:
            best = mean
            torch.save({"net": net.state_dict(), "epoch": ep + 1, "dice": d.tolist()}, os.path.join(a.out, "best.pt"))
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "epoch": ep + 1, "best": best, "log": log},
                   ck + ".tmp")
        os.replace(ck + ".tmp", ck)
    print("done: best mean val Dice %.4f" % best)


if __name__ == "__main__":
    main()
