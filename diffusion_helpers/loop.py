"""The one sampling loop that every sampler runs, and the checks of a run, made once before it.

A sampler is a step function over a time grid: ``prepare_sampling`` checks the arguments of the
whole run and fixes the grid, ``sampling_loop`` asks the model once a timestep and hands the
prediction to the step, which returns the new state and what it remembers for the next step
(a multistep solver's previous predictions, passed in and returned, never changed in place).
"""
import math
from typing import NamedTuple

import torch
from tqdm.auto import tqdm

from ._checks import check_bool, check_choice, check_float_tensor, warn
from .guidance import check_guidance, check_guidance_interval, guided_noise_checked, scale_at
from .model_checks import check_model_input, check_prediction, check_time_kind, check_trained_schedule
from .schedules import NoiseSchedule
from .timesteps import SPACINGS, check_timestep_sequence, make_timesteps


class SamplerState(NamedTuple):
    """What the samplers' ``*_steps`` yield after each step: ``for t, x, x0_hat in ...``."""
    t: int                 # the timestep the step started from (the model was asked about it); a float
    #                        time in the flow samplers (flow_samplers.py)
    x: torch.Tensor        # the samples after the step (x_0 after the last one)
    x0_hat: torch.Tensor   # the clean data predicted at t


class SamplingRun(NamedTuple):
    """A sampler's checked arguments, as ``prepare_sampling`` returns them."""
    timesteps: list        # the falling grid t_0 > t_1 > ... > t_{n-1}, ints
    alpha_bars: list       # alpha-bar at each timestep, then 1.0 (t = -1, clean data): n + 1 floats
    y: object              # labels, a LongTensor (B,) on x_T's device, or None
    guidance_scale: object  # a float, or a tensor (B, 1, ..., 1)
    guidance_interval: object  # None or (t_low, t_high)
    clip_x0: bool
    generator: object      # a torch.Generator or None


def default_clip_x0(model, x_T):
    """What clip_x0=None means: clip x0_hat for images, never for points. A model that declares its
    ``data_range`` decides (dh.UNet: images in [-1, 1]; dh.MLPDenoiser: None, points); for any other
    model, x_T shaped (B, C, H, W) means images."""
    if hasattr(model, "data_range"):
        return model.data_range is not None
    return x_T.dim() == 4


def prepare_sampling(model, schedule, x_T, num_steps, default_num_steps, *, timesteps=None, spacing="trailing", y=None,
                     guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, x_T_name="x_T"):
    """Check a sampler's arguments once, before any model call, and fix its time grid.
    default_num_steps=None means all T steps; ``x_T_name`` is what errors call x_T (inversion
    starts from "x0"). Returns a SamplingRun."""
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    default_num_steps = schedule.num_timesteps if default_num_steps is None else default_num_steps
    check_time_kind("model", model, False, "is a velocity model of continuous time t in [0, 1] (flow matching): the "
                    "DDPM samplers need a noise predictor of integer timesteps. Sample it with dh.FLOW_SAMPLERS, "
                    "e.g. dh.flow_euler_sample(model, x_T, num_steps)")
    check_float_tensor(x_T_name, x_T)
    if x_T.shape[0] == 0:
        raise ValueError(f"{x_T_name} holds no samples (shape {tuple(x_T.shape)}): give a batch of at least one")
    check_model_input(model, x_T, x_T_name)  # its shape too: an error names x_T, not the model's own x
    check_trained_schedule(model, schedule)
    if not bool(torch.isfinite(x_T).all()):
        raise ValueError(f"{x_T_name} holds NaN or inf values: start from finite noise, e.g. torch.randn(...)")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if clip_x0 is not None and not isinstance(clip_x0, bool):
        raise TypeError(f"clip_x0 must be True, False or None (clip for images, not for points), got {clip_x0!r}")
    y, guidance_scale = check_guidance(model, x_T, y, guidance_scale)
    guidance_interval = check_guidance_interval(guidance_interval, schedule.num_timesteps)
    check_choice("spacing", spacing, SPACINGS)
    if timesteps is None:
        timesteps = make_timesteps(schedule.num_timesteps, default_num_steps if num_steps is None else num_steps, spacing,
                                   schedule)
    else:
        timesteps = check_timestep_sequence(timesteps, schedule.num_timesteps)
        if num_steps not in (None, default_num_steps, len(timesteps)):
            raise ValueError(f"give num_steps or timesteps, not both: num_steps={num_steps} but "
                             f"{len(timesteps)} timesteps")
    timesteps = timesteps.tolist()
    if x_T_name == "x_T":
        check_starts_from_noise(x_T, timesteps[0], schedule.num_timesteps)
    return SamplingRun(timesteps, schedule.alpha_bars(timesteps + [-1]), y, guidance_scale, guidance_interval,
                       default_clip_x0(model, x_T) if clip_x0 is None else clip_x0, generator)


IMAGE_LIKE_SIZE = 64  # numbers a sample needs before "all within [-1, 1]" tells an image from noise


def check_starts_from_noise(x_T, first_t, num_timesteps):
    """Warn when a run that starts near t = T (where x_t is almost pure noise, N(0, I)) is given a
    sample whose every value lies within [-1, 1], as an image's do: a standard normal value lies
    there with probability 0.68, so 64 of them all do with probability 2e-11. (An image as x_T is
    the usual slip: torch.randn(...) forgotten. Points in 2D are too few numbers to tell.)"""
    if first_t < 0.9 * num_timesteps or x_T[0].numel() < IMAGE_LIKE_SIZE:
        return
    inside = (x_T.abs() <= 1).flatten(1).all(dim=1)
    if bool(inside.any()):
        warn(f"x_T looks like images, not noise: {int(inside.sum())} of its {len(x_T)} samples lie entirely within "
             f"[-1, 1], where noise N(0, I) puts about a third of its values outside; the sampler starts at t = "
             f"{first_t}, almost pure noise: start from x_T = torch.randn(...) (to start from an image, noise it "
             f"first, x_t, _ = schedule.q_sample(x0, t), and sample from that t with timesteps=...)")


def randn_like(x, generator):
    """Standard normal noise shaped like x, drawn on the generator's device (reproducible on CPU)."""
    device = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)


@torch.no_grad()
def sampling_loop(model, x_T, run, step, progress=True, desc="sampling"):
    """The one loop of every sampler: at each timestep t of ``run.timesteps`` predict the noise
    (with guidance, one model call) and take

        x, x0_hat, memory = step(x, eps_hat, alpha_bar_t, alpha_bar_prev, memory)

    to the next timestep (alpha_bar_prev = 1 after the last: clean data). ``memory`` starts as
    None; a multistep solver returns in it what the next step needs. Yields a SamplerState after
    each step. Only the first prediction is checked for NaN (checking every step would make the
    CPU wait for the device each time); the finished samples are checked once at the end."""
    check_bool("progress", progress)
    x, memory, falling = x_T, None, run.timesteps
    steps = zip(tqdm(falling, desc=desc, disable=not progress, leave=False), run.alpha_bars, run.alpha_bars[1:])
    for k, (t, alpha_bar_t, alpha_bar_prev) in enumerate(steps):
        t_batch = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
        eps_hat = guided_noise_checked(model, x, t_batch, run.y, scale_at(run.guidance_scale, run.guidance_interval, t))
        if k == 0:
            check_prediction(eps_hat, x, t_batch)
        x, x0_hat, memory = step(x, eps_hat, alpha_bar_t, alpha_bar_prev, memory)
        if k == len(falling) - 1:
            check_finished(model, x)
        yield SamplerState(t, x, x0_hat)


FAR_OUTSIDE = 2.0  # warn when samples leave the data range by more than this many times its width


def check_finished(model, samples):
    """Refuse finished samples that hold NaN or inf (the model's prediction turned so on the way);
    warn when they lie far outside the range the model was trained on (its ``data_range``,
    [-1, 1] for dh.UNet), by more than FAR_OUTSIDE times its width: beyond [-5, 5] for images.

    Why there: unclipped samples of a good model overshoot [-1, 1] a little (inverted and decoded
    digits reach about -1.5 and 1.2: an overshoot of a quarter of the range, which the drawing
    clamps away), while a run that blew up lands in the hundreds (the shipped "mnist" weights
    with clip_x0=False reach +-800: x0_hat at t = T-1 divides the model's error by
    sqrt(abar_{T-1}) = 5e-5). A value beyond +-5 is neither a pixel nor plausible noise (a standard
    normal value exceeds 5 with probability 6e-7): an image that only overshoots is not warned
    about, a blow-up is."""
    if samples.numel() == 0:
        return
    low, high = samples.min().item(), samples.max().item()
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("the samples hold NaN or inf values: the model's noise prediction turned NaN or inf "
                         "during sampling (check x_T, the model's weights and its input range)")
    data_range = getattr(model, "data_range", None)
    slack = None if data_range is None else FAR_OUTSIDE * (data_range[1] - data_range[0])
    if data_range is not None and (low < data_range[0] - slack or high > data_range[1] + slack):
        warn(f"the samples span {low:.3g} to {high:.3g}, far outside the model's data range [{data_range[0]:g}, "
             f"{data_range[1]:g}]: sample images with clip_x0=True (the default for images)")


def run_to_end(states, x_T, return_trajectory):
    """Run a sampler's states to the end: x_0, or (x_0, [x_T, ..., x_0]) with return_trajectory."""
    x, trajectory = x_T, [x_T]
    for state in states:
        x = state.x
        if return_trajectory:
            trajectory.append(x)
    return (x, trajectory) if return_trajectory else x
