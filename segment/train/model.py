"""The segmenter's network (segment/train/ARCHITECTURE.md): a 2-D U-Net, 4 poolings."""
import torch
import torch.nn as nn

NET_MM = 1.6            # the network's pixel size (mm): inputs are resampled to it
CROP = 112              # training crop (network pixels); inference takes any multiple of 16
CHANNELS = (16, 32, 64, 128, 128)
N_CLASSES = 4           # 0 background, 1 LV blood, 2 LV myocardium, 3 RV blood


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    def __init__(self, ch=CHANNELS, n_classes=N_CLASSES):
        super().__init__()
        self.enc = nn.ModuleList([block(1 if i == 0 else ch[i - 1], ch[i]) for i in range(len(ch))])
        self.up = nn.ModuleList([nn.ConvTranspose2d(ch[i + 1], ch[i], 2, stride=2) for i in range(len(ch) - 1)])
        self.dec = nn.ModuleList([block(2 * ch[i], ch[i]) for i in range(len(ch) - 1)])
        self.head = nn.Conv2d(ch[0], n_classes, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        skips = []
        for i, e in enumerate(self.enc):
            x = e(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for i in reversed(range(len(self.dec))):
            x = self.dec[i](torch.cat([skips[i], self.up[i](x)], 1))
        return self.head(x)
