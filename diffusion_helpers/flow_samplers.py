"""ODE samplers for velocity models: Euler and Heun steps over a time grid from t = 1 to t = 0.

A velocity model v_theta(x, t) defines the ODE dx/dt = v_theta(x, t); sampling integrates it from
noise (t = 1) to data (t = 0), so every step has t_next < t and a negative step h = t_next - t.
Read it top down: ``euler_step`` and ``heun_step`` are one step each, pure functions of the state
and the velocities they are given; ``flow_euler_steps`` and ``flow_heun_steps`` ask the model and
yield a SamplerState (t, x, x0_hat) after each step; ``flow_euler_sample`` and ``flow_heun_sample``
run them to the end. The samplers share one signature (as dh.SAMPLERS do, without the schedule):

    sample(model, x_T, num_steps, *, times, y, guidance_scale, generator, progress, return_trajectory)

They are listed by name in ``dh.FLOW_SAMPLERS`` (samplers.py), apart from dh.SAMPLERS, whose
samplers take a noise predictor and its schedule. A DDPM noise predictor is sampled here as
``dh.VelocityFromNoise(model, schedule)`` (flow_conversion.py).
"""
import numbers

import torch
from tqdm.auto import tqdm

from ._checks import check_bool, check_float_tensor, check_int, check_number, check_same_shape
from .flow_matching import x0_hat_from_velocity
from .guidance import check_guidance, guided_noise_checked
from .loop import SamplerState, run_to_end
from .model_checks import check_model_input, check_time_kind


def euler_step(x, t, t_next, velocity):
    """One Euler step of dx/dt = v(x, t) from time t to t_next (Euler 1768; Karras et al. 2022,
    Algorithm 1 without its correction; on DDPM's path it is DDIM's step, Song et al. 2021, eq. 13):

        x_next = x + (t_next - t) v(x, t).

    Sampling runs from noise to data, so t_next < t and the step h = t_next - t is negative: x
    moves against the velocity eps - x0, towards the data. On a straight path whose velocity the
    model knows exactly, one step from t = 1 to 0 lands on x_0.
    x, velocity (B, ...); t, t_next floats. Returns x_next (B, ...)."""
    _check_step(x, t, t_next, velocity=velocity)
    return _euler(x, t, t_next, velocity)


def _euler(x, t, t_next, velocity):
    return x + (t_next - t) * velocity


def heun_step(x, t, t_next, velocity, velocity_next):
    """One Heun step (the explicit trapezoidal rule; Karras et al. 2022, Algorithm 1, lines 5-8):
    velocity = v(x, t), velocity_next = v(x + h velocity, t_next) at the Euler step's end, and

        x_next = x + (t_next - t) (velocity + velocity_next) / 2,

    second order: its error falls as h^2 where Euler's falls as h. x, velocity, velocity_next
    (B, ...); t, t_next floats. Returns x_next (B, ...)."""
    _check_step(x, t, t_next, velocity=velocity, velocity_next=velocity_next)
    return _heun(x, t, t_next, velocity, velocity_next)


def _heun(x, t, t_next, velocity, velocity_next):
    return x + (t_next - t) * 0.5 * (velocity + velocity_next)


def _check_step(x, t, t_next, **velocities):
    """The checks of a step called on its own (the samplers check once a run, then step unchecked)."""
    check_float_tensor("x", x)
    check_number("t", t)
    check_number("t_next", t_next)
    for name, velocity in velocities.items():
        if velocity is None:
            raise TypeError(f"{name} must be the model's velocity, a tensor shaped like x, e.g. model(x, t); got None")
        check_same_shape(name, velocity, "x", x)


def flow_times(num_steps):
    """The default grid: num_steps + 1 evenly spaced times from 1 (noise) to 0 (data), floats."""
    num_steps = check_int("num_steps", num_steps, low=1)
    return [1.0 - k / num_steps for k in range(num_steps)] + [0.0]


def check_times(times):
    """A falling grid of times (a sequence or a 1-D tensor of at least two finite numbers >= 0),
    as a list of floats."""
    if isinstance(times, torch.Tensor):
        if times.dim() != 1 or times.dtype == torch.bool or times.is_complex():
            raise TypeError(f"times must be a 1-D tensor or a sequence of numbers, got shape {tuple(times.shape)}")
        times = times.tolist()
    if isinstance(times, (str, bytes)) or not hasattr(times, "__len__"):
        raise TypeError(f"times must be a falling sequence of times such as [1.0, 0.5, 0.0], got {type(times).__name__}")
    times = list(times)
    if not all(isinstance(t, numbers.Real) and not isinstance(t, bool) for t in times):
        raise TypeError(f"times must hold numbers, got {times[:5]}")
    times = [float(t) for t in times]
    if len(times) < 2:
        raise ValueError(f"times must hold at least two times (one step: start and end), got {times}")
    if not all(t == t and abs(t) != float("inf") and t >= 0 for t in times):
        raise ValueError(f"times must be finite and >= 0, got {times[:5]}")
    if any(later >= earlier for earlier, later in zip(times, times[1:])):
        raise ValueError(f"times must fall strictly, from noise (t = 1) to data (t = 0), got {times[:5]}"
                         + (" ...: reversed? sampling runs from t = 1 down to t = 0" if times[0] < times[-1] else ""))
    return times


def prepare_flow_sampling(model, x_T, num_steps, default_num_steps, times, y, guidance_scale, generator):
    """Check a flow sampler's arguments once, before any model call, and fix its grid. times=None:
    the model's own grid (``model.ode_times(num_steps)``, as dh.VelocityFromNoise has) if it has
    one, else ``flow_times(num_steps)``. Returns (times as a list of floats, y, guidance_scale)."""
    check_time_kind("model", model, True, "predicts noise at integer timesteps (a DDPM model): the flow samplers "
                    "integrate a velocity. Sample it with dh.SAMPLERS, or turn it into a velocity field: "
                    "dh.VelocityFromNoise(model, schedule)")
    check_float_tensor("x_T", x_T)
    if x_T.shape[0] == 0:
        raise ValueError(f"x_T holds no samples (shape {tuple(x_T.shape)}): give a batch of at least one")
    check_model_input(model, x_T, "x_T")
    if not bool(torch.isfinite(x_T).all()):
        raise ValueError("x_T holds NaN or inf values: start from finite noise, e.g. torch.randn(...)")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    y, guidance_scale = check_guidance(model, x_T, y, guidance_scale)
    if times is None:
        num_steps = check_int("num_steps", default_num_steps if num_steps is None else num_steps, low=1)
        own_grid = getattr(model, "ode_times", None)
        times = own_grid(num_steps) if callable(own_grid) else flow_times(num_steps)
    else:
        times = check_times(times)
        if num_steps not in (None, default_num_steps, len(times) - 1):
            raise ValueError(f"give num_steps or times, not both: num_steps={num_steps} but {len(times)} times "
                             f"({len(times) - 1} steps)")
    return times, y, guidance_scale


@torch.no_grad()
def flow_sampling_loop(model, x_T, times, y, guidance_scale, heun, progress, desc):
    """The loop of both flow samplers: at each time t of the grid ask the model for v(x, t) (with
    guidance, one batched call) and step to the next time: Euler, or Heun with a second call at
    the Euler step's end (except the last step to t = 0, an Euler step, as in Karras et al. 2022,
    Algorithm 1: there the velocity of a DDPM model is undefined). Yields a SamplerState
    (t, x after the step, x0_hat = x - t v at t)."""
    check_bool("progress", progress)
    x = x_T

    def velocity(point, t):
        t_batch = torch.full((point.shape[0],), t, dtype=point.dtype, device=point.device)
        return guided_noise_checked(model, point, t_batch, y, guidance_scale)
    steps = list(zip(times, times[1:]))
    for k, (t, t_next) in enumerate(tqdm(steps, desc=desc, disable=not progress, leave=False)):
        v = velocity(x, t)
        if k == 0 and not bool(torch.isfinite(v).all()):
            raise ValueError(f"the model's velocity at t={t:.4g} holds NaN or inf values (check x_T, the model's "
                             "weights and its input range)")
        x0_hat = x0_hat_from_velocity(x, t, v)
        if heun and t_next > 0:
            x = _heun(x, t, t_next, v, velocity(_euler(x, t, t_next, v), t_next))
        else:
            x = _euler(x, t, t_next, v)
        if k == len(steps) - 1 and not bool(torch.isfinite(x).all()):
            raise ValueError("the samples hold NaN or inf values: the model's velocity turned NaN or inf during "
                             "sampling (check x_T, the model's weights and its input range)")
        yield SamplerState(t, x, x0_hat)


def flow_euler_steps(model, x_T, num_steps=20, *, times=None, y=None, guidance_scale=1.0, generator=None,
                     progress=True):
    """Euler sampling of a velocity model, yielding a SamplerState (t, x, x0_hat) after each
    ``euler_step``. Arguments as for ``flow_euler_sample``."""
    times, y, guidance_scale = prepare_flow_sampling(model, x_T, num_steps, 20, times, y, guidance_scale, generator)
    return flow_sampling_loop(model, x_T, times, y, guidance_scale, False, progress, "Euler sampling")


def flow_heun_steps(model, x_T, num_steps=10, *, times=None, y=None, guidance_scale=1.0, generator=None,
                    progress=True):
    """Heun sampling of a velocity model, yielding a SamplerState (t, x, x0_hat) after each step.
    Arguments as for ``flow_heun_sample``."""
    times, y, guidance_scale = prepare_flow_sampling(model, x_T, num_steps, 10, times, y, guidance_scale, generator)
    return flow_sampling_loop(model, x_T, times, y, guidance_scale, True, progress, "Heun sampling")


def flow_euler_sample(model, x_T, num_steps=20, *, times=None, y=None, guidance_scale=1.0, generator=None,
                      progress=True, return_trajectory=False):
    """Generate samples by integrating dx/dt = v(x, t) from t = 1 (noise) to t = 0 (data) with
    ``num_steps`` Euler steps, x_next = x + (t_next - t) v(x, t): one model call a step.

    Example::

        model = dh.MLPDenoiser(continuous_time=True)          # trained with dh.flow_matching_loss
        points = dh.flow_euler_sample(model, torch.randn(1000, 2), num_steps=20)

    Args (the same in every sampler of ``dh.FLOW_SAMPLERS``):
        model: a velocity model, model(x, t) -> v with t float (B,), or model(x, t, y) when
            conditional: a dh.UNet / dh.MLPDenoiser built with continuous_time=True, or
            dh.VelocityFromNoise(ddpm_model, schedule) (a DDPM model itself is refused).
        x_T: the state at times[0] (B, ...): torch.randn(...) for a flow-matching model (t = 1 is
            pure noise); ``dh.ode_state(x_T, schedule.alpha_bar(T - 1))`` for a DDPM model.
        num_steps: how many steps (20 here, 10 for Heun).
        times: None, or an explicit falling grid of num_steps + 1 times, e.g. [1.0, 0.5, 0.0].
            None: the model's own grid where it has one (dh.VelocityFromNoise: DDPM's "trailing"
            timesteps at their times, then 0), else evenly spaced from 1 to 0 (``flow_times``).
        y: class labels (B,) or one int (dh.NULL_LABEL: no class in that row), or None.
        guidance_scale: classifier-free guidance on the velocity, ours: 0 unconditional, 1 plain
            conditional, > 1 guided: v = v(x, t, null) + guidance_scale (v(x, t, y) - v(x, t, null)).
        generator: accepted for the shared signature; an ODE sampler draws no noise.
        progress: show a tqdm bar.
        return_trajectory: also return [x_T, ..., x_0], num_steps + 1 tensors (for plots and
            ``dh.path_straightness``).
    Returns:
        x_0 shaped like x_T, or (x_0, trajectory). ``flow_euler_steps`` takes the same arguments
        (but return_trajectory) and yields each step's SamplerState (t, x, x0_hat).
    """
    states = flow_euler_steps(model, x_T, num_steps, times=times, y=y, guidance_scale=guidance_scale,
                              generator=generator, progress=progress)
    return run_to_end(states, x_T, return_trajectory)


def flow_heun_sample(model, x_T, num_steps=10, *, times=None, y=None, guidance_scale=1.0, generator=None,
                     progress=True, return_trajectory=False):
    """Generate samples with ``num_steps`` Heun steps (Karras et al. 2022, Algorithm 1) of
    dx/dt = v(x, t) from t = 1 to t = 0: an Euler step, then the average of the velocities at its
    two ends. Two model calls a step, but one in the last (to t = 0, an Euler step): 2 num_steps - 1
    in all. Second order: halving the step divides the error by about 4 (Euler's by 2).

    Args and returns as for ``flow_euler_sample`` (the same in every sampler of dh.FLOW_SAMPLERS);
    num_steps defaults to 10 (19 model calls). ``flow_heun_steps`` yields each SamplerState.
    """
    states = flow_heun_steps(model, x_T, num_steps, times=times, y=y, guidance_scale=guidance_scale,
                             generator=generator, progress=progress)
    return run_to_end(states, x_T, return_trajectory)
