"""Inpainting: the sampler fills the unknown part of an image while the known part is kept.

The baseline that Lugmayr et al. (2022, "RePaint", eq. 8 and Algorithm 1) start from: at every step
of the reverse process, the known pixels are replaced by the real image noised to the step's noise
level (the forward process, ``q_sample``), and only the unknown pixels come from the sampler,

    x_{t'} = m * (sqrt(abar_{t'}) x_known + sqrt(1 - abar_{t'}) eps)    eps ~ N(0, I), fresh each step
           + (1 - m) * ddim_step(x_t, eps_theta(x_t, t))                 the model's step (eta as DDIM's)

with m the mask (1: known, 0: unknown). At the last step (t' = -1, abar = 1) the known pixels are
the real image exactly. The two halves are noised independently: the known half's noise knows
nothing of what the model made of the unknown half, so they can disagree at the mask's edge.
RePaint's remedy, ``resample``: after a step, noise x_{t'} back to t with the forward step
q(x_t | x_{t'}) = N(sqrt(abar_t / abar_{t'}) x_{t'}, (1 - abar_t / abar_{t'}) I) and take the step
again (their jump length 1, U = resample), so the model sees both halves together more often.
"""
import math

import torch
from tqdm.auto import tqdm

from ._checks import check_bool, check_data, check_int, check_number
from .guidance import guided_noise_checked, scale_at
from .loop import SamplerState, check_finished, prepare_sampling, randn_like, run_to_end
from .model_checks import check_prediction
from .sampling import ddim_update
from .timesteps import DEFAULT_SPACINGS


def check_mask(mask, x_T, x_T_name="x_T"):
    """Return ``mask`` as a bool tensor on x_T's device (True: known) after refusing a mask that is
    not a tensor, does not broadcast to x_T's shape (B, ...) without enlarging it, or holds values
    other than 0 and 1 (a soft mask would blend noise levels: RePaint's mask is binary).
    ``x_T_name``: what the errors call x_T."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a torch.Tensor of 0 (unknown: the sampler fills it) and 1 (known: kept), "
                        f"e.g. torch.zeros(28, 28) with mask[:14] = 1 for a known top half; got {type(mask).__name__}")
    shape = tuple(x_T.shape)
    try:
        fits = mask.dim() <= x_T.dim() and torch.broadcast_shapes(mask.shape, x_T.shape) == x_T.shape
    except RuntimeError:
        fits = False
    if not fits or mask.numel() == 0:
        raise ValueError(f"mask must broadcast to {x_T_name}'s shape {shape} without enlarging it: e.g. {shape[-2:]} "
                         f"(one mask for every image), (1, 1, {', '.join(map(str, shape[-2:]))}) or "
                         f"({shape[0]}, 1, {', '.join(map(str, shape[-2:]))}) (one an image); got {tuple(mask.shape)}")
    if mask.dtype != torch.bool:
        values = mask.detach().double()
        if not bool(((values == 0) | (values == 1)).all()):
            odd = values[(values != 0) & (values != 1)]
            raise ValueError(f"mask must hold only 0 (unknown: the sampler fills it) and 1 (known: kept from "
                             f"`known`), got {odd.numel()} other values, e.g. {odd.flatten()[0].item():g}: "
                             "threshold a soft mask first, e.g. mask > 0.5")
        mask = values == 1
    return mask.to(x_T.device)


def check_known(known, x_T):
    """Refuse a ``known`` that is not data (finite; images in [-1, 1]) shaped like x_T or like one of
    its rows (batch 1: the same image under every noise)."""
    check_data("known", known)
    if known.shape[1:] != x_T.shape[1:] or known.shape[0] not in (1, x_T.shape[0]):
        raise ValueError(f"known must have x_T's shape {tuple(x_T.shape)} or batch 1 "
                         f"{(1, *x_T.shape[1:])} (one image under every noise), got {tuple(known.shape)}")
    return known.to(device=x_T.device, dtype=x_T.dtype)


def q_sample_at(known, alpha_bar, noise):
    """The forward process at a noise level given by its alpha-bar (DDPM eq. 4; ``q_sample`` takes
    a timestep): sqrt(abar) x0 + sqrt(1 - abar) eps."""
    return math.sqrt(alpha_bar) * known + math.sqrt(1 - alpha_bar) * noise


def inpaint_steps(model, schedule, x_T, num_steps=50, *, timesteps=None, spacing=DEFAULT_SPACINGS["ddim"], y=None,
                  guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, progress=True,
                  known, mask, eta=1.0, resample=1):
    """Inpainting (RePaint's baseline, Lugmayr et al. 2022), yielding a SamplerState (t, x, x0_hat)
    after each step of the time grid. Arguments as for ``inpaint_sample``; checked here, before
    the first model call."""
    run = prepare_sampling(model, schedule, x_T, num_steps, 50, timesteps=timesteps, spacing=spacing, y=y,
                           guidance_scale=guidance_scale, guidance_interval=guidance_interval, clip_x0=clip_x0,
                           generator=generator)
    known, mask = check_known(known, x_T), check_mask(mask, x_T)
    eta = check_number("eta", eta, low=0.0, high=1.0)
    resample = check_int("resample", resample, low=1)
    check_bool("progress", progress)
    return inpainting_loop(model, x_T, run, known, mask, eta, resample, progress)


@torch.no_grad()
def inpainting_loop(model, x_T, run, known, mask, eta, resample, progress):
    """The loop of ``inpaint_steps`` on checked arguments: at each step of ``run``'s grid, the model's
    DDIM step for the unknown pixels, the forward process for the known ones (module docstring)."""
    x, generator = x_T, run.generator
    steps = list(zip(run.timesteps, run.alpha_bars, run.alpha_bars[1:]))
    for k, (t, alpha_bar_t, alpha_bar_prev) in enumerate(tqdm(steps, desc="inpainting", disable=not progress,
                                                              leave=False)):
        t_batch = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
        last = alpha_bar_prev >= 1.0  # the step to clean data: no fresh noise, no resampling
        for u in range(1 if last else resample):
            if u > 0:  # RePaint's resampling: back to t with the forward step q(x_t | x_t'), then the step again
                ratio = alpha_bar_t / alpha_bar_prev
                x = math.sqrt(ratio) * x + math.sqrt(1 - ratio) * randn_like(x, generator)
            eps_hat = guided_noise_checked(model, x, t_batch, run.y, scale_at(run.guidance_scale, run.guidance_interval, t))
            if k == 0 and u == 0:
                check_prediction(eps_hat, x, t_batch)
            noise = randn_like(x, generator) if eta > 0 and not last else None
            unknown, x0_hat = ddim_update(x, eps_hat, alpha_bar_t, alpha_bar_prev, eta, noise, run.clip_x0)
            noised_known = known if last else q_sample_at(known, alpha_bar_prev, randn_like(unknown, generator))
            x = torch.where(mask, noised_known, unknown)
        if k == len(steps) - 1:
            check_finished(model, x)
        yield SamplerState(t, x, x0_hat)


def inpaint_sample(model, schedule, x_T, num_steps=50, *, timesteps=None, spacing=DEFAULT_SPACINGS["ddim"], y=None,
                   guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, progress=True,
                   return_trajectory=False, known, mask, eta=1.0, resample=1):
    """Fill the unknown part of ``known`` (where ``mask`` is 0) with the model, keeping the known part
    (Lugmayr et al. 2022, "RePaint", eq. 8): at each step of the time grid, from t to t',

        unknown pixels: the DDIM step (Song et al. 2021, eq. 12; eta = 1 is DDPM's ancestral step)
        known pixels:   sqrt(abar_{t'}) known + sqrt(1 - abar_{t'}) eps,  eps ~ N(0, I)  (q_sample)

    so that at the end (abar = 1) the known pixels are ``known`` exactly.

    Example::

        model, schedule = dh.load_pretrained("mnist")
        digit = images[:1]                                   # (1, 1, 28, 28) in [-1, 1]
        mask = torch.zeros(28, 28); mask[:14] = 1            # the top half known, the bottom filled in
        filled = dh.inpaint_sample(model, schedule, torch.randn(8, 1, 28, 28), 50, known=digit, mask=mask)

    Args as for ``ddim_sample`` (the same in every sampler), and its own:
        known: the real images (B, C, H, W) in [-1, 1], or (1, C, H, W): one image under every noise.
        mask: 1 (or True) where a pixel is known and kept, 0 where the sampler fills it in; any
            shape that broadcasts to x_T's, e.g. (H, W) for every image or (B, 1, H, W) one each.
        eta: the unknown pixels' step, as DDIM's: 1 (default) adds DDPM's fresh noise each step, as
            RePaint does; 0 is deterministic (the known pixels are noised afresh either way).
        resample: RePaint's U with jump length 1: each step but the last is taken ``resample``
            times, noised back between tries; model calls = num_steps + (resample - 1) (num_steps - 1).
    Returns:
        x_0 shaped like x_T (known pixels equal to ``known``), or (x_0, [x_T, ..., x_0]).
        ``inpaint_steps`` takes the same arguments (but return_trajectory) and yields a
        SamplerState (t, x, x0_hat) after each step of the grid.
    """
    states = inpaint_steps(model, schedule, x_T, num_steps, timesteps=timesteps, spacing=spacing, y=y,
                           guidance_scale=guidance_scale, guidance_interval=guidance_interval, clip_x0=clip_x0,
                           generator=generator, progress=progress, known=known, mask=mask, eta=eta, resample=resample)
    return run_to_end(states, x_T, return_trajectory)


def seam_jump(images, mask):
    """How sharply images change across the mask's edge (the seam): for each image, the mean
    absolute difference between two neighbouring pixels (side by side or one above the other) of
    which one is known and one unknown,

        jump = mean over pairs (i, j) with m_i != m_j of |x_i - x_j|.

    A real digit's jump there is that of its strokes; a filled digit whose two parts disagree jumps
    more. Args: images (B, C, H, W); mask as for ``inpaint_sample`` (1 known, 0 unknown), with
    both kinds in every image. Returns a float64 tensor (B,)."""
    check_data("images", images)
    if images.dim() != 4:
        raise ValueError(f"images must have shape (B, C, H, W), got {tuple(images.shape)}")
    mask = check_mask(mask, images, "images").expand(images.shape)
    x = images.detach().double()
    jumps, pairs = torch.zeros(len(x), dtype=torch.float64, device=x.device), torch.zeros_like(x[:, 0, 0, 0])
    for dim in (2, 3):  # one above the other, side by side
        across = (mask.narrow(dim, 1, mask.shape[dim] - 1) != mask.narrow(dim, 0, mask.shape[dim] - 1)).double()
        difference = (x.narrow(dim, 1, x.shape[dim] - 1) - x.narrow(dim, 0, x.shape[dim] - 1)).abs()
        jumps += (difference * across).sum((1, 2, 3))
        pairs += across.sum((1, 2, 3))
    if bool((pairs == 0).any()):
        raise ValueError("mask must hold both known and unknown pixels in every image: without an edge there is "
                         "no seam to measure")
    return (jumps / pairs).cpu()
