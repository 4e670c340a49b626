"""Reverse process: DDPM ancestral sampling, DDIM, and classifier-free guidance.

Each sampler comes twice: ``*_steps`` is a generator that yields every intermediate state (for
plots and widgets that animate the reverse process), and ``*_sample`` runs it to the end.
"""
import torch
from tqdm.auto import tqdm

from ._checks import check_float_tensor, check_int, check_labels, check_number
from .schedules import NoiseSchedule, _at


def guided_noise(model, x_t, t, y=None, guidance_scale=1.0):
    """The noise prediction with classifier-free guidance (Ho & Salimans 2022, eq. 6):

    eps = eps(x_t, t, None) + w * (eps(x_t, t, y) - eps(x_t, t, None)).

    w = 0 is unconditional, w = 1 plain conditional (one model call), w > 1 guided. With y = None
    the model is called as model(x_t, t) and w must be 1.
    Shapes: x_t (B, ...), t (B,), y (B,) or None.
    """
    if y is None:
        if guidance_scale != 1.0:
            raise ValueError(f"guidance_scale={guidance_scale} needs class labels y; with y=None use guidance_scale=1.0")
        return model(x_t, t)
    if guidance_scale == 1.0:
        return model(x_t, t, y)
    eps_uncond = model(x_t, t, None)
    if guidance_scale == 0.0:
        return eps_uncond
    return eps_uncond + guidance_scale * (model(x_t, t, y) - eps_uncond)


def _check_sampler_inputs(schedule, x_T, y, guidance_scale, generator):
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    check_float_tensor("x_T", x_T)
    guidance_scale = check_number("guidance_scale", guidance_scale, low=0.0)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    y = check_labels(y, x_T.shape[0], None)
    return (None if y is None else y.to(x_T.device)), guidance_scale


def _randn_like(x, generator):
    """Standard normal noise shaped like x, drawn on the generator's device (reproducible on CPU)."""
    device = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)


def _predict(model, schedule, x, t, y, guidance_scale, clip_x0):
    t_batch = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
    eps = guided_noise(model, x, t_batch, y, guidance_scale)
    x0_hat = schedule.predict_x0(x, t_batch, eps)
    if clip_x0:
        x0_hat = x0_hat.clamp(-1.0, 1.0)
        eps = (x - _at(schedule.alphas_cumprod, t_batch, x).sqrt() * x0_hat) / _at(1 - schedule.alphas_cumprod, t_batch, x).sqrt()
    return t_batch, eps, x0_hat


def ddpm_steps(model, schedule, x_T, y=None, guidance_scale=1.0, clip_x0=False, generator=None, progress=True):
    """Ancestral DDPM sampling (Ho et al. 2020, Algorithm 2), one step at a time.

    For t = T-1, ..., 0: predict eps, form x0_hat = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)
    (clamped to [-1, 1] if ``clip_x0``), then draw x_{t-1} ~ q(x_{t-1} | x_t, x0_hat) =
    N(mu~_t(x_t, x0_hat), beta~_t I) (DDPM eq. 7); no noise is added at t = 0.

    Yields (t, x_{t-1}, x0_hat) after each of the T steps.
    """
    y, guidance_scale = _check_sampler_inputs(schedule, x_T, y, guidance_scale, generator)
    return _ddpm_generator(model, schedule, x_T, y, guidance_scale, clip_x0, generator, progress)


@torch.no_grad()
def _ddpm_generator(model, schedule, x, y, guidance_scale, clip_x0, generator, progress):
    for t in tqdm(range(schedule.num_timesteps - 1, -1, -1), desc="DDPM sampling", disable=not progress, leave=False):
        t_batch, _, x0_hat = _predict(model, schedule, x, t, y, guidance_scale, clip_x0)
        mean, variance = schedule.posterior(x0_hat, x, t_batch)
        x = mean + variance.sqrt() * _randn_like(x, generator) if t > 0 else mean
        yield t, x, x0_hat


def ddim_timesteps(num_timesteps, num_steps):
    """The DDIM sub-sequence tau, "trailing" spacing (Lin et al. 2024, table 2): it starts at T-1.

    Returns a LongTensor (num_steps,) falling from T-1; num_steps = T gives T-1, ..., 0.
    """
    T = check_int("num_timesteps", num_timesteps, low=1)
    num_steps = check_int("num_steps", num_steps, low=1, high=T)
    return (torch.round(torch.arange(T, 0, -T / num_steps, dtype=torch.float64)) - 1).long()[:num_steps]


def ddim_steps(model, schedule, x_T, num_steps=50, eta=0.0, y=None, guidance_scale=1.0, clip_x0=False,
               generator=None, progress=True):
    """DDIM sampling (Song et al. 2021, eq. 12) over ``ddim_timesteps``, one step at a time.

    x_{t'} = sqrt(abar_{t'}) x0_hat + sqrt(1 - abar_{t'} - sigma_t^2) eps + sigma_t z,
    sigma_t = eta * sqrt((1 - abar_{t'}) / (1 - abar_t)) * sqrt(1 - abar_t / abar_{t'})   (eq. 16),

    where t' is the next (smaller) timestep and abar = 1 after the last. eta = 0 is deterministic;
    eta = 1 with num_steps = T is DDPM. With ``clip_x0``, eps is recomputed from the clamped x0_hat.
    For images use clip_x0=True: the first step starts at t = T-1, where x0_hat divides by
    sqrt(abar_{T-1}) (5e-5 for the cosine schedule), so a tiny error in eps becomes a huge one.
    Yields (t, x_{t'}, x0_hat) after each of the num_steps steps.
    """
    y, guidance_scale = _check_sampler_inputs(schedule, x_T, y, guidance_scale, generator)
    timesteps = ddim_timesteps(schedule.num_timesteps, num_steps)
    eta = check_number("eta", eta, low=0.0, high=1.0)
    return _ddim_generator(model, schedule, x_T, timesteps, eta, y, guidance_scale, clip_x0, generator, progress)


@torch.no_grad()
def _ddim_generator(model, schedule, x, timesteps, eta, y, guidance_scale, clip_x0, generator, progress):
    alphas_cumprod = schedule.alphas_cumprod.double().cpu()
    for i, t in enumerate(tqdm(timesteps.tolist(), desc="DDIM sampling", disable=not progress, leave=False)):
        t_batch, eps, x0_hat = _predict(model, schedule, x, t, y, guidance_scale, clip_x0)
        abar = alphas_cumprod[t]
        abar_next = alphas_cumprod[timesteps[i + 1]] if i + 1 < len(timesteps) else torch.tensor(1.0, dtype=torch.float64)
        sigma = eta * ((1 - abar_next) / (1 - abar) * (1 - abar / abar_next)).sqrt()
        direction = (1 - abar_next - sigma**2).clamp(min=0).sqrt()
        x = abar_next.sqrt().item() * x0_hat + direction.item() * eps
        if i + 1 < len(timesteps) and eta > 0:
            x = x + sigma.item() * _randn_like(x, generator)
        yield t, x, x0_hat


def _run(steps, x_T, return_trajectory):
    trajectory = [x_T]
    x = x_T
    for _, x, _ in steps:
        if return_trajectory:
            trajectory.append(x)
    return (x, trajectory) if return_trajectory else x


def ddpm_sample(model, schedule, x_T, y=None, guidance_scale=1.0, clip_x0=False, generator=None,
                return_trajectory=False, progress=True):
    """Generate samples with DDPM (see ``ddpm_steps``) starting from noise x_T (B, ...).

    Args:
        model: callable model(x_t, t) -> eps, or model(x_t, t, y) when conditional.
        schedule: the NoiseSchedule the model was trained with.
        x_T: starting noise, e.g. torch.randn(B, 1, 28, 28).
        y: class labels (B,) or one int, or None (unconditional).
        guidance_scale: w of classifier-free guidance (0, 1 or more; see ``guided_noise``).
        clip_x0: clamp x0_hat to [-1, 1] at every step.
        generator: torch.Generator for reproducible noise.
        return_trajectory: also return [x_T, ..., x_0], T + 1 tensors.
        progress: show a tqdm bar.
    Returns:
        x_0 (B, ...), or (x_0, trajectory).
    """
    steps = ddpm_steps(model, schedule, x_T, y, guidance_scale, clip_x0, generator, progress)
    return _run(steps, x_T, return_trajectory)


def ddim_sample(model, schedule, x_T, num_steps=50, eta=0.0, y=None, guidance_scale=1.0, clip_x0=False,
                generator=None, return_trajectory=False, progress=True):
    """Generate samples with DDIM (see ``ddim_steps``) in ``num_steps`` steps from noise x_T (B, ...).

    Arguments as for ``ddpm_sample``, plus num_steps (1 .. T) and eta (0 = deterministic, 1 =
    DDPM-like noise). Returns x_0, or (x_0, [x_T, ..., x_0]) with num_steps + 1 tensors.
    """
    steps = ddim_steps(model, schedule, x_T, num_steps, eta, y, guidance_scale, clip_x0, generator, progress)
    return _run(steps, x_T, return_trajectory)
