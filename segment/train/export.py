#!/usr/bin/python3
"""Writes a trained segmenter's weights as the file the C inference reads (ARCHITECTURE.md).

    /usr/bin/python3 segment/train/export.py CHECKPOINT.pt OUT.bin

Batch norm is folded into the convolutions; OUT.bin.sha256 gets the file's SHA-256.
With `--random SEED` instead of a checkpoint it exports a randomly initialised network (tests).
"""
import hashlib
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import UNet, NET_MM, CHANNELS, N_CLASSES  # noqa: E402

EPS = 1e-5


def fold(conv, bn):
    w = conv.weight.detach().double()
    g = bn.weight.detach().double() / torch.sqrt(bn.running_var.detach().double() + EPS)
    b = bn.bias.detach().double() - bn.running_mean.detach().double() * g
    return (w * g[:, None, None, None]).float(), b.float()


def block_tensors(blk):
    c1, b1, _, c2, b2, _ = blk
    return [*fold(c1, b1), *fold(c2, b2)]


def tensors(net):
    out = []
    for e in net.enc:
        out += block_tensors(e)
    for i in reversed(range(len(net.dec))):
        out += [net.up[i].weight.detach(), net.up[i].bias.detach()]
        out += block_tensors(net.dec[i])
    out += [net.head.weight.detach(), net.head.bias.detach()]
    return out


def write(net, path):
    L = len(CHANNELS)
    hdr = b"CTWUNET1" + struct.pack("<IIIIf", 0, L, 1, N_CLASSES, NET_MM) + struct.pack("<%dI" % L, *CHANNELS)
    hdr += b"\0" * ((-len(hdr)) % 4)
    hdr = hdr[:8] + struct.pack("<I", len(hdr)) + hdr[12:]
    body = b"".join(np.ascontiguousarray(t.numpy(), "<f4").tobytes() for t in tensors(net))
    data = hdr + body
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
    sha = hashlib.sha256(data).hexdigest()
    with open(path + ".sha256", "w") as f:
        f.write("%s  %s\n" % (sha, os.path.basename(path)))
    return sha, len(data)


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--random":
        torch.manual_seed(int(sys.argv[2]))
        net = UNet()
        # non-trivial batch-norm statistics, so folding is exercised
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.2, 0.2)
        out = sys.argv[3]
    elif len(sys.argv) == 3:
        net = UNet()
        net.load_state_dict(torch.load(sys.argv[1], map_location="cpu")["net"])
        out = sys.argv[2]
    else:
        sys.exit(__doc__)
    net.eval()
    sha, n = write(net, out)
    print("%s: %d bytes, sha256 %s" % (out, n, sha))


if __name__ == "__main__":
    main()
