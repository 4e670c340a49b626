"""Noise predictors eps_theta(x_t, t[, y]): an MLP for 2D points and a small U-Net for images.

Both take x_t, integer timesteps t (B,) and, when built with ``num_classes``, class labels y (B,)
in [0, num_classes). Built with ``continuous_time=True`` they take flow-matching time instead: t a
float tensor (B,) in [0, 1] (t = 0 data, t = 1 noise), which they scale by TIME_SCALE for the
time embedding themselves, and predict a velocity (notebook 7, flow_matching.py). y = None means "no label" for the whole batch; inside a label tensor,
``NULL_LABEL`` (-1) marks one row's missing label. Classifier-free guidance needs both (Ho &
Salimans 2022). Images go in and come out in [-1, 1] (``UNet.data_range``).
"""
import inspect
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._checks import check_bool, check_float_tensor, check_int, check_mapping, check_number, check_timesteps, check_unit_times
from .conditioning import NULL_LABEL, check_labels
from .classifier import DigitClassifier  # the judge of samples; here for build_model and dh.models
from .model_checks import check_model, check_model_input

# Continuous time t in [0, 1] enters the sinusoidal embedding as TIME_SCALE * t, the range of the
# integer timesteps 0 .. 999 its frequencies were chosen for (DDPM's T = 1000): the slowest
# frequency then turns by 1000 / 10000^(...) radians over the path, as for a DDPM model. (diffusers'
# flow-matching scheduler passes timesteps = 1000 sigma for the same reason; Esser et al. 2024.)
TIME_SCALE = 1000.0


class SinusoidalTimeEmbedding(nn.Module):
    """Transformer position encoding of the timestep (Vaswani et al. 2017, sec. 3.5; DDPM app. B):

    emb(t)_i = sin(t * w_i), emb(t)_{i + d/2} = cos(t * w_i),  w_i = 10000^(-i / (d/2)).

    Input t (B,) integers or floats; output (B, dim).
    """

    def __init__(self, dim, max_period=10000.0):
        super().__init__()
        self.dim = check_int("dim", dim, low=2)
        if dim % 2:
            raise ValueError(f"dim must be even, got {dim}")
        half = dim // 2
        self.register_buffer("frequencies", torch.exp(-math.log(max_period) * torch.arange(half) / half), persistent=False)

    def forward(self, t):
        if not isinstance(t, torch.Tensor) or t.dim() != 1:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"t must be a 1-D tensor of timesteps (B,), got {shape}")
        angles = t.float()[:, None] * self.frequencies[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=-1)


class _Conditioning(nn.Module):
    """Shared by both models: checks (x, t, y) and embeds t (and y) into one vector (B, emb_dim).
    t: integer timesteps (B,) >= 0; with ``continuous_time``, float times (B,) in [0, 1], embedded
    as TIME_SCALE * t (the model's caller never scales them)."""

    def __init__(self, time_dim, emb_dim, num_classes, continuous_time=False):
        super().__init__()
        self.num_classes, self.continuous_time = num_classes, continuous_time
        self.time_embedding = nn.Sequential(
            SinusoidalTimeEmbedding(time_dim), nn.Linear(time_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        # One extra row, index num_classes, learns the null label ("no class").
        self.class_embedding = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None

    def forward(self, x, t, y):
        if self.continuous_time:
            t = TIME_SCALE * check_unit_times(t, x.shape[0], device=x.device, dtype=x.dtype)
        elif isinstance(t, torch.Tensor) and t.is_floating_point() or isinstance(t, float):
            raise TypeError("t must hold integer timesteps 0 .. T-1 (torch.long): this model predicts noise at DDPM's "
                            "timesteps; got float times. A flow-matching model takes t in [0, 1]: build it with "
                            "continuous_time=True; to sample a DDPM model with the flow samplers, wrap it: "
                            "dh.VelocityFromNoise(model, schedule)")
        else:
            t = check_timesteps(t, x.shape[0], None, device=x.device)
        emb = self.time_embedding(t)
        if self.class_embedding is None:
            if y is not None:
                raise ValueError("this model was built without num_classes, so y must be None")
            return emb
        y = check_labels(y, x.shape[0], self.num_classes)
        if y is None:
            y = torch.full((x.shape[0],), NULL_LABEL, dtype=torch.long)
        y = torch.where(y == NULL_LABEL, self.num_classes, y)  # the null label's row of the table
        return emb + self.class_embedding(y.to(x.device))


class MLPDenoiser(nn.Module):
    """A residual MLP that predicts the noise of D-dimensional points: eps_theta(x_t, t[, y]).

    Args:
        data_dim: D (2 for the toy sets).
        hidden_dim: width of every layer.
        num_blocks: residual blocks h <- h + W2 silu(W1 silu(h + emb)).
        time_dim: size of the sinusoidal time embedding.
        num_classes: None for an unconditional model, else the number of classes (labels 0 .. num_classes-1,
            plus NULL_LABEL for "no class").
        continuous_time: False: t integer timesteps (a DDPM noise predictor); True: t float in [0, 1]
            (a flow-matching velocity model), embedded as TIME_SCALE * t.
    Shapes: x (B, D), t (B,), y (B,) or None -> (B, D).
    """
    data_range = None  # points are unbounded: samplers never clip their x0_hat

    def __init__(self, data_dim=2, hidden_dim=128, num_blocks=3, time_dim=32, num_classes=None, continuous_time=False):
        super().__init__()
        self.config = dict(data_dim=check_int("data_dim", data_dim, low=1),
                           hidden_dim=check_int("hidden_dim", hidden_dim, low=1),
                           num_blocks=check_int("num_blocks", num_blocks, low=0),
                           time_dim=time_dim,
                           num_classes=None if num_classes is None else check_int("num_classes", num_classes, low=1),
                           continuous_time=check_bool("continuous_time", continuous_time))
        self.num_classes, self.continuous_time = self.config["num_classes"], continuous_time
        self.conditioning = _Conditioning(time_dim, hidden_dim, num_classes, continuous_time)
        self.input = nn.Linear(data_dim, hidden_dim)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.SiLU(), nn.Linear(hidden_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, hidden_dim))
            for _ in range(num_blocks))
        self.output = nn.Sequential(nn.SiLU(), nn.Linear(hidden_dim, data_dim))

    def check_input_shape(self, x, name="x"):
        """Refuse what is not a batch of points (B, data_dim), naming it ``name``."""
        check_float_tensor(name, x, min_dim=2, last_dims=(self.config["data_dim"],))
        if x.dim() != 2:
            raise ValueError(f"{name} must have shape (B, {self.config['data_dim']}), got {tuple(x.shape)}")

    def forward(self, x, t, y=None):
        check_model_input(self, check_float_tensor("x", x), "x")
        emb = self.conditioning(x, t, y)
        h = self.input(x)
        for block in self.blocks:
            h = h + block(h + emb)
        return self.output(h)


def _group_norm(channels):
    return nn.GroupNorm(math.gcd(8, channels), channels)


class ResidualBlock(nn.Module):
    """GroupNorm -> SiLU -> conv, plus the embedding, GroupNorm -> SiLU -> dropout -> conv, plus a skip.

    Shapes: x (B, C_in, H, W), emb (B, emb_dim) -> (B, C_out, H, W).
    """

    def __init__(self, in_channels, out_channels, emb_dim, dropout=0.0):
        super().__init__()
        self.norm1, self.conv1 = _group_norm(in_channels), nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.emb_proj = nn.Linear(emb_dim, out_channels)
        self.norm2, self.conv2 = _group_norm(out_channels), nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return h + self.skip(x)


class SelfAttention(nn.Module):
    """Multi-head self-attention over the H*W positions, with a residual. (B, C, H, W) -> same."""

    NUM_HEADS = 4

    def __init__(self, channels, num_heads=NUM_HEADS):
        super().__init__()
        self.num_heads = num_heads
        self.norm = _group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        B, C, H, W = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(B, 3, self.num_heads, C // self.num_heads, H * W).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.proj(out.transpose(-1, -2).reshape(B, C, H, W))


class UNet(nn.Module):
    """A small U-Net noise predictor for 28x28 (or 32x32) images, after DDPM's (Ho et al. 2020, app. B).

    Each resolution has ``num_res_blocks`` residual blocks; the resolution halves between levels;
    the decoder mirrors the encoder and concatenates its feature maps (skip connections).
    Attention runs at the lowest resolution if ``attention``. The defaults are sized for a laptop
    CPU: pixel unshuffle to 14x14 (32 channels), then 7x7 (64 channels), about 0.65M parameters.

    Args:
        in_channels: 1 for MNIST, 3 for RGB.
        base_channels: channels at full resolution; level i has base_channels * channel_mults[i].
        channel_mults: one multiplier a level.
        num_res_blocks: residual blocks a level.
        num_mid_blocks: residual blocks in the middle, at the lowest resolution, where the digit's
            global shape is decided; with ``attention``, self-attention sits between each two.
        num_classes: None (unconditional) or the number of classes (adds the null label, NULL_LABEL).
        attention: self-attention in the middle, at the lowest resolution.
        dropout: dropout inside the residual blocks.
        patch_size: 2 folds each 2x2 block of pixels into channels first (pixel unshuffle), so the
            first level works at 14x14 instead of 28x28: about 4x less compute, same output size.
        continuous_time: False: t integer timesteps (a DDPM noise predictor); True: t float in [0, 1]
            (a flow-matching velocity model), embedded as TIME_SCALE * t.
    Shapes: x (B, C, H, W) with H, W divisible by patch_size * 2^(levels-1); t (B,); y (B,) or None
    -> (B, C, H, W).
    """
    data_range = (-1.0, 1.0)  # images live in [-1, 1]: samplers clip x0_hat to it by default

    def __init__(self, in_channels=1, base_channels=32, channel_mults=(1, 2), num_res_blocks=1,
                 num_classes=None, attention=True, dropout=0.0, patch_size=2, num_mid_blocks=2, continuous_time=False):
        super().__init__()
        if not isinstance(channel_mults, (tuple, list)) or not channel_mults:
            raise TypeError(f"channel_mults must be a non-empty tuple of ints, one a level, e.g. (1, 2), got {channel_mults!r}")
        channel_mults = tuple(check_int("channel_mults entries", m, low=1) for m in channel_mults)
        if check_int("base_channels", base_channels, low=8) % 2:
            raise ValueError(f"base_channels must be even (the time embedding pairs sines and cosines), got {base_channels}")
        if not isinstance(attention, bool):  # bool("False") is True: a string would silently mean "on"
            raise TypeError(f"attention must be True or False, got {attention!r}")
        self.config = dict(in_channels=check_int("in_channels", in_channels, low=1),
                           base_channels=check_int("base_channels", base_channels, low=8),
                           channel_mults=list(channel_mults),
                           num_res_blocks=check_int("num_res_blocks", num_res_blocks, low=1),
                           num_classes=None if num_classes is None else check_int("num_classes", num_classes, low=1),
                           attention=attention, dropout=check_number("dropout", dropout, low=0.0, high=0.9),
                           patch_size=check_int("patch_size", patch_size, low=1, high=4),
                           num_mid_blocks=check_int("num_mid_blocks", num_mid_blocks, low=2),
                           continuous_time=check_bool("continuous_time", continuous_time))
        self.num_classes, self.continuous_time = self.config["num_classes"], continuous_time
        lowest = base_channels * channel_mults[-1]
        if attention and lowest % SelfAttention.NUM_HEADS:
            raise ValueError(f"with attention, the lowest level's channels base_channels * channel_mults[-1] = {lowest} "
                             f"must divide into the {SelfAttention.NUM_HEADS} attention heads: choose base_channels a "
                             "multiple of 4 (e.g. 32), or attention=False")
        emb_dim = 4 * base_channels
        self.conditioning = _Conditioning(base_channels, emb_dim, num_classes, continuous_time)
        self.conv_in = nn.Conv2d(in_channels * patch_size**2, base_channels, 3, padding=1)

        widths = [base_channels * m for m in channel_mults]
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        skip_channels, channels = [base_channels], base_channels
        for level, width in enumerate(widths):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks):
                blocks.append(ResidualBlock(channels, width, emb_dim, dropout))
                channels = width
                skip_channels.append(channels)
            self.down.append(blocks)
            last = level == len(widths) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(channels, channels, 3, stride=2, padding=1))
            if not last:
                skip_channels.append(channels)

        self.mid1 = ResidualBlock(channels, channels, emb_dim, dropout)
        self.mid_attention = SelfAttention(channels) if attention else nn.Identity()
        self.mid2 = ResidualBlock(channels, channels, emb_dim, dropout)
        self.mid_extra = nn.ModuleList(  # blocks past the second: (attention, block) pairs
            nn.ModuleList([SelfAttention(channels) if attention else nn.Identity(),
                           ResidualBlock(channels, channels, emb_dim, dropout)]) for _ in range(num_mid_blocks - 2))

        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for level, width in reversed(list(enumerate(widths))):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks + 1):
                blocks.append(ResidualBlock(channels + skip_channels.pop(), width, emb_dim, dropout))
                channels = width
            self.up.append(blocks)
            self.upsample.append(nn.Identity() if level == 0 else nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(channels, channels, 3, padding=1)))
        self.conv_out = nn.Sequential(_group_norm(channels), nn.SiLU(),
                                      nn.Conv2d(channels, in_channels * patch_size**2, 3, padding=1))
        nn.init.zeros_(self.conv_out[-1].weight)  # start by predicting zero noise: a calm first loss
        nn.init.zeros_(self.conv_out[-1].bias)
        self.to(memory_format=torch.channels_last)  # measured: convolutions run faster in this layout

    def check_input_shape(self, x, name="x"):
        """Refuse what is not a batch of images (B, in_channels, H, W) with H and W divisible by the
        U-Net's total downsampling, naming it ``name``."""
        channels = self.config["in_channels"]
        check_float_tensor(name, x, min_dim=4)
        if x.dim() != 4 or x.shape[1] != channels:
            last = ": channels last? use .permute(0, 3, 1, 2)" if x.dim() == 4 and x.shape[-1] == channels else ""
            raise ValueError(f"{name} must have shape (B, {channels}, H, W), got {tuple(x.shape)}{last}")
        factor = self.config["patch_size"] * 2 ** (len(self.config["channel_mults"]) - 1)
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"{name}'s height and width must be divisible by {factor} (this U-Net's downsampling), "
                             f"got {tuple(x.shape[-2:])}")

    def forward(self, x, t, y=None):
        check_model_input(self, check_float_tensor("x", x), "x")
        patch = self.config["patch_size"]
        emb = self.conditioning(x, t, y)
        h = self.conv_in((F.pixel_unshuffle(x, patch) if patch > 1 else x).contiguous(memory_format=torch.channels_last))
        skips = [h]
        for blocks, downsample in zip(self.down, self.downsample):
            for block in blocks:
                h = block(h, emb)
                skips.append(h)
            if not isinstance(downsample, nn.Identity):
                h = downsample(h)
                skips.append(h)
        h = self.mid2(self.mid_attention(self.mid1(h, emb)), emb)
        for attention, block in self.mid_extra:
            h = block(attention(h), emb)
        for blocks, upsample in zip(self.up, self.upsample):
            for block in blocks:
                h = block(torch.cat([h, skips.pop()], dim=1), emb)
            h = upsample(h)
        out = self.conv_out(h)
        return (F.pixel_shuffle(out, patch) if patch > 1 else out).contiguous()


MODEL_CLASSES = {"MLPDenoiser": MLPDenoiser, "UNet": UNet, "DigitClassifier": DigitClassifier}


def build_model(class_name, config):
    """Rebuild a model from its class name and ``model.config`` (as stored in checkpoints)."""
    if not isinstance(class_name, str) or class_name not in MODEL_CLASSES:
        raise ValueError(f"model class must be one of {sorted(MODEL_CLASSES)}, got {class_name!r}")
    check_mapping("config", config, "model.config", allow_empty=True)
    known = set(inspect.signature(MODEL_CLASSES[class_name]).parameters)
    if set(config) - known:
        raise ValueError(f"config holds {sorted(set(config) - known)}, which {class_name} does not take; "
                         f"it takes {sorted(known)}")
    return MODEL_CLASSES[class_name](**config)


def count_parameters(model):
    """The number of trainable parameters."""
    check_model("model", model)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (e.g. dh.UNet()), got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
