"""Predictors we know exactly: the noise and the flow-matching velocity for Gaussian data.

For data x_0 ~ N(mean, std^2 I) every noisy marginal is Gaussian too, so the best noise
prediction, the best velocity and the probability-flow ODE have closed forms. Samplers run on
them can be checked against the exact answer: the tests do, and so can a student (notebooks 5, 7).
"""
import math

import torch

from ._checks import check_number
from .schedules import NoiseSchedule


class GaussianNoisePredictor:
    """The exact eps-prediction E[eps | x_t] for data x_0 ~ N(mean, std^2 I):

        x_t ~ N(sqrt(abar_t) mean, (abar_t std^2 + 1 - abar_t) I),
        eps*(x_t, t) = sqrt(1 - abar_t) (x_t - sqrt(abar_t) mean) / (abar_t std^2 + 1 - abar_t).

    Call it like a model: ``eps = predictor(x_t, t)`` with x_t (B, ...) and t (B,); use it with
    any sampler in place of a trained network.
    """

    def __init__(self, schedule, mean=0.0, std=1.0):
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
        self.alphas_cumprod = schedule.alphas_cumprod_float64
        self.mean, self.std = check_number("mean", mean), check_number("std", std, low=0.0)

    def __call__(self, x_t, t, y=None):
        if isinstance(t, int):  # one timestep for the batch, as a model also takes it (unchecked: called every step)
            t = torch.full((x_t.shape[0],), t, dtype=torch.long)
        abar = self.alphas_cumprod[t.cpu()].to(x_t.device, x_t.dtype).reshape(-1, *([1] * (x_t.dim() - 1)))
        return (1 - abar).sqrt() * (x_t - abar.sqrt() * self.mean) / (abar * self.std**2 + 1 - abar)

    def flow(self, x, alpha_bar_from, alpha_bar_to):
        """The exact probability-flow ODE, taking x from noise level alpha_bar_from to alpha_bar_to
        (deterministic DDIM and DPM-Solver approximate this map). The flow of a Gaussian is the
        monotone map between two of its marginals: it keeps z = (x - sqrt(abar) mean) / sd(abar),
        with sd(abar) = sqrt(abar std^2 + 1 - abar)."""
        def sd(abar):
            return math.sqrt(abar * self.std**2 + 1 - abar)
        z = (x - math.sqrt(alpha_bar_from) * self.mean) / sd(alpha_bar_from)
        return math.sqrt(alpha_bar_to) * self.mean + sd(alpha_bar_to) * z

    def solver_error(self, sampler, schedule, x_T, timesteps):
        """The largest error of a deterministic sampler (``dh.ddim_sample``, ``dh.dpm_solver_sample``,
        ``dh.unipc_sample``) against the exact flow, over the falling ``timesteps``: it runs from
        timesteps[0] to timesteps[-1] and is judged there, before the samplers' final jump to
        clean data (a denoising step, not an ODE step). x_T: starting points (B, ...), float64
        for errors far below float32's rounding."""
        timesteps = [int(t) for t in timesteps]
        _, trajectory = sampler(self, schedule, x_T, timesteps=timesteps, clip_x0=False, return_trajectory=True,
                                progress=False)
        exact = self.flow(x_T, schedule.alpha_bar(timesteps[0]), schedule.alpha_bar(timesteps[-1]))
        return (trajectory[-2] - exact).abs().max().item()


class GaussianVelocityPredictor:
    """The exact flow-matching velocity E[eps - x_0 | x_t] for data x_0 ~ N(mean, std^2 I) on the
    straight path x_t = (1 - t) x_0 + t eps (t = 0 data, t = 1 noise; flow_matching.py):

        x_t ~ N((1 - t) mean, sd(t)^2 I),   sd(t)^2 = (1 - t)^2 std^2 + t^2,
        v*(x_t, t) = -mean + sd'(t) z,   z = (x_t - (1 - t) mean) / sd(t),   sd'(t) = (t - (1 - t) std^2) / sd(t).

    (The flow of a Gaussian keeps z: x_t = (1 - t) mean + sd(t) z, whose time derivative is v*.)
    Call it like a velocity model: ``v = predictor(x_t, t)`` with x_t (B, ...) and t (B,) floats in [0, 1].
    """
    continuous_time = True

    def __init__(self, mean=0.0, std=1.0):
        self.mean, self.std = check_number("mean", mean), check_number("std", std, low=0.0)

    def _sd(self, t):
        return ((1 - t) ** 2 * self.std**2 + t**2) ** 0.5

    def __call__(self, x_t, t, y=None):
        if not isinstance(t, torch.Tensor):  # one time for the batch (unchecked: called every step)
            t = torch.full((x_t.shape[0],), float(t))
        t = t.to(x_t.device, x_t.dtype).reshape(-1, *([1] * (x_t.dim() - 1)))
        sd = self._sd(t)
        return -self.mean + (t - (1 - t) * self.std**2) / sd * (x_t - (1 - t) * self.mean) / sd

    def flow(self, x, t_from, t_to):
        """The exact solution of dx/dt = v*(x, t), taking x from time t_from to t_to (floats in [0, 1],
        with sd(t) > 0 on the way): it keeps z = (x - (1 - t) mean) / sd(t)."""
        z = (x - (1 - t_from) * self.mean) / self._sd(t_from)
        return (1 - t_to) * self.mean + self._sd(t_to) * z
