"""The reference for speed: the U-Net of seed lab 001 ("from noise to art"), re-implemented here
from its description: 64 base channels, residual blocks at 28x28 (64), 14x14 (128), 7x7 (256),
a 3x3 bottleneck (256), transposed-convolution upsampling and concatenated skips, all at full
resolution. Only the benchmark uses it.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class _Block(nn.Module):
    """conv -> GroupNorm -> SiLU, plus the time embedding, conv -> GroupNorm -> SiLU, plus a skip."""

    def __init__(self, in_channels, out_channels, time_dim):
        super().__init__()
        self.conv1, self.norm1 = nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.GroupNorm(8, out_channels)
        self.conv2, self.norm2 = nn.Conv2d(out_channels, out_channels, 3, padding=1), nn.GroupNorm(8, out_channels)
        self.time = nn.Linear(time_dim, out_channels)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x, emb):
        h = F.silu(self.norm1(self.conv1(x))) + self.time(emb)[:, :, None, None]
        return F.silu(self.norm2(self.conv2(h))) + self.skip(x)


class ReferenceUNet(nn.Module):
    """Seed 001's U-Net: x (B, 1, 28, 28), t (B,) -> predicted noise (B, 1, 28, 28)."""

    def __init__(self, base=64, time_dim=128):
        super().__init__()
        self.time_dim = time_dim
        self.time_mlp = nn.Sequential(nn.Linear(time_dim, 4 * time_dim), nn.SiLU(), nn.Linear(4 * time_dim, time_dim))
        widths = [base, 2 * base, 4 * base]
        self.encoders = nn.ModuleList([_Block(1, widths[0], time_dim), _Block(widths[0], widths[1], time_dim),
                                       _Block(widths[1], widths[2], time_dim)])
        self.bottleneck = _Block(widths[2], widths[2], time_dim)
        self.ups = nn.ModuleList([nn.ConvTranspose2d(widths[2], widths[2], 2, stride=2),
                                  nn.ConvTranspose2d(widths[1], widths[1], 2, stride=2),
                                  nn.ConvTranspose2d(widths[0], widths[0], 2, stride=2)])
        self.decoders = nn.ModuleList([_Block(2 * widths[2], widths[1], time_dim), _Block(2 * widths[1], widths[0], time_dim),
                                       _Block(2 * widths[0], widths[0], time_dim)])
        self.out = nn.Conv2d(widths[0], 1, 1)

    def embed(self, t):
        half = self.time_dim // 2
        frequencies = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / (half - 1))
        angles = t.float()[:, None] * frequencies[None]
        return self.time_mlp(torch.cat([angles.sin(), angles.cos()], dim=1))

    def forward(self, x, t, y=None):
        emb = self.embed(t)
        skips, h = [], x
        for index, encoder in enumerate(self.encoders):
            h = encoder(h if index == 0 else F.max_pool2d(h, 2), emb)
            skips.append(h)
        h = self.bottleneck(F.max_pool2d(h, 2), emb)
        for up, decoder in zip(self.ups, self.decoders):
            skip = skips.pop()
            h = F.interpolate(up(h), size=skip.shape[2:])
            h = decoder(torch.cat([h, skip], dim=1), emb)
        return self.out(h)
