"""Beyond DDIM: sampling as solving an ODE with higher-order solvers, DPM-Solver++(2M) and UniPC.

Deterministic DDIM is the first-order solver of the probability-flow ODE written in
lambda = log(sqrt(abar) / sqrt(1 - abar)) (half the log signal-to-noise ratio). The papers write
alpha_t and sigma_t for sqrt(abar_t) and sqrt(1 - abar_t); in this series alpha_t is 1 - beta_t
(DDPM's) and sigma_t the noise a DDIM step adds, so these docstrings write the square roots out
(the series' notation: README, "Notation"). DPM-Solver++ (Lu et al. 2022, "DPM-Solver++: Fast solver for guided
sampling of diffusion probabilistic models") integrates the same ODE for the predicted clean data
x0_hat, and its 2M variant reuses the previous step's x0_hat to reach second order: the error
falls like 1/n^2 in the number of steps n, where DDIM's falls like 1/n. No extra model calls.

Both are multistep solvers written as pure steps (as k-diffusion's samplers pass ``old_denoised``):
a step takes the previous prediction(s) and returns its result; nothing is kept between calls.
"""
import math

from ._checks import check_float_tensor, check_same_shape
from .loop import prepare_sampling, run_to_end, sampling_loop
from .sampling import check_step, ddim_update, predict_x0_hat
from .schedules import half_log_snr_from_alpha_bar as half_log_snr
from .timesteps import DEFAULT_SPACINGS


def data_prediction_update(x_t, x0_hat, alpha_bar_t, alpha_bar_prev, previous=None):
    """The exponential-integrator step of DPM-Solver++ (Lu et al. 2022, eq. 9 and Algorithm 2):

        x_{t_prev} = sqrt((1 - abar_prev) / (1 - abar_t)) x_t - sqrt(abar_prev) (exp(-h) - 1) D,
        h = lambda_prev - lambda_t,

    with D = x0_hat (first order), or, with previous = (alpha_bar_before, x0_hat_before) of the step
    before, D = (1 + 1 / (2r)) x0_hat - 1 / (2r) x0_hat_before, r = (lambda_t - lambda_before) / h.
    Alpha-bars are floats; alpha_bar_prev = 1 (t_prev = -1, clean data, no noise left) returns x0_hat."""
    if alpha_bar_prev == 1.0:
        return x0_hat
    lambda_t, lambda_prev = half_log_snr(alpha_bar_t), half_log_snr(alpha_bar_prev)
    h = lambda_prev - lambda_t
    D = x0_hat
    if previous is not None:
        alpha_bar_before, x0_before = previous
        r = (lambda_t - half_log_snr(alpha_bar_before)) / h  # the step before, relative to this one
        D = (1 + 1 / (2 * r)) * x0_hat - 1 / (2 * r) * x0_before
    return math.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar_t)) * x_t - math.sqrt(alpha_bar_prev) * math.expm1(-h) * D


def dpm_solver_update(x_t, eps_hat, alpha_bar_t, alpha_bar_prev, previous=None, clip_x0=False):
    """``dpm_solver_step`` on arguments already checked, with alpha-bars (floats) in place of
    timesteps, previous = (alpha_bar_before, x0_hat_before) or None. Returns (x_{t_prev}, x0_hat)."""
    if previous is None or alpha_bar_prev == 1.0:  # first order: DDIM's step (at t_prev = -1 it lands on x0_hat)
        return ddim_update(x_t, eps_hat, alpha_bar_t, alpha_bar_prev, clip_x0=clip_x0)
    x0_hat, _ = predict_x0_hat(x_t, eps_hat, alpha_bar_t, clip_x0)
    return data_prediction_update(x_t, x0_hat, alpha_bar_t, alpha_bar_prev, previous), x0_hat


def dpm_solver_step(schedule, x_t, t, t_prev, eps_hat, *, previous=None, clip_x0=False):
    """One DPM-Solver++(2M) step from timestep t to t_prev (Lu et al. 2022, Algorithm 2):

        x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t),   h = lambda_prev - lambda_t
        D = (1 + 1 / (2r)) x0_hat - 1 / (2r) x0_hat_before,   r = (lambda_t - lambda_before) / h
        x_{t_prev} = sqrt((1 - abar_prev) / (1 - abar_t)) x_t - sqrt(abar_prev) (exp(-h) - 1) D

    Without ``previous`` (the first step) D = x0_hat: that is DDIM's eta = 0 step. The last step
    (t_prev = -1, clean data: abar = 1) returns x0_hat, first order, as diffusers does. A pure function:
    pass this step's (t, x0_hat) as the next step's ``previous``.

    Args:
        schedule, x_t, t, t_prev, eps_hat, clip_x0: as for ``ddim_step``.
        previous: (t_before, x0_hat_before) from the step before, or None for a first-order step.
    Returns:
        (x_{t_prev}, x0_hat), both shaped like x_t.
    """
    t, t_prev = check_step(schedule, x_t, t, t_prev, eps_hat, None, clip_x0)
    if previous is not None and not (isinstance(previous, (tuple, list)) and len(previous) == 2):
        raise TypeError("previous must be None or the pair (t_before, x0_hat_before) of the step before, "
                        f"got {type(previous).__name__}")
    if previous is not None and t_prev != -1:
        t_before, x0_before = previous
        check_same_shape("x0_hat_before", x0_before, "x_t", x_t)
        if not t_prev < t < t_before:
            raise ValueError(f"timesteps must fall: t_before={t_before} > t={t} > t_prev={t_prev}")
        previous = (schedule.alpha_bar(t_before), x0_before)
    return dpm_solver_update(x_t, eps_hat, schedule.alpha_bar(t), schedule.alpha_bar(t_prev), previous, clip_x0)


def dpm_solver_steps(model, schedule, x_T, num_steps=15, *, timesteps=None, spacing=DEFAULT_SPACINGS["dpm_solver"], y=None,
                     guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, progress=True):
    """DPM-Solver++(2M) sampling, yielding a SamplerState (t, x, x0_hat) after each step; each step
    passes its (alpha_bar_t, x0_hat) to the next. Arguments as for ``dpm_solver_sample``."""
    run = prepare_sampling(model, schedule, x_T, num_steps, 15, timesteps=timesteps, spacing=spacing, y=y,
                           guidance_scale=guidance_scale, guidance_interval=guidance_interval, clip_x0=clip_x0,
                           generator=generator)

    def step(x, eps_hat, alpha_bar_t, alpha_bar_prev, previous):
        x, x0_hat = dpm_solver_update(x, eps_hat, alpha_bar_t, alpha_bar_prev, previous, run.clip_x0)
        return x, x0_hat, (alpha_bar_t, x0_hat)
    return sampling_loop(model, x_T, run, step, progress, "DPM-Solver++ sampling")


def dpm_solver_sample(model, schedule, x_T, num_steps=15, *, timesteps=None, spacing=DEFAULT_SPACINGS["dpm_solver"], y=None,
                      guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, progress=True,
                      return_trajectory=False):
    """Generate samples with DPM-Solver++(2M) (Lu et al. 2022) in ``num_steps`` model calls:
    deterministic, like DDIM with eta = 0, and second order, so 10-20 steps come close to what
    DDIM needs 50-100 for.

    Args as for ``ddpm_sample`` (the same in every sampler; ``generator`` is accepted and unused:
    the solver draws no noise, x_T decides the sample), but the default grid is
    ``DEFAULT_SPACINGS["dpm_solver"]``, "karras" (``karras_timesteps``, Karras et al. 2022's
    rho = 7): on the shipped "mnist" it measured best at 10 and 15 model calls in
    benchmarks/sampler_benchmark.py, just ahead of "logsnr" (even in half log-SNR) and far ahead
    of "trailing", over whose long first step the second-order extrapolation goes wrong.
    Returns x_0, or (x_0, [x_T, ..., x_0]) with num_steps + 1 tensors.
    """
    states = dpm_solver_steps(model, schedule, x_T, num_steps, timesteps=timesteps, spacing=spacing, y=y,
                              guidance_scale=guidance_scale, guidance_interval=guidance_interval, clip_x0=clip_x0,
                              generator=generator, progress=progress)
    return run_to_end(states, x_T, return_trajectory)


def unipc_correction(x_before, x0_before, x0_now, alpha_bar_before, alpha_bar_t, earlier=None):
    """``unipc_correct`` on arguments already checked, with alpha-bars (floats) in place of
    timesteps, earlier = (alpha_bar_earlier, x0_earlier) or None."""
    lambda_before, lambda_t = half_log_snr(alpha_bar_before), half_log_snr(alpha_bar_t)
    h = lambda_t - lambda_before
    phi_1 = math.expm1(-h)  # also B(h), "bh2"
    phi_2 = phi_1 / -h - 1
    x_first = math.sqrt((1 - alpha_bar_t) / (1 - alpha_bar_before)) * x_before - math.sqrt(alpha_bar_t) * phi_1 * x0_before
    if earlier is None:
        correction = 0.5 * (x0_now - x0_before)
    else:
        alpha_bar_earlier, x0_earlier = earlier
        r = (half_log_snr(alpha_bar_earlier) - lambda_before) / h
        b_0, b_1 = phi_2 / phi_1, 2 * (phi_2 / -h - 0.5) / phi_1
        rho_1 = (b_0 - b_1) / (1 - r)
        correction = rho_1 * (x0_earlier - x0_before) / r + (b_0 - rho_1) * (x0_now - x0_before)
    return x_first - math.sqrt(alpha_bar_t) * phi_1 * correction


def unipc_correct(schedule, x_before, t_before, t, x0_before, x0_now, earlier=None):
    """The corrector UniC of UniPC (Zhao et al. 2023, "UniPC", eq. 8 and Algorithm 2 with B(h) =
    exp(h) - 1, "bh2"), for data prediction: redo the step from t_before to t, now that the model's
    prediction x0_now at t is known. It costs no model call: that prediction is needed anyway.

        x_t = sqrt((1 - abar_t) / (1 - abar_before)) x_before - sqrt(abar_t) (e^-h - 1) x0_before
              - sqrt(abar_t) (e^-h - 1) (rho_1 D_1 + rho_t (x0_now - x0_before)),

    with h = lambda_t - lambda_before. Order 1 (no ``earlier``): rho_t = 1/2. Order 2, with
    earlier = (t_earlier, x0_earlier): D_1 = (x0_earlier - x0_before) / r, r = (lambda_earlier -
    lambda_before) / h, and (rho_1, rho_t) solve [[1, 1], [r, 1]] rho = (phi_2, 2 phi_3) / (e^-h - 1),
    phi_2 = phi_1 / (-h) - 1, phi_3 = phi_2 / (-h) - 1/2, phi_1 = e^-h - 1.
    Returns the corrected x_t, shaped like x_before.
    """
    check_float_tensor("x_before", x_before)
    check_same_shape("x0_before", x0_before, "x_before", x_before)
    check_same_shape("x0_now", x0_now, "x_before", x_before)
    t_before, t = check_step(schedule, x_before, t_before, t, x0_before, None)
    if earlier is not None:
        if not (isinstance(earlier, (tuple, list)) and len(earlier) == 2):
            raise TypeError(f"earlier must be None or the pair (t_earlier, x0_earlier), got {type(earlier).__name__}")
        earlier = (schedule.alpha_bar(earlier[0]), check_same_shape("x0_earlier", earlier[1], "x_before", x_before))
    return unipc_correction(x_before, x0_before, x0_now, schedule.alpha_bar(t_before), schedule.alpha_bar(t), earlier)


def unipc_update(x_t, eps_hat, alpha_bar_t, alpha_bar_prev, previous=(), clip_x0=False):
    """``unipc_step`` on arguments already checked, with alpha-bars (floats) in place of timesteps:
    previous holds (alpha_bar, x, x0_hat) of the steps before. Returns (x_{t_prev}, x0_hat, memory)."""
    x0_hat, _ = predict_x0_hat(x_t, eps_hat, alpha_bar_t, clip_x0)  # the model's guess at (x_t, t)
    if previous:  # correct the point we arrived at, now that the model has been asked about it
        alpha_bar_before, x_before, x0_before = previous[-1]
        earlier = (previous[-2][0], previous[-2][2]) if len(previous) == 2 else None
        x_t = unipc_correction(x_before, x0_before, x0_hat, alpha_bar_before, alpha_bar_t, earlier)
    before = (previous[-1][0], previous[-1][2]) if previous else None
    memory = tuple(previous[-1:]) + ((alpha_bar_t, x_t, x0_hat),)
    return data_prediction_update(x_t, x0_hat, alpha_bar_t, alpha_bar_prev, before), x0_hat, memory


def unipc_step(schedule, x_t, t, t_prev, eps_hat, *, previous=(), clip_x0=False):
    """One UniPC step from timestep t to t_prev (Zhao et al. 2023, Algorithm 2, "bh2", order 2):
    first correct x_t with ``unipc_correct`` (the step before, redone with the new x0_hat at t),
    then predict x_{t_prev} with DPM-Solver++(2M)'s update (UniPC's predictor with B(h) = e^h - 1).

    Args:
        schedule, x_t, t, t_prev, eps_hat, clip_x0: as for ``ddim_step``; x_t is the predicted
            point the step before returned.
        previous: the ``memory`` the step before returned, () for the first step: up to two
            (t, x, x0_hat), oldest first, x the corrected point at t.
    Returns:
        (x_{t_prev}, x0_hat, memory): memory = previous[-1:] + ((t, corrected x_t, x0_hat),), to pass
        to the next step. A pure function: ``previous`` is read, never changed.
    """
    t, t_prev = check_step(schedule, x_t, t, t_prev, eps_hat, None, clip_x0)
    if not isinstance(previous, tuple) or len(previous) > 2 or \
            any(not isinstance(entry, tuple) or len(entry) != 3 for entry in previous):
        raise TypeError("previous must be the memory the step before returned: a tuple of up to two (t, x, x0_hat)")
    times = [entry[0] for entry in previous] + [t, t_prev]
    if any(later >= earlier for earlier, later in zip(times, times[1:])):
        raise ValueError(f"timesteps must fall: previous steps at {times[:-2]}, then t={t}, t_prev={t_prev}")
    for entry in previous:
        check_same_shape("previous x", entry[1], "x_t", x_t)
        check_same_shape("previous x0_hat", entry[2], "x_t", x_t)
    as_alpha_bars = tuple((schedule.alpha_bar(t_before), x, x0) for t_before, x, x0 in previous)
    x_prev, x0_hat, memory = unipc_update(x_t, eps_hat, schedule.alpha_bar(t), schedule.alpha_bar(t_prev),
                                          as_alpha_bars, clip_x0)
    return x_prev, x0_hat, tuple(previous[-1:]) + ((t, memory[-1][1], x0_hat),)


def unipc_steps(model, schedule, x_T, num_steps=10, *, timesteps=None, spacing=DEFAULT_SPACINGS["unipc"], y=None,
                guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, progress=True):
    """UniPC sampling, yielding a SamplerState (t, x, x0_hat) after each ``unipc_update``; each step
    passes its memory to the next. Arguments as for ``unipc_sample``."""
    run = prepare_sampling(model, schedule, x_T, num_steps, 10, timesteps=timesteps, spacing=spacing, y=y,
                           guidance_scale=guidance_scale, guidance_interval=guidance_interval, clip_x0=clip_x0,
                           generator=generator)

    def step(x, eps_hat, alpha_bar_t, alpha_bar_prev, memory):
        return unipc_update(x, eps_hat, alpha_bar_t, alpha_bar_prev, memory or (), run.clip_x0)
    return sampling_loop(model, x_T, run, step, progress, "UniPC sampling")


def unipc_sample(model, schedule, x_T, num_steps=10, *, timesteps=None, spacing=DEFAULT_SPACINGS["unipc"], y=None,
                 guidance_scale=1.0, guidance_interval=None, clip_x0=None, generator=None, progress=True,
                 return_trajectory=False):
    """Generate samples with UniPC (Zhao et al. 2023): DPM-Solver++(2M) steps, each preceded by the
    corrector UniC, which reuses the model call the next step makes anyway; deterministic, second
    order, one model call a step.

    Args as for ``dpm_solver_sample`` (the same in every sampler; ``generator`` unused), but the
    default grid is ``DEFAULT_SPACINGS["unipc"]``, "karras": on the shipped "mnist" it measured
    best at UniPC's default 10 model calls in benchmarks/sampler_benchmark.py (with "logsnr" close
    behind; "trailing" far worse there); at 15 calls "trailing" measured best, so pass
    spacing="trailing" with 15 steps or more. Returns x_0, or (x_0, [x_T, ..., x_0]).
    """
    states = unipc_steps(model, schedule, x_T, num_steps, timesteps=timesteps, spacing=spacing, y=y,
                         guidance_scale=guidance_scale, guidance_interval=guidance_interval, clip_x0=clip_x0,
                         generator=generator, progress=progress)
    return run_to_end(states, x_T, return_trajectory)
