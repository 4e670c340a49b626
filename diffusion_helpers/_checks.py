"""Checks of arguments at the package's edge: each raises a clear error naming the argument."""
import numbers
import warnings

import torch


def check_choice(name, value, allowed):
    """Raise ValueError unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return value


def check_int(name, value, low=None, high=None):
    """Return ``value`` as an int, checking ``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        upper = "inf" if high is None else high
        raise ValueError(f"{name} must be in [{low}, {upper}], got {value}")
    return value


def check_number(name, value, low=None, high=None):
    """Return ``value`` as a float, checking it is finite and ``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite, got {value}")
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")
    return value


def check_float_tensor(name, x, min_dim=1, last_dims=None):
    """Check that ``x`` is a floating-point tensor with at least ``min_dim`` dimensions.

    ``last_dims``, if given, is the required trailing shape, e.g. (1, 28, 28).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimensions (B, ...), got shape {tuple(x.shape)}")
    if last_dims is not None and tuple(x.shape[-len(last_dims):]) != tuple(last_dims):
        raise ValueError(f"{name} must have shape (B, {', '.join(map(str, last_dims))}), got {tuple(x.shape)}")
    return x


def check_data(name, x, images=None):
    """Return ``x`` if it is a floating-point tensor of finite values. Images must also lie in
    [-1, 1] (``check_image_range``); images=None means any 4-D tensor (B, C, H, W) is one, and
    points (B, D) may take any finite value."""
    check_float_tensor(name, x)
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} holds NaN or inf values at {int((~torch.isfinite(x)).sum())} of {x.numel()} "
                         "places: every value must be finite")
    if (x.dim() == 4 if images is None else images) and x.shape[0]:
        check_image_range(name, x)
    return x


def integers_per_row(name, value, batch_size, what, allowed, device=None):
    """``value`` (an int for the whole batch, a 0-d or (B,) integer tensor) as an integer tensor of
    shape (B,); ``what`` names its contents in the errors ("integer timesteps"), ``allowed`` the
    other things it may be ("an int")."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = torch.full((batch_size,), int(value), dtype=torch.long, device=device)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be {allowed} or an integer tensor of shape (B,), got {type(value).__name__}")
    if value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
        raise TypeError(f"{name} must hold {what} (torch.long), got dtype {value.dtype}")
    if value.dim() == 0:
        value = value.expand(batch_size)
    if value.dim() != 1 or value.shape[0] != batch_size:
        raise ValueError(f"{name} must have shape ({batch_size},) to match the batch, got {tuple(value.shape)}")
    return value


def check_timesteps(t, batch_size, num_timesteps, device=None, name="t"):
    """Return ``t`` as a LongTensor of shape (B,) with values in [0, num_timesteps).

    ``num_timesteps=None`` checks only that the values are >= 0.
    ``t`` may be a python int (used for the whole batch), a 0-d integer tensor, or an integer
    tensor of shape (B,).
    """
    t = integers_per_row(name, t, batch_size, "integer timesteps", "an int", device)
    if num_timesteps is None:
        if t.numel() and int(t.min()) < 0:
            raise ValueError(f"{name} must hold timesteps >= 0, got {int(t.min())}")
    elif t.numel() and (int(t.min()) < 0 or int(t.max()) >= num_timesteps):
        raise ValueError(
            f"{name} must lie in [0, {num_timesteps - 1}] (num_timesteps={num_timesteps}), "
            f"got values from {int(t.min())} to {int(t.max())}"
        )
    return t.long() if device is None else t.long().to(device)


def check_image_range(name, images, slack=0.5):
    """Refuse what cannot be images in [-1, 1]: an empty batch, NaN or inf, values beyond
    [-1 - slack, 1 + slack] (e.g. [0, 255] images, or unclipped samples that blew up); warn when
    every value is >= 0 and not all equal (images in [0, 1], whose black is 0 instead of -1)."""
    if images.shape[0] == 0:
        raise ValueError(f"{name} holds no images (shape {tuple(images.shape)}): give at least one")
    if not bool(torch.isfinite(images).all()):
        raise ValueError(f"{name} hold NaN or inf values: check the sampler or the model that made them")
    low, high = images.min().item(), images.max().item()
    if low < -1 - slack or high > 1 + slack:
        raise ValueError(f"{name} must be images in [-1, 1], the series' range, got values from {low:.3g} to "
                         f"{high:.3g}: convert [0, 255] images with x / 127.5 - 1, and sample with clip_x0=True "
                         "(the default for images)")
    if 0 <= low < high:
        warnings.warn(f"{name} are all >= 0: they look like images in [0, 1], but the series uses [-1, 1] "
                      "(black is -1): convert them with x * 2 - 1", stacklevel=3)
    return images
