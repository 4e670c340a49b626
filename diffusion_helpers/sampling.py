"""The reverse process: DDPM and DDIM steps, the one sampling loop, and DDIM inversion.

Read it top down (``make_timesteps``, in timesteps.py, chooses the timesteps). ``ddpm_step`` and
``ddim_step`` are one reverse step each, pure functions of x_t and the predicted noise;
``sampling_loop`` is the one loop every sampler runs; ``ddpm_steps`` and ``ddim_steps`` yield
every intermediate state (for plots and widgets that animate the reverse process), and
``ddpm_sample`` / ``ddim_sample`` run them to the end.

Timesteps are 0-based (index t is the paper's step t+1). ``t_prev = -1`` means "after the last
step", where alpha-bar = 1: the clean data. Images live in [-1, 1].
"""
import math
import warnings
from typing import NamedTuple

import torch
from tqdm.auto import tqdm

from ._checks import check_choice, check_float_tensor, check_input_matches, check_int, check_model, check_number
from .guidance import check_guidance, check_guidance_interval, guided_noise_checked, scale_at
from .schedules import NoiseSchedule
from .timesteps import SPACINGS, check_timestep_sequence, make_timesteps

def _one_timestep(name, t, low, high):
    if isinstance(t, torch.Tensor) and t.numel() == 1 and not t.is_floating_point() and t.dtype != torch.bool:
        t = int(t.item())  # a 0-d or one-element integer tensor, e.g. from a loop over timesteps
    return check_int(name, t, low, high)


def check_step(schedule, x_t, t, t_prev, eps_hat, noise):
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    check_float_tensor("x_t", x_t)
    t = _one_timestep("t", t, -1, schedule.num_timesteps - 1)  # -1: clean data, where inversion starts
    t_prev = _one_timestep("t_prev", t_prev, -1, schedule.num_timesteps - 1)
    if t_prev == t:
        raise ValueError(f"t_prev must differ from t (both are {t})")
    for name, value in (("eps_hat", eps_hat), ("noise", noise)):
        if value is not None and (check_float_tensor(name, value).shape != x_t.shape):
            raise ValueError(f"{name} must have the shape of x_t {tuple(x_t.shape)}, got {tuple(value.shape)}")
    return t, t_prev


def predict_x0_hat(schedule, x_t, t, eps_hat, clip_x0=False):
    """The clean data the noise estimate implies, x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t)
    (DDPM eq. 15), clamped to [-1, 1] if ``clip_x0``, with the eps_hat that goes with the clamped
    x0_hat. t an int. Returns (x0_hat, eps_hat)."""
    abar_t = schedule.alpha_bar(t)
    x0_hat = (x_t - math.sqrt(1 - abar_t) * eps_hat) / math.sqrt(abar_t)
    if clip_x0:
        x0_hat = x0_hat.clamp(-1.0, 1.0)
        eps_hat = (x_t - math.sqrt(abar_t) * x0_hat) / math.sqrt(1 - abar_t)
    return x0_hat, eps_hat


def ddpm_step(schedule, x_t, t, t_prev, eps_hat, *, noise=None, clip_x0=False):
    """One ancestral DDPM step from timestep t to t_prev < t (Ho et al. 2020, Algorithm 2):

        x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t)                          (eq. 15)
        x_{t_prev} = mu~ + sqrt(beta~) z,   z ~ N(0, I)            the posterior q(x_{t_prev} | x_t, x0_hat)
        mu~ = sqrt(abar_prev) beta / (1 - abar_t) x0_hat + sqrt(alpha) (1 - abar_prev) / (1 - abar_t) x_t  (eq. 7)
        beta~ = (1 - abar_prev) / (1 - abar_t) beta                                        (eq. 7)

    where alpha = abar_t / abar_prev and beta = 1 - alpha: alpha_t and beta_t when t_prev = t - 1,
    and the same step over a gap otherwise (as diffusers' DDPMScheduler takes it). Unclipped, mu~
    equals Algorithm 2's (x_t - beta / sqrt(1 - abar_t) eps_hat) / sqrt(alpha). The last step
    (t_prev = -1) adds no noise.

    Args:
        schedule: the NoiseSchedule the model was trained with.
        x_t: the current samples (B, ...).
        t, t_prev: ints with 0 <= t_prev < t < T, or t_prev = -1 for the last step (to clean data).
        eps_hat: the predicted noise eps_theta(x_t, t), shaped like x_t.
        noise: z, shaped like x_t; drawn with torch.randn_like if None.
        clip_x0: clamp x0_hat to [-1, 1] (right for images) before forming the mean.
    Returns:
        (x_{t_prev}, x0_hat), both shaped like x_t.
    """
    t, t_prev = check_step(schedule, x_t, t, t_prev, eps_hat, noise)
    if t_prev > t:
        raise ValueError(f"a DDPM step goes from t to an earlier t_prev, got t={t}, t_prev={t_prev}")
    abar_t, abar_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
    alpha, beta = abar_t / abar_prev, 1 - abar_t / abar_prev
    x0_hat, _ = predict_x0_hat(schedule, x_t, t, eps_hat, clip_x0)
    mean = (math.sqrt(abar_prev) * beta / (1 - abar_t)) * x0_hat \
        + (math.sqrt(alpha) * (1 - abar_prev) / (1 - abar_t)) * x_t
    if t_prev == -1:
        return mean, x0_hat
    variance = (1 - abar_prev) / (1 - abar_t) * beta
    noise = torch.randn_like(x_t) if noise is None else noise
    return mean + math.sqrt(variance) * noise, x0_hat


def ddim_step(schedule, x_t, t, t_prev, eps_hat, *, eta=0.0, noise=None, clip_x0=False):
    """One DDIM step from timestep t to t_prev (Song et al. 2021, eq. 12):

        x_{t_prev} = sqrt(abar_prev) x0_hat                    "predicted x0"
                   + sqrt(1 - abar_prev - sigma^2) eps_hat      "direction pointing to x_t"
                   + sigma z,   z ~ N(0, I)                     "random noise"
        sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev)   (eq. 16)

    with x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t). eta = 0 is deterministic (an
    Euler step of an ODE); eta = 1 has DDPM's posterior variance, and with t_prev = t - 1 it is
    ``ddpm_step``. With ``clip_x0`` x0_hat is clamped to [-1, 1] and eps_hat recomputed from it.
    Run with t_prev > t (eta = 0), the same step moves towards noise: DDIM inversion.

    Args as for ``ddpm_step``, plus eta in [0, 1]; t_prev may be any timestep but t, or -1, and
    t may be -1 (clean data) when the step inverts.
    Returns:
        (x_{t_prev}, x0_hat), both shaped like x_t.
    """
    t, t_prev = check_step(schedule, x_t, t, t_prev, eps_hat, noise)
    eta = check_number("eta", eta, low=0.0, high=1.0)
    if t_prev > t and eta > 0:
        raise ValueError(f"inversion (t_prev={t_prev} > t={t}) is deterministic: use eta=0, got eta={eta}")
    if t == -1 and clip_x0:
        raise ValueError("at t = -1 x_t is the clean data itself: there is no x0_hat to clip (clip_x0=False)")
    abar_t, abar_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
    x0_hat, eps_hat = predict_x0_hat(schedule, x_t, t, eps_hat, clip_x0)
    sigma = 0.0 if t_prev > t else eta * math.sqrt((1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev))
    x_prev = math.sqrt(abar_prev) * x0_hat + math.sqrt(max(1 - abar_prev - sigma**2, 0.0)) * eps_hat
    if sigma > 0:
        x_prev = x_prev + sigma * (torch.randn_like(x_t) if noise is None else noise)
    return x_prev, x0_hat


class SamplerState(NamedTuple):
    """What the samplers' ``*_steps`` yield after each step: ``for t, x, x0_hat in ...``."""
    t: int                 # the timestep the step started from (the model was asked about it)
    x: torch.Tensor        # the samples after the step (x_0 after the last one)
    x0_hat: torch.Tensor   # the clean data predicted at t


@torch.no_grad()
def sampling_loop(model, x_T, timesteps, step, y=None, guidance=(1.0, None), progress=True, desc="sampling"):
    """The one loop of every sampler: at each timestep t of the falling sequence, predict the noise
    (with guidance, one model call) and take ``step(x, t, t_prev, eps_hat) -> (x, x0_hat)`` to the
    next timestep t_prev (-1 after the last). Yields a SamplerState after each step. y and
    guidance = (guidance_scale, guidance_interval) as ``prepare_sampling`` returns them (checked once)."""
    (guidance_scale, guidance_interval), (x, falling) = guidance, (x_T, timesteps.tolist())
    for t, t_prev in zip(tqdm(falling, desc=desc, disable=not progress, leave=False), falling[1:] + [-1]):
        t_batch = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
        eps_hat = guided_noise_checked(model, x, t_batch, y, scale_at(guidance_scale, guidance_interval, t))
        x, x0_hat = step(x, t, t_prev, eps_hat)
        if t_prev == -1:
            warn_if_outside_data_range(model, x)
        yield SamplerState(t, x, x0_hat)


def warn_if_outside_data_range(model, samples, slack=0.5):
    """Warn when finished samples lie far outside the range the model was trained on (its
    ``data_range``, [-1, 1] for dh.UNet): with clip_x0=False, images can blow up to +-1000."""
    data_range = getattr(model, "data_range", None)
    if data_range is None or samples.numel() == 0:
        return
    low, high = samples.min().item(), samples.max().item()
    if low < data_range[0] - slack or high > data_range[1] + slack:
        warnings.warn(f"the samples span {low:.3g} to {high:.3g}, far outside the model's data range "
                      f"[{data_range[0]:g}, {data_range[1]:g}]: sample images with clip_x0=True (the default "
                      "for images)", stacklevel=2)


def default_clip_x0(model, x_T):
    """What clip_x0=None means: clip x0_hat for images, never for points. A model that declares its
    ``data_range`` decides (dh.UNet: images in [-1, 1]; dh.MLPDenoiser: None, points); for any other
    model, x_T shaped (B, C, H, W) means images."""
    if hasattr(model, "data_range"):
        return model.data_range is not None
    return x_T.dim() == 4


def prepare_sampling(model, schedule, x_T, num_steps, default_num_steps, timesteps, spacing, y, guidance_scale,
                     clip_x0, generator=None, guidance_interval=None):
    """Check a sampler's arguments once, before any model call. Returns (timesteps, y,
    (guidance_scale, guidance_interval), clip_x0), y and guidance_scale as ``check_guidance``
    returns them. default_num_steps=None means all T steps."""
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    default_num_steps = schedule.num_timesteps if default_num_steps is None else default_num_steps
    check_model("model", model)
    check_float_tensor("x_T", x_T)
    if x_T.shape[0] == 0:
        raise ValueError(f"x_T holds no samples (shape {tuple(x_T.shape)}): give a batch of at least one")
    check_input_matches(model, x_T, "x_T")
    if not bool(torch.isfinite(x_T).all()):
        raise ValueError("x_T holds NaN or inf values: start from finite noise, e.g. torch.randn(...)")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if clip_x0 is not None and not isinstance(clip_x0, bool):
        raise TypeError(f"clip_x0 must be True, False or None (clip for images, not for points), got {clip_x0!r}")
    y, guidance_scale = check_guidance(model, x_T, y, guidance_scale)
    guidance = (guidance_scale, check_guidance_interval(guidance_interval, schedule.num_timesteps))
    check_choice("spacing", spacing, SPACINGS)
    if timesteps is None:
        timesteps = make_timesteps(schedule.num_timesteps, default_num_steps if num_steps is None else num_steps, spacing,
                                   schedule)
    else:
        timesteps = check_timestep_sequence(timesteps, schedule.num_timesteps)
        if num_steps not in (None, default_num_steps, len(timesteps)):
            raise ValueError(f"give num_steps or timesteps, not both: num_steps={num_steps} but "
                             f"{len(timesteps)} timesteps")
    return timesteps, y, guidance, default_clip_x0(model, x_T) if clip_x0 is None else clip_x0


def randn_like(x, generator):
    """Standard normal noise shaped like x, drawn on the generator's device (reproducible on CPU)."""
    device = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)


def ddpm_steps(model, schedule, x_T, *, num_steps=None, timesteps=None, spacing="trailing", y=None,
               guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, progress=True):
    """DDPM ancestral sampling (Ho et al. 2020, Algorithm 2), yielding a SamplerState (t, x, x0_hat)
    after each ``ddpm_step``. Arguments as for ``ddpm_sample``."""
    timesteps, y, guidance, clip_x0 = prepare_sampling(model, schedule, x_T, num_steps, None, timesteps, spacing, y,
                                                       guidance_scale, clip_x0, generator, guidance_interval)

    def step(x, t, t_prev, eps_hat):
        noise = randn_like(x, generator) if t_prev >= 0 else None
        return ddpm_step(schedule, x, t, t_prev, eps_hat, noise=noise, clip_x0=clip_x0)
    return sampling_loop(model, x_T, timesteps, step, y, guidance, progress, "DDPM sampling")


def ddim_steps(model, schedule, x_T, num_steps=50, *, eta=0.0, timesteps=None, spacing="trailing", y=None,
               guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, progress=True):
    """DDIM sampling (Song et al. 2021, eq. 12), yielding a SamplerState (t, x, x0_hat) after each
    ``ddim_step``. Arguments as for ``ddim_sample``."""
    timesteps, y, guidance, clip_x0 = prepare_sampling(model, schedule, x_T, num_steps, 50, timesteps, spacing, y,
                                                       guidance_scale, clip_x0, generator, guidance_interval)
    eta = check_number("eta", eta, low=0.0, high=1.0)

    def step(x, t, t_prev, eps_hat):
        noise = randn_like(x, generator) if eta > 0 and t_prev >= 0 else None
        return ddim_step(schedule, x, t, t_prev, eps_hat, eta=eta, noise=noise, clip_x0=clip_x0)
    return sampling_loop(model, x_T, timesteps, step, y, guidance, progress, "DDIM sampling")


def run_to_end(states, x_T, return_trajectory):
    """Run a sampler's ``*_steps`` to the end: x_0, or (x_0, [x_T, ..., x_0]) with return_trajectory."""
    x, trajectory = x_T, [x_T]
    for state in states:
        x = state.x
        if return_trajectory:
            trajectory.append(x)
    return (x, trajectory) if return_trajectory else x


def ddpm_sample(model, schedule, x_T, *, num_steps=None, timesteps=None, spacing="trailing", y=None,
                guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, return_trajectory=False,
                progress=True):
    """Generate samples with DDPM (Ho et al. 2020, Algorithm 2): T steps of ``ddpm_step`` from x_T.

    Example: ``digits = dh.ddpm_sample(model, schedule, torch.randn(16, 1, 28, 28))``.

    Args:
        model: callable model(x_t, t) -> eps, or model(x_t, t, y) when conditional.
        schedule: the NoiseSchedule the model was trained with.
        x_T: starting noise (B, ...), e.g. torch.randn(B, 1, 28, 28).
        num_steps: None for all T steps, or fewer (DDPM over a gap, see ``ddpm_step``).
        timesteps: an explicit falling sequence instead of num_steps, e.g. [999, 499, 0].
        spacing: how num_steps are spread, see ``make_timesteps``.
        y: class labels (B,) in [0, num_classes) or one int; dh.NULL_LABEL marks a row without a
            class; None: no labels.
        guidance_scale: classifier-free guidance, ours: 0 = unconditional, 1 = plain conditional,
            > 1 guided (Ho & Salimans' w = guidance_scale - 1); a number or a (B,) tensor.
        guidance_interval: None (guide at every step), or (t_low, t_high): guide only at timesteps
            t_low <= t <= t_high, plain conditional (scale 1, one model call) elsewhere
            (Kynkaanniemi et al. 2024).
        clip_x0: clamp x0_hat to [-1, 1] at every step; None: yes for images, no for 2D points
            (see ``default_clip_x0``). Without it, x0_hat at t = T-1 divides by sqrt(abar_{T-1})
            (5e-5 for the cosine schedule), and images blow up.
        generator: torch.Generator for reproducible noise.
        return_trajectory: also return [x_T, ..., x_0], one tensor a step.
        progress: show a tqdm bar.
    Returns:
        x_0 (B, ...), or (x_0, trajectory).
    """
    states = ddpm_steps(model, schedule, x_T, num_steps=num_steps, timesteps=timesteps, spacing=spacing, y=y,
                        guidance_scale=guidance_scale, guidance_interval=guidance_interval, clip_x0=clip_x0,
                        generator=generator, progress=progress)
    return run_to_end(states, x_T, return_trajectory)


def ddim_sample(model, schedule, x_T, num_steps=50, *, eta=0.0, timesteps=None, spacing="trailing", y=None,
                guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, return_trajectory=False,
                progress=True):
    """Generate samples with DDIM (Song et al. 2021): ``num_steps`` steps of ``ddim_step`` from x_T,
    each one eq. 12: x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps_hat + sigma z.

    Example::

        model, schedule = dh.load_pretrained("mnist")
        digits = dh.ddim_sample(model, schedule, torch.randn(64, 1, 28, 28), num_steps=50)  # (64, 1, 28, 28) in [-1, 1]

    Args:
        model: the noise predictor, model(x_t, t) -> eps, or model(x_t, t, y) when conditional
            (not the (model, schedule) pair that ``dh.load_pretrained`` returns: unpack it).
        schedule: the NoiseSchedule the model was trained with.
        x_T: the starting noise (B, ...), e.g. torch.randn(B, 1, 28, 28), on the model's device.
        num_steps: how many steps, 1 .. T (default 50): 10-20 already give digits, 50 is close
            to the best DDIM can do, 1000 is DDPM's count.
        eta: 0 (default) is deterministic, the same x_T always gives the same sample (an ODE);
            1 adds DDPM's amount of fresh noise at every step; in between, some.
        timesteps: an explicit falling sequence instead of num_steps, e.g. [999, 499, 0].
        spacing: how num_steps are spread over 0 .. T-1 (``make_timesteps``): "trailing"
            (default, starts at T-1), "leading", "linspace", or "logsnr" (even in log-SNR).
        y, guidance_scale, guidance_interval: labels and classifier-free guidance, as for
            ``ddpm_sample`` (guidance_scale is ours: 1 = plain conditional, Ho & Salimans' w + 1).
        clip_x0: clamp x0_hat to [-1, 1] at every step; None (default): yes for images (a model
            with data_range, or x_T shaped (B, C, H, W)), no for 2D points. Without it, images
            blow up to values in the hundreds (the sampler then warns).
        generator: a torch.Generator for the noise of eta > 0, for reproducible samples.
        return_trajectory: also return [x_T, ..., x_0], num_steps + 1 tensors (for plots).
        progress: show a tqdm bar.
    Returns:
        x_0 shaped like x_T (images in [-1, 1]), or (x_0, trajectory). ``ddim_steps`` takes the
        same arguments and yields each step's SamplerState (t, x, x0_hat) instead.
    """
    states = ddim_steps(model, schedule, x_T, num_steps, eta=eta, timesteps=timesteps, spacing=spacing, y=y,
                        guidance_scale=guidance_scale, guidance_interval=guidance_interval, clip_x0=clip_x0,
                        generator=generator, progress=progress)
    return run_to_end(states, x_T, return_trajectory)
