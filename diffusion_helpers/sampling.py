"""The reverse process: DDPM and DDIM steps and their samplers.

Read it top down. ``ddpm_step`` and ``ddim_step`` are one reverse step each, pure functions of x_t
and the predicted noise that check their arguments; ``ddpm_update`` and ``ddim_update`` are the
same equations on two alpha-bars, what the samplers run at every step once ``prepare_sampling``
(loop.py) has checked the whole run. ``ddpm_steps`` and ``ddim_steps`` yield every intermediate
state (for plots and widgets that animate the reverse process); ``ddpm_sample`` and
``ddim_sample`` run them to the end. Every sampler has the same parameters (see samplers.py).

Timesteps are 0-based (index t is the paper's step t+1). ``t_prev = -1`` means "after the last
step", where alpha-bar = 1: the clean data. Images live in [-1, 1].
"""
import math

import torch

from ._checks import check_bool, check_choice, check_float_tensor, check_int, check_number, check_same_shape
from .loop import prepare_sampling, randn_like, run_to_end, sampling_loop
from .schedules import NoiseSchedule, posterior_coefficients, x0_hat_from_eps
from .timesteps import DEFAULT_SPACINGS


VARIANCES = ("beta_tilde", "beta")  # DDPM's two choices of sigma_t^2 (Ho et al. 2020, sec. 3.2)


def reverse_variance(alpha_bar_t, alpha_bar_prev, variance="beta_tilde"):
    """sigma_t^2, the variance of the fresh noise z that a DDPM step adds (Ho et al. 2020, sec. 3.2),
    one of the paper's two choices (there they "had similar results"):

        "beta_tilde": sigma_t^2 = beta~_t = (1 - abar_prev) / (1 - abar_t) beta   (eq. 7; the default)
        "beta":       sigma_t^2 = beta_t = 1 - abar_t / abar_prev

    beta~ is right when x_0 is one fixed point, beta when x_0 ~ N(0, I): the lower and the upper
    bound on the reverse step's entropy for data of unit variance. They differ only near the data:
    beta~_t / beta_t = (1 - abar_{t-1}) / (1 - abar_t) is 0 at t = 0, 0.46 at t = 1 and above 0.9
    from t = 15 on (linear schedule, T = 1000). Over a gap (t_prev < t - 1) beta is the step's own,
    1 - abar_t / abar_prev, as in diffusers' DDPMScheduler, where the two are variance_type
    "fixed_small" and "fixed_large". Floats (or tensors) of alpha-bars; returns sigma_t^2 alike."""
    beta = 1 - alpha_bar_t / alpha_bar_prev
    if variance == "beta_tilde":
        return (1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta
    elif variance == "beta":
        return beta
    else:
        raise ValueError(f"variance must be one of {list(VARIANCES)} (sigma_t^2 = beta~_t or beta_t, Ho et al. 2020, "
                         f"sec. 3.2), got {variance!r}")


def _one_timestep(name, t, low, high):
    if isinstance(t, torch.Tensor) and t.numel() == 1 and not t.is_floating_point() and t.dtype != torch.bool:
        t = int(t.item())  # a 0-d or one-element integer tensor, e.g. from a loop over timesteps
    return check_int(name, t, low, high)


def check_step(schedule, x_t, t, t_prev, eps_hat, noise, clip_x0=False):
    """The checks of a step function called on its own. Returns (t, t_prev) as ints."""
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    check_float_tensor("x_t", x_t)
    t = _one_timestep("t", t, -1, schedule.num_timesteps - 1)  # -1: clean data, where inversion starts
    t_prev = _one_timestep("t_prev", t_prev, -1, schedule.num_timesteps - 1)
    if t_prev == t:
        raise ValueError(f"t_prev must differ from t (both are {t})")
    if eps_hat is None:
        raise TypeError("eps_hat must be the predicted noise, a tensor shaped like x_t, e.g. model(x_t, t); got None")
    check_same_shape("eps_hat", eps_hat, "x_t", x_t)
    if noise is not None:
        check_same_shape("noise", noise, "x_t", x_t)
    check_bool("clip_x0", clip_x0)
    return t, t_prev


def predict_x0_hat(x_t, eps_hat, alpha_bar_t, clip_x0=False):
    """x0_hat (DDPM eq. 15, ``x0_hat_from_eps``), clamped to [-1, 1] if ``clip_x0``, with the eps_hat
    that goes with the clamped x0_hat: eps_hat = (x_t - sqrt(abar_t) x0_hat) / sqrt(1 - abar_t).
    Returns (x0_hat, eps_hat)."""
    x0_hat = x0_hat_from_eps(x_t, eps_hat, alpha_bar_t)
    if clip_x0:
        x0_hat = x0_hat.clamp(-1.0, 1.0)
        eps_hat = (x_t - math.sqrt(alpha_bar_t) * x0_hat) / math.sqrt(1 - alpha_bar_t)
    return x0_hat, eps_hat


def ddpm_update(x_t, eps_hat, alpha_bar_t, alpha_bar_prev, noise=None, clip_x0=False, variance="beta_tilde"):
    """``ddpm_step`` on arguments already checked, with alpha-bars (floats) in place of timesteps;
    noise None adds none (the last step). Returns (x_{t_prev}, x0_hat)."""
    x0_hat, _ = predict_x0_hat(x_t, eps_hat, alpha_bar_t, clip_x0)
    coef_x0, coef_xt, _ = posterior_coefficients(alpha_bar_t, alpha_bar_prev)
    mean = coef_x0 * x0_hat + coef_xt * x_t
    if noise is None:
        return mean, x0_hat
    return mean + math.sqrt(reverse_variance(alpha_bar_t, alpha_bar_prev, variance)) * noise, x0_hat


def ddpm_step(schedule, x_t, t, t_prev, eps_hat, *, noise=None, clip_x0=False, variance="beta_tilde"):
    """One ancestral DDPM step from timestep t to t_prev < t (Ho et al. 2020, Algorithm 2):

        x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t)                          (eq. 15)
        x_{t_prev} = mu~ + sigma z,   z ~ N(0, I)     sigma^2 = beta~ (the posterior q(x_{t_prev} | x_t, x0_hat)) or beta
        mu~ = sqrt(abar_prev) beta / (1 - abar_t) x0_hat + sqrt(alpha) (1 - abar_prev) / (1 - abar_t) x_t  (eq. 7)
        beta~ = (1 - abar_prev) / (1 - abar_t) beta                                        (eq. 7)

    where alpha = abar_t / abar_prev and beta = 1 - alpha: alpha_t and beta_t when t_prev = t - 1,
    and the same step over a gap otherwise (as diffusers' DDPMScheduler takes it). Unclipped, mu~
    equals Algorithm 2's (x_t - beta / sqrt(1 - abar_t) eps_hat) / sqrt(alpha). The last step
    (t_prev = -1) adds no noise. ``variance="beta"`` adds sqrt(beta) z instead of sqrt(beta~) z, the
    other choice of Ho et al. 2020, sec. 3.2 (diffusers' variance_type "fixed_large").

    Args:
        schedule: the NoiseSchedule the model was trained with.
        x_t: the current samples (B, ...).
        t, t_prev: ints with 0 <= t_prev < t < T, or t_prev = -1 for the last step (to clean data).
        eps_hat: the predicted noise eps_theta(x_t, t), shaped like x_t.
        noise: z, shaped like x_t; drawn with torch.randn_like if None.
        clip_x0: clamp x0_hat to [-1, 1] (right for images) before forming the mean.
        variance: sigma^2 of the fresh noise, "beta_tilde" (default) or "beta" (``reverse_variance``,
            Ho et al. 2020, sec. 3.2).
    Returns:
        (x_{t_prev}, x0_hat), both shaped like x_t.
    """
    t, t_prev = check_step(schedule, x_t, t, t_prev, eps_hat, noise, clip_x0)
    check_choice("variance", variance, VARIANCES)
    if t_prev > t:
        raise ValueError(f"a DDPM step goes from t to an earlier t_prev, got t={t}, t_prev={t_prev}")
    if t_prev >= 0 and noise is None:
        noise = torch.randn_like(x_t)
    return ddpm_update(x_t, eps_hat, schedule.alpha_bar(t), schedule.alpha_bar(t_prev),
                       noise if t_prev >= 0 else None, clip_x0, variance)


def ddim_update(x_t, eps_hat, alpha_bar_t, alpha_bar_prev, eta=0.0, noise=None, clip_x0=False):
    """``ddim_step`` on arguments already checked, with alpha-bars (floats) in place of timesteps
    (alpha_bar_prev > alpha_bar_t: towards data; smaller: inversion). Returns (x_{t_prev}, x0_hat)."""
    x0_hat, eps_hat = predict_x0_hat(x_t, eps_hat, alpha_bar_t, clip_x0)
    inverting = alpha_bar_prev < alpha_bar_t
    sigma = 0.0 if inverting else \
        eta * math.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev))
    x_prev = math.sqrt(alpha_bar_prev) * x0_hat + math.sqrt(max(1 - alpha_bar_prev - sigma**2, 0.0)) * eps_hat
    if sigma > 0:
        x_prev = x_prev + sigma * noise
    return x_prev, x0_hat


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
    t, t_prev = check_step(schedule, x_t, t, t_prev, eps_hat, noise, clip_x0)
    eta = check_number("eta", eta, low=0.0, high=1.0)
    if t_prev > t and eta > 0:
        raise ValueError(f"inversion (t_prev={t_prev} > t={t}) is deterministic: use eta=0, got eta={eta}")
    if t == -1 and clip_x0:
        raise ValueError("at t = -1 x_t is the clean data itself: there is no x0_hat to clip (clip_x0=False)")
    if eta > 0 and t_prev >= 0 and noise is None:
        noise = torch.randn_like(x_t)
    return ddim_update(x_t, eps_hat, schedule.alpha_bar(t), schedule.alpha_bar(t_prev), eta, noise, clip_x0)


def ddpm_steps(model, schedule, x_T, num_steps=None, *, timesteps=None, spacing=DEFAULT_SPACINGS["ddpm"], y=None,
               guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, progress=True,
               variance="beta_tilde"):
    """DDPM ancestral sampling (Ho et al. 2020, Algorithm 2), yielding a SamplerState (t, x, x0_hat)
    after each ``ddpm_step``. Arguments as for ``ddpm_sample``."""
    run = prepare_sampling(model, schedule, x_T, num_steps, None, timesteps=timesteps, spacing=spacing, y=y,
                           guidance_scale=guidance_scale, guidance_interval=guidance_interval, clip_x0=clip_x0,
                           generator=generator)
    check_choice("variance", variance, VARIANCES)

    def step(x, eps_hat, alpha_bar_t, alpha_bar_prev, memory):
        noise = randn_like(x, generator) if alpha_bar_prev < 1 else None  # alpha-bar 1: the last step, no noise
        return (*ddpm_update(x, eps_hat, alpha_bar_t, alpha_bar_prev, noise, run.clip_x0, variance), None)
    return sampling_loop(model, x_T, run, step, progress, "DDPM sampling")


def ddim_steps(model, schedule, x_T, num_steps=50, *, timesteps=None, spacing=DEFAULT_SPACINGS["ddim"], y=None,
               guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, progress=True, eta=0.0):
    """DDIM sampling (Song et al. 2021, eq. 12), yielding a SamplerState (t, x, x0_hat) after each
    ``ddim_step``. Arguments as for ``ddim_sample``."""
    run = prepare_sampling(model, schedule, x_T, num_steps, 50, timesteps=timesteps, spacing=spacing, y=y,
                           guidance_scale=guidance_scale, guidance_interval=guidance_interval, clip_x0=clip_x0,
                           generator=generator)
    eta = check_number("eta", eta, low=0.0, high=1.0)

    def step(x, eps_hat, alpha_bar_t, alpha_bar_prev, memory):
        noise = randn_like(x, generator) if eta > 0 and alpha_bar_prev < 1 else None
        return (*ddim_update(x, eps_hat, alpha_bar_t, alpha_bar_prev, eta, noise, run.clip_x0), None)
    return sampling_loop(model, x_T, run, step, progress, "DDIM sampling")


def ddpm_sample(model, schedule, x_T, num_steps=None, *, timesteps=None, spacing=DEFAULT_SPACINGS["ddpm"], y=None,
                guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, progress=True,
                return_trajectory=False, variance="beta_tilde"):
    """Generate samples with DDPM (Ho et al. 2020, Algorithm 2): T steps of ``ddpm_step`` from x_T.

    Example: ``digits = dh.ddpm_sample(model, schedule, torch.randn(16, 1, 28, 28))``.

    Args (the same in every sampler of ``dh.SAMPLERS``):
        model: callable model(x_t, t) -> eps, or model(x_t, t, y) when conditional (not the
            (model, schedule) pair that ``dh.load_pretrained`` returns: unpack it).
        schedule: the NoiseSchedule the model was trained with.
        x_T: starting noise (B, ...), e.g. torch.randn(B, 1, 28, 28), on the model's device.
        num_steps: how many steps (model calls); here None for all T steps, or fewer (DDPM over a
            gap, see ``ddpm_step``).
        timesteps: an explicit falling sequence instead of num_steps, e.g. [999, 499, 0].
        spacing: how num_steps are spread over 0 .. T-1 (``make_timesteps``): "trailing"
            (starts at T-1), "leading", "linspace", "logsnr" (even in half log-SNR) or "karras"
            (Karras et al.'s rho = 7); each sampler's default is ``DEFAULT_SPACINGS[name]``
            ("trailing" here and for DDIM).
        y: class labels (B,) in [0, num_classes) or one int; dh.NULL_LABEL marks a row without a
            class; None: no labels.
        guidance_scale: classifier-free guidance, ours: 0 = unconditional, 1 = plain conditional,
            > 1 guided (Ho & Salimans' w = guidance_scale - 1); a number or a (B,) tensor.
        guidance_interval: None (guide at every step), or (t_low, t_high): guide only at timesteps
            t_low <= t <= t_high, plain conditional (scale 1, one model call) elsewhere
            (Kynkaanniemi et al. 2024).
        clip_x0: clamp x0_hat to [-1, 1] at every step; None: yes for images (a model with
            data_range, or x_T shaped (B, C, H, W)), no for 2D points. Without it, x0_hat at
            t = T-1 divides by sqrt(abar_{T-1}) (5e-5 for the cosine schedule), and images blow up.
        generator: a torch.Generator for the noise a sampler draws, for reproducible samples
            (deterministic samplers draw none).
        progress: show a tqdm bar.
        return_trajectory: also return [x_T, ..., x_0], num_steps + 1 tensors (for plots).
        variance: DDPM's own option, sigma_t^2 of the fresh noise: "beta_tilde" (default, the
            posterior's beta~_t) or "beta" (beta_t), the paper's two choices (Ho et al. 2020, sec. 3.2;
            diffusers' "fixed_small" and "fixed_large"); they differ only in the last steps.
    Returns:
        x_0 shaped like x_T (images in [-1, 1]), or (x_0, trajectory). ``ddpm_steps`` takes the
        same arguments (but return_trajectory) and yields each step's SamplerState (t, x, x0_hat).
    """
    states = ddpm_steps(model, schedule, x_T, num_steps, timesteps=timesteps, spacing=spacing, y=y,
                        guidance_scale=guidance_scale, guidance_interval=guidance_interval, clip_x0=clip_x0,
                        generator=generator, progress=progress, variance=variance)
    return run_to_end(states, x_T, return_trajectory)


def ddim_sample(model, schedule, x_T, num_steps=50, *, timesteps=None, spacing=DEFAULT_SPACINGS["ddim"], y=None,
                guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, progress=True,
                return_trajectory=False, eta=0.0):
    """Generate samples with DDIM (Song et al. 2021): ``num_steps`` steps of ``ddim_step`` from x_T,
    each one eq. 12: x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps_hat + sigma z.

    Example::

        model, schedule = dh.load_pretrained("mnist")
        digits = dh.ddim_sample(model, schedule, torch.randn(64, 1, 28, 28), num_steps=50)  # (64, 1, 28, 28) in [-1, 1]

    Args as for ``ddpm_sample`` (the same in every sampler), and:
        num_steps: how many steps, 1 .. T (default 50): 10-20 already give digits, 50 is close
            to the best DDIM can do, 1000 is DDPM's count.
        eta: DDIM's own option: 0 (default) is deterministic, the same x_T always gives the same
            sample (an ODE); 1 adds DDPM's amount of fresh noise at every step (drawn with
            ``generator``); in between, some.
    Returns:
        x_0 shaped like x_T, or (x_0, trajectory). ``ddim_steps`` yields each SamplerState.
    """
    states = ddim_steps(model, schedule, x_T, num_steps, timesteps=timesteps, spacing=spacing, y=y,
                        guidance_scale=guidance_scale, guidance_interval=guidance_interval, clip_x0=clip_x0,
                        generator=generator, progress=progress, eta=eta)
    return run_to_end(states, x_T, return_trajectory)
