"""Beyond DDIM: sampling as solving an ODE with a higher-order solver, DPM-Solver++(2M).

Deterministic DDIM is the first-order solver of the probability-flow ODE written in
lambda = log(alpha / sigma) (half the log signal-to-noise ratio), with alpha = sqrt(abar),
sigma = sqrt(1 - abar). DPM-Solver++ (Lu et al. 2022, "DPM-Solver++: Fast solver for guided
sampling of diffusion probabilistic models") integrates the same ODE for the predicted clean data
x0_hat, and its 2M variant reuses the previous step's x0_hat to reach second order: the error
falls like 1/n^2 in the number of steps n, where DDIM's falls like 1/n. No extra model calls.
"""
import math


from ._checks import check_float_tensor
from .sampling import ddim_step, prepare_sampling, run_to_end, sampling_loop


def half_log_snr(schedule, t):
    """lambda_t = log(alpha_t / sigma_t) = log(sqrt(abar_t) / sqrt(1 - abar_t)), a float."""
    abar = schedule.alpha_bar(t)
    return 0.5 * (math.log(abar) - math.log1p(-abar))


def dpm_solver_step(schedule, x_t, t, t_prev, eps_hat, *, previous=None, clip_x0=False):
    """One DPM-Solver++(2M) step from timestep t to t_prev (Lu et al. 2022, Algorithm 2):

        x0_hat = (x_t - sigma_t eps_hat) / alpha_t,   h = lambda_prev - lambda_t
        D = (1 + 1 / (2r)) x0_hat - 1 / (2r) x0_hat_before,   r = (lambda_t - lambda_before) / h
        x_{t_prev} = (sigma_prev / sigma_t) x_t - alpha_prev (exp(-h) - 1) D

    Without ``previous`` (the first step) D = x0_hat: that is DDIM's eta = 0 step. The last step
    (t_prev = -1, where sigma = 0) returns x0_hat, first order, as diffusers does.

    Args:
        schedule, x_t, t, t_prev, eps_hat, clip_x0: as for ``ddim_step``.
        previous: (t_before, x0_hat_before) from the step before, or None for a first-order step.
    Returns:
        (x_{t_prev}, x0_hat), both shaped like x_t.
    """
    x_first_order, x0_hat = ddim_step(schedule, x_t, t, t_prev, eps_hat, clip_x0=clip_x0)  # checks the inputs
    if previous is None or t_prev == -1:  # (at t_prev = -1 DDIM's step lands on x0_hat)
        return x_first_order, x0_hat
    t_before, x0_before = previous
    check_float_tensor("x0_hat_before", x0_before)
    if not t_prev < t < t_before:
        raise ValueError(f"timesteps must fall: t_before={t_before} > t={t} > t_prev={t_prev}")
    lambda_t, lambda_prev = half_log_snr(schedule, t), half_log_snr(schedule, t_prev)
    h = lambda_prev - lambda_t
    r = (lambda_t - half_log_snr(schedule, t_before)) / h  # the step before, relative to this one
    D = (1 + 1 / (2 * r)) * x0_hat - 1 / (2 * r) * x0_before
    abar_t, abar_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
    x_prev = math.sqrt((1 - abar_prev) / (1 - abar_t)) * x_t - math.sqrt(abar_prev) * math.expm1(-h) * D
    return x_prev, x0_hat


def dpm_solver_steps(model, schedule, x_T, num_steps=15, *, timesteps=None, spacing="trailing", y=None,
                     guidance_scale=1.0, clip_x0=None, progress=True):
    """DPM-Solver++(2M) sampling, yielding a SamplerState (t, x, x0_hat) after each step.
    Arguments as for ``dpm_solver_sample``."""
    timesteps, y, clip_x0 = prepare_sampling(model, schedule, x_T, num_steps, 15, timesteps, spacing, y,
                                             guidance_scale, clip_x0)
    previous = []  # the (t, x0_hat) of the step before: the multistep memory

    def step(x, t, t_prev, eps_hat):
        x, x0_hat = dpm_solver_step(schedule, x, t, t_prev, eps_hat, previous=previous[-1] if previous else None,
                                    clip_x0=clip_x0)
        previous[:] = [(t, x0_hat)]
        return x, x0_hat
    return sampling_loop(model, x_T, timesteps, step, y, guidance_scale, progress, "DPM-Solver++ sampling")


def dpm_solver_sample(model, schedule, x_T, num_steps=15, *, timesteps=None, spacing="trailing", y=None,
                      guidance_scale=1.0, clip_x0=None, return_trajectory=False, progress=True):
    """Generate samples with DPM-Solver++(2M) (Lu et al. 2022) in ``num_steps`` model calls:
    deterministic, like DDIM with eta = 0, and second order, so 10-20 steps come close to what
    DDIM needs 50-100 for.

    Args as for ``ddim_sample`` (no eta: the solver is deterministic; x_T decides the sample).
    Returns x_0, or (x_0, [x_T, ..., x_0]) with num_steps + 1 tensors.
    """
    states = dpm_solver_steps(model, schedule, x_T, num_steps, timesteps=timesteps, spacing=spacing, y=y,
                              guidance_scale=guidance_scale, clip_x0=clip_x0, progress=progress)
    return run_to_end(states, x_T, return_trajectory)
