"""Checks of arguments at the package's edge: each raises a clear error naming the argument."""
import collections.abc
import dataclasses
import numbers
import os
import sys
import warnings

import torch


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))
# frames between a dataclass's __post_init__ and its caller: the generated __init__ ("<string>") and
# dataclasses.replace
_GENERATED = ("<string>", os.path.abspath(dataclasses.__file__))


def _passed_over(frame):
    """Whether a frame is the package's, torch's or a dataclass's machinery rather than the caller's."""
    name = frame.f_code.co_filename
    return name in _GENERATED or os.path.abspath(name).startswith((_PACKAGE_DIR + os.sep, _TORCH_DIR + os.sep)) \
        or os.path.abspath(name) in _GENERATED


def warn(message, category=UserWarning):
    """warnings.warn, pointed at the first caller outside the package (the student's line), however
    deep inside the package the warning is raised (torch's own frames, e.g. of @torch.no_grad
    around a sampler, are passed over too, and a dataclass's generated __init__). So the warning
    names the student's cell, never a file of the machine it runs on (a page built from a run shows it)."""
    level, frame = 2, sys._getframe(1)  # level 1 is this function, 2 its caller
    while frame is not None and _passed_over(frame):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def check_choice(name, value, allowed):
    """Raise ValueError unless ``value`` is one of ``allowed`` (a list of names, or another
    unhashable value, is refused the same way, with a word on giving one name)."""
    try:
        known = value in allowed
    except TypeError:  # unhashable, e.g. a list given to a dict of names
        known = False
    if not known:
        one = "; give one name" if isinstance(value, (list, tuple, set)) else ""
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}{one}")
    return value


def check_bool(name, value, allow_none=False):
    """Return ``value`` if it is True or False (or None with ``allow_none``): a string such as
    "no" would silently mean True."""
    if not (isinstance(value, bool) or (allow_none and value is None)):
        allowed = "True, False or None" if allow_none else "True or False"
        raise TypeError(f"{name} must be {allowed}, got {value!r}")
    return value


def check_seed(name, seed):
    """Return ``seed`` as an int in [0, 2^32 - 1], what Python, NumPy and torch all accept."""
    if isinstance(seed, float) and seed.is_integer():
        raise TypeError(f"{name} must be an integer such as 0, got the float {seed!r}: write {int(seed)}")
    return check_int(name, seed, low=0, high=2**32 - 1)


def check_mapping(name, value, example, allow_empty=False):
    """Return ``value`` if it is a dict-like mapping (non-empty unless ``allow_empty``);
    ``example`` shows what one looks like in the error."""
    if not isinstance(value, collections.abc.Mapping):
        raise TypeError(f"{name} must be a dict such as {example}, got {type(value).__name__}")
    if not value and not allow_empty:
        raise ValueError(f"{name} is empty: give at least one entry, e.g. {example}")
    return value


def check_path(name, path, writing=False):
    """Return ``path`` (a str or os.PathLike) as a str naming a file: not a folder; for reading,
    an existing file (FileNotFoundError otherwise)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a file path (a str or pathlib.Path), got {type(path).__name__}")
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{name} {path!r} is a folder: give the path of a file in it, e.g. "
                                f"{os.path.join(path, 'model.pt')!r}")
    if not writing and not os.path.isfile(path):
        raise FileNotFoundError(f"{name}: no file at {path!r}")
    return path


def check_same_shape(name, value, like_name, like):
    """Refuse a tensor ``value`` not shaped like ``like`` (no broadcasting: (B, 1, 1, 1) against
    (B, 1, 28, 28) is a mistake, not a shortcut)."""
    check_float_tensor(name, value)
    if value.shape != like.shape:
        raise ValueError(f"{name} must have the shape of {like_name} {tuple(like.shape)}, got {tuple(value.shape)}")
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
        hint = ""
        if type(x).__module__ == "numpy" or isinstance(x, (list, tuple)):
            hint = f": convert it with torch.as_tensor({name}, dtype=torch.float32)"
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}{hint}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimensions (B, ...), got shape {tuple(x.shape)}")
    if last_dims is not None and tuple(x.shape[-len(last_dims):]) != tuple(last_dims):
        raise ValueError(f"{name} must have shape (B, {', '.join(map(str, last_dims))}), got {tuple(x.shape)}")
    return x


def check_points(name, x, min_count=2):
    """Return ``x`` if it is a float tensor (N, D) of at least ``min_count`` rows, all finite: a
    cloud that a spread or a distance between distributions can be computed from (one point has
    no covariance; an empty cloud gives NaN)."""
    check_float_tensor(name, x, min_dim=2)
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape (N, D), one row a point, got {tuple(x.shape)}")
    if x.shape[0] < min_count:
        raise ValueError(f"{name} holds {x.shape[0]} point(s): give at least {min_count} (a spread needs two, "
                         "and a number worth reading a few hundred)")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} holds NaN or inf values at {int((~torch.isfinite(x)).sum())} of {x.numel()} places")
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


def check_unit_times(t, batch_size, device=None, name="t", dtype=None):
    """Return ``t``, continuous times in [0, 1] (t = 0 data, t = 1 noise: the flow-matching path's
    clock), as a float tensor (B,). ``t`` may be a Python float (one time for the whole batch, made
    a tensor of ``dtype``, torch's default if None: give the data's, so float64 data keep float64
    times), a 0-d or a (B,) float tensor. Integer timesteps (a DDPM model's 0 .. T-1) and times beyond 1 (such
    as t * 1000: the models scale t for their time embedding themselves) are refused, naming the slip."""
    if isinstance(t, numbers.Real) and not isinstance(t, (bool, numbers.Integral)):
        t = torch.full((batch_size,), float(t), device=device, dtype=dtype)
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a time in [0, 1], a float or a float tensor of shape (B,), got "
                        f"{type(t).__name__} {t!r}")
    if not t.is_floating_point():
        raise TypeError(f"{name} must hold continuous times in [0, 1] (a float tensor), got dtype {t.dtype}: integer "
                        "timesteps 0 .. T-1 belong to a DDPM noise predictor, and this takes flow-matching time "
                        "(t = 0 data, t = 1 noise)")
    if t.dim() == 0:
        t = t.expand(batch_size)
    if t.dim() != 1 or t.shape[0] != batch_size:
        raise ValueError(f"{name} must have shape ({batch_size},), one time a sample, got {tuple(t.shape)}")
    if t.numel():
        low, high = float(t.min()), float(t.max())
        if not (low >= 0 and high <= 1):  # NaN fails too
            scaled = " (did you pass t * 1000? give t itself: the model scales it for its time embedding)" \
                if high > 1 else ""
            raise ValueError(f"{name} must lie in [0, 1] (t = 0 data, t = 1 noise), got values from {low:.4g} to "
                             f"{high:.4g}{scaled}")
    return t if device is None else t.to(device)


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
        fix = ("convert [0, 255] images with x / 127.5 - 1" if low >= 0 and high > 2 else
               "unclipped samples? sample images with clip_x0=True (the default for images), or clamp them with "
               "x.clamp(-1, 1)")
        raise ValueError(f"{name} must be images in [-1, 1], the series' range, got values from {low:.3g} to "
                         f"{high:.3g}: {fix}")
    if 0 <= low < high:
        warn(f"{name} are all >= 0: they look like images in [0, 1], but the series uses [-1, 1] (black is -1): "
             "convert them with x * 2 - 1")
    return images
