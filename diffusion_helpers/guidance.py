"""Classifier-free guidance (Ho & Salimans 2022): one network, conditional and unconditional.

The guidance scale comes in two conventions that mean the same thing:

    ours:                 eps = eps(x_t, t, null) + guidance_scale * (eps(x_t, t, y) - eps(x_t, t, null))
    Ho & Salimans, eq. 6: eps = (1 + w) * eps(x_t, t, y) - w * eps(x_t, t, null)

Expand ours and compare: guidance_scale = w + 1. So guidance_scale = 0 is unconditional,
1 is plain conditional (their w = 0), and > 1 is guided (their w > 0).

Guidance can be limited to an interval of noise levels (Kynkaanniemi et al. 2024): the samplers'
``guidance_interval=(t_low, t_high)`` guides only at timesteps t_low <= t <= t_high and samples
plain conditionally (scale 1, one model call) elsewhere.
"""
import torch

from ._checks import check_float_tensor, check_int, check_number, check_timesteps, warn
from .conditioning import NULL_LABEL, check_labels
from .model_checks import check_model, check_model_input, check_prediction, check_prediction_shape, model_num_classes


# The largest guidance scale (ours) taken for guidance rather than a mistake: twice the largest the
# series uses (notebook 6 sweeps 0 to 10), four times the largest of Ho & Salimans 2022 (w up to 4,
# ours 5), well above Stable Diffusion's default 7.5 (diffusers' guidance_scale is ours). Far beyond
# it the noise estimate is about scale times the difference of two predictions (near 1e6 at a
# scale of a million), and the samples are noise or saturated.
MAX_SENSIBLE_SCALE = 20.0


def warn_if_scale_extreme(largest):
    """Warn when the largest guidance scale exceeds MAX_SENSIBLE_SCALE (a mistake, not guidance)."""
    if largest > MAX_SENSIBLE_SCALE:
        warn(f"guidance_scale {largest:g} is far beyond guidance's useful range (ours: 1 to about 10; Ho & "
             f"Salimans' w = ours - 1 up to 4): the noise estimate is about {largest:.3g} times the difference of "
             f"two predictions, so the samples come out as noise or saturated. Choose a scale between 0 and "
             f"{MAX_SENSIBLE_SCALE:g}.")


def check_guidance(model, x_t, y, guidance_scale):
    """Check labels and scale for a batch x_t (B, ...) once, before any model call.

    Returns (y as a LongTensor (B,) on x_t's device, or None; guidance_scale as a float, or as a
    tensor (B, 1, ..., 1) that broadcasts against x_t).
    """
    batch = x_t.shape[0]
    if y is not None and hasattr(model, "num_classes") and model.num_classes is None:
        raise ValueError("y must be None: this model was built without num_classes, so it takes no labels")
    y = check_labels(y, batch, model_num_classes(model))
    if isinstance(guidance_scale, torch.Tensor):
        if not guidance_scale.is_floating_point() or guidance_scale.shape != (batch,):
            raise ValueError(f"guidance_scale must be a number or a float tensor of shape ({batch},), one scale a "
                             f"sample; got dtype {guidance_scale.dtype}, shape {tuple(guidance_scale.shape)}")
        if not bool(torch.isfinite(guidance_scale).all()) or bool((guidance_scale < 0).any()):
            raise ValueError("guidance_scale must hold finite values >= 0 (0 = unconditional, 1 = conditional)")
        warn_if_scale_extreme(float(guidance_scale.max()))
        guidance_scale = guidance_scale.to(device=x_t.device, dtype=x_t.dtype).reshape(-1, *([1] * (x_t.dim() - 1)))
    else:
        guidance_scale = check_number("guidance_scale", guidance_scale, low=0.0)
        warn_if_scale_extreme(guidance_scale)
    if y is None and not (isinstance(guidance_scale, float) and guidance_scale == 1.0):
        raise ValueError("guidance_scale other than 1 needs class labels y: guidance pushes the samples towards "
                         "a class; with y=None (no labels) keep guidance_scale=1.0")
    return (None if y is None else y.to(x_t.device)), guidance_scale


def check_guidance_interval(guidance_interval, num_timesteps):
    """None (guide at every step) or a pair (t_low, t_high) of timesteps, 0 <= t_low <= t_high < T.
    Returns None or the pair as ints."""
    if guidance_interval is None:
        return None
    if not isinstance(guidance_interval, (tuple, list)) or len(guidance_interval) != 2:
        raise TypeError("guidance_interval must be None (guide at every step) or a pair (t_low, t_high) of "
                        f"timesteps, got {guidance_interval!r}")
    if any(isinstance(value, float) for value in guidance_interval):
        raise TypeError(f"guidance_interval holds timesteps, integers in [0, {num_timesteps - 1}] such as "
                        f"(500, {num_timesteps - 1}), not noise levels or fractions; got {tuple(guidance_interval)}")
    low, high = (check_int(f"guidance_interval[{i}]", value, low=0, high=num_timesteps - 1)
                 for i, value in enumerate(guidance_interval))
    if low > high:
        raise ValueError(f"guidance_interval must be (t_low, t_high) with t_low <= t_high, got ({low}, {high})")
    return low, high


def scale_at(guidance_scale, guidance_interval, t):
    """The guidance scale at timestep t: ``guidance_scale`` inside the interval (or everywhere when
    it is None), 1.0 (plain conditional) outside it (Kynkaanniemi et al. 2024, eq. 4 in ours)."""
    if guidance_interval is None or guidance_interval[0] <= t <= guidance_interval[1]:
        return guidance_scale
    return 1.0


def guided_noise(model, x_t, t, y=None, guidance_scale=1.0):
    """The noise estimate with classifier-free guidance, in one forward pass of the model:

        eps = eps(x_t, t, null) + guidance_scale * (eps(x_t, t, y) - eps(x_t, t, null)).

    guidance_scale is ours: 0 = unconditional, 1 = plain conditional (one call with y), > 1 guided;
    Ho & Salimans' w (eq. 6, where w = 0 is plain conditional) is guidance_scale - 1. Otherwise the
    conditional and null rows go through the model together, as one batch of 2B.

    Args:
        model: callable model(x_t, t) -> eps, or model(x_t, t, y) when y is given.
        x_t: noisy samples (B, ...).
        t: one int, or timesteps (B,).
        y: None (no labels: the model is called as model(x_t, t)), one int, or labels (B,) in
            [0, num_classes); dh.NULL_LABEL in a row means "no class" for that row.
        guidance_scale: a number >= 0, or a float tensor (B,) with one scale a sample (a sweep of
            scales in one batch).
    Returns eps (B, ...), shaped like x_t.
    """
    check_model("model", model)
    check_model_input(model, check_float_tensor("x_t", x_t), "x_t")
    t = check_timesteps(t, x_t.shape[0], None, device=x_t.device)
    y, scale = check_guidance(model, x_t, y, guidance_scale)
    return check_prediction(guided_noise_checked(model, x_t, t, y, scale), x_t, t)


def guided_noise_checked(model, x_t, t, y, scale):
    """``guided_noise`` on arguments already checked: t a LongTensor (B,) on x_t's device, and y and
    scale as ``check_guidance`` returns them. The samplers check once and call this every step; it
    checks only the output's shape (free: no wait for the device), not that its values are finite."""
    if y is None:
        return check_prediction_shape(model(x_t, t), x_t)
    if isinstance(scale, float) and scale in (0.0, 1.0):  # one label set suffices: the null one or y
        labels = torch.full_like(y, NULL_LABEL) if scale == 0.0 else y
        return check_prediction_shape(model(x_t, t, labels), x_t)
    both = model(torch.cat([x_t, x_t]), torch.cat([t, t]), torch.cat([y, torch.full_like(y, NULL_LABEL)]))
    eps_conditional, eps_null = check_prediction_shape(both, torch.cat([x_t, x_t])).chunk(2)
    return eps_null + scale * (eps_conditional - eps_null)
