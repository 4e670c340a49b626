"""Which timesteps a sampler visits: a falling sequence from (near) T-1 towards 0.

Sampling with fewer steps than training means choosing a sub-sequence of the T timesteps; how
they are spread (the spacing) matters most when the steps are few.
"""
import math
import numbers

import torch

from ._checks import check_int, check_number
from .schedules import NoiseSchedule

SPACINGS = ("trailing", "leading", "linspace", "logsnr", "karras")
# Where the "logsnr" and "karras" grids start: half log-SNR below this is pure noise to the sampler;
# diffusers' DPMSolverMultistepScheduler advises lambda_min_clipped = -5.1 for the cosine schedule.
LOGSNR_MIN = -5.1
# Karras et al. 2022 (EDM), eq. 5 and table 1: rho = 7.
KARRAS_RHO = 7.0
# Each sampler's default grid, the one home of these defaults (the samplers' signatures read it).
# The few-step solvers' entries are set by benchmarks/sampler_benchmark.py, which measures every
# spacing at 10 and 15 model calls and prints the best at each solver's default step count
# (DPM-Solver++ 15, UniPC 10) beside these.
DEFAULT_SPACINGS = {"ddpm": "trailing", "ddim": "trailing", "dpm_solver": "karras", "unipc": "karras"}


def make_timesteps(num_timesteps, num_steps, spacing="trailing", schedule=None):
    """The falling sequence of timesteps a sampler visits, a LongTensor (num_steps,).

    Spacings as in Lin et al. 2024 ("Common diffusion noise schedules are flawed"), table 2:
    - "trailing": round(T - k T / n) - 1 for k = 0 .. n-1: starts at T-1, pure noise (default).
    - "leading": k * (T // n), falling: DDIM's original grid; it never starts at T-1, so the
      first step treats pure noise as if some signal were left.
    - "linspace": round(linspace(0, T-1, n)), falling.
    - "logsnr": even steps in half log-SNR, see ``logsnr_timesteps``; it needs the ``schedule``.
    - "karras": Karras et al. 2022's rho = 7 grid, see ``karras_timesteps``; it needs the ``schedule``.
    n = T gives T-1, ..., 0 (every step) with each spacing but "logsnr" and "karras".
    Each sampler's default is ``DEFAULT_SPACINGS[name]``.
    """
    T = check_int("num_timesteps", num_timesteps, low=1)
    n = check_int("num_steps", num_steps, low=1, high=T)
    if spacing == "trailing":
        steps = torch.round(torch.arange(T, 0, -T / n, dtype=torch.float64))[:n] - 1
    elif spacing == "leading":
        steps = (torch.arange(n, dtype=torch.float64) * (T // n)).flip(0)
    elif spacing == "linspace":
        steps = torch.linspace(0, T - 1, n, dtype=torch.float64).round().flip(0)
    elif spacing == "logsnr":
        if not isinstance(schedule, NoiseSchedule) or schedule.num_timesteps != T:
            raise ValueError(f'spacing "logsnr" needs the schedule (with T = {T}): make_timesteps(T, n, "logsnr", schedule)')
        return logsnr_timesteps(schedule, n)
    elif spacing == "karras":
        if not isinstance(schedule, NoiseSchedule) or schedule.num_timesteps != T:
            raise ValueError(f'spacing "karras" needs the schedule (with T = {T}): make_timesteps(T, n, "karras", schedule)')
        return karras_timesteps(schedule, n)
    else:
        raise ValueError(f"spacing must be one of {list(SPACINGS)}, got {spacing!r}")
    return steps.long()


def logsnr_timesteps(schedule, num_steps, lambda_min=LOGSNR_MIN):
    """Timesteps evenly spaced in half log-SNR lambda_t = 0.5 log(abar_t / (1 - abar_t)), a LongTensor
    (num_steps,): the time grid of DPM-Solver (Lu et al. 2022, sec. 3.3, "uniform logSNR").

    n + 1 values of lambda, evenly spaced from max(lambda_{T-1}, lambda_min) to lambda_0, each
    rounded to the nearest timestep; the sampler evaluates the model at the first n, and its last
    step lands on clean data (t = -1) instead of the (n+1)-th. Where rounding would repeat a
    timestep (many steps, where lambda moves fast), the later one moves down by one.
    Few-step solvers gain most: on the cosine schedule lambda runs from -10 at t = 999 to +5 at
    t = 0, and "trailing" spends its first step on the range below -5, which is pure noise.
    """
    lambdas, start, n = lambda_range(schedule, num_steps, lambda_min, "logsnr")
    targets = torch.linspace(start, float(lambdas[0]), n + 1, dtype=torch.float64)[:n]
    return nearest_timesteps(lambdas, targets)


def karras_timesteps(schedule, num_steps, rho=KARRAS_RHO, lambda_min=LOGSNR_MIN):
    """Timesteps of Karras et al. 2022 ("Elucidating the design space of diffusion-based generative
    models", eq. 5), a LongTensor (num_steps,): with Karras et al.'s sigma, the noise-to-signal ratio
    sqrt(1 - abar_t) / sqrt(abar_t) = exp(-lambda_t) (not DDIM's sigma_t),

        sigma_i = (sigma_max^(1/rho) + i / (n-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho,  i = 0 .. n-1,

    rho = 7, each rounded to the timestep nearest in lambda (a repeat moves down by one, as in
    ``logsnr_timesteps``); the sampler's last step goes on to clean data (sigma_n = 0, t = -1).
    sigma_min is the schedule's at t = 0; sigma_max the schedule's at T-1 but at most
    exp(-lambda_min), the start of the "logsnr" grid (EDM itself takes sigma_max = 80, lambda -4.4),
    so the two grids differ only in how they spread the steps: rho = 1 spaces sigma evenly, rho ->
    infinity spaces log sigma (= -lambda) evenly, the "logsnr" grid; rho = 7 lies between, with
    more of its steps at high noise than "logsnr" and its last model call at t = 0.
    diffusers: ``use_karras_sigmas=True``.
    """
    lambdas, start, n = lambda_range(schedule, num_steps, lambda_min, "karras")
    rho = check_number("rho", rho, low=1e-3)
    if n == 1:
        return nearest_timesteps(lambdas, torch.tensor([start], dtype=torch.float64))
    high, low = math.exp(-start / rho), math.exp(-float(lambdas[0]) / rho)  # sigma_max^(1/rho), sigma_min^(1/rho)
    sigmas = (high + torch.arange(n, dtype=torch.float64) / (n - 1) * (low - high)) ** rho
    return nearest_timesteps(lambdas, -sigmas.log())


def lambda_range(schedule, num_steps, lambda_min, spacing):
    """Half log-SNR at every timestep (a float64 tensor (T,)), where a grid starts in it
    (lambda_{T-1}, or lambda_min if higher) and the checked num_steps."""
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f'spacing "{spacing}" needs a NoiseSchedule, got {type(schedule).__name__}')
    T = schedule.num_timesteps
    n = check_int("num_steps", num_steps, low=1, high=T)
    lambdas = torch.tensor([schedule.half_log_snr(t) for t in range(T)], dtype=torch.float64)
    lambda_min = check_number("lambda_min", lambda_min, high=float(lambdas[0]) - 1e-6)
    return lambdas, max(float(lambdas[-1]), lambda_min), n


def nearest_timesteps(lambdas, targets):
    """For rising targets in half log-SNR, the nearest timesteps, made strictly falling: where
    rounding would repeat a timestep the later one moves down by one, with room left for the
    steps still to come. A LongTensor like targets."""
    n = len(targets)
    nearest = (lambdas[None, :] - targets[:, None]).abs().argmin(dim=1).tolist()
    steps = []
    for k, t in enumerate(nearest):  # strictly falling, with room left for the steps still to come
        t = min(t, steps[-1] - 1) if steps else t
        steps.append(max(t, n - 1 - k))
    return torch.tensor(steps, dtype=torch.long)


def check_timestep_sequence(timesteps, num_timesteps, name="timesteps"):
    """An explicit sequence of timesteps: integers in [0, T), strictly falling. Returns a LongTensor."""
    if isinstance(timesteps, (list, tuple, range)):
        if not all(isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in timesteps):
            raise TypeError(f"{name} must hold integers, got {list(timesteps)[:5]}...")
        timesteps = torch.tensor(list(timesteps), dtype=torch.long)
    if not isinstance(timesteps, torch.Tensor) or timesteps.is_floating_point() or timesteps.dtype == torch.bool:
        raise TypeError(f"{name} must be a list or an integer tensor of timesteps, got {type(timesteps).__name__}")
    if timesteps.dim() != 1 or timesteps.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {tuple(timesteps.shape)}")
    timesteps = timesteps.long().cpu()
    if int(timesteps.min()) < 0 or int(timesteps.max()) >= num_timesteps:
        raise ValueError(f"{name} must lie in [0, {num_timesteps - 1}], got values from {int(timesteps.min())} "
                         f"to {int(timesteps.max())}")
    if not bool((timesteps[1:] < timesteps[:-1]).all()):
        raise ValueError(f"{name} must fall strictly (from noise towards data), e.g. [999, 899, ..., 99]; "
                         f"got {timesteps.tolist()[:8]}{'...' if len(timesteps) > 8 else ''}")
    return timesteps


def matching_timesteps(schedule, other_schedule, timesteps):
    """The timesteps of ``schedule`` at the noise levels that ``timesteps`` visit on ``other_schedule``:
    for each, the timestep whose half log-SNR lambda_t = 0.5 log(abar_t / (1 - abar_t)) lies nearest
    (made strictly falling, as in ``logsnr_timesteps``). A model trained on one schedule can thus be
    sampled at the noise levels another schedule's grid visits, e.g. DDPM's linear schedule, whose
    t = 999 has lambda = -5.1, on the cosine schedule, where lambda_999 = -9.9:

        dh.matching_timesteps(cosine, dh.NoiseSchedule("linear", 1000), [999, 899, ..., 99])  # [995, 988, ...]

    Args: two NoiseSchedules; timesteps: a falling sequence on ``other_schedule``. Returns a
    LongTensor (len(timesteps),), falling, to pass as a sampler's ``timesteps``."""
    for name, value in (("schedule", schedule), ("other_schedule", other_schedule)):
        if not isinstance(value, NoiseSchedule):
            raise TypeError(f"{name} must be a dh.NoiseSchedule, got {type(value).__name__}")
    timesteps = check_timestep_sequence(timesteps, other_schedule.num_timesteps)
    lambdas = torch.tensor([schedule.half_log_snr(t) for t in range(schedule.num_timesteps)], dtype=torch.float64)
    if len(timesteps) > len(lambdas):
        raise ValueError(f"timesteps must hold at most {len(lambdas)} steps (the schedule's T), got {len(timesteps)}")
    targets = torch.tensor([other_schedule.half_log_snr(t) for t in timesteps.tolist()], dtype=torch.float64)
    return nearest_timesteps(lambdas, targets)
