"""Checks for notebooks 1 and 2: a noise schedule, alpha-bar and the forward process."""
import math

import torch

from ..schedules import DDPM_BETA_END, DDPM_BETA_START, NoiseSchedule
from ._core import _call, _not_yet, _report, compare, logged_check, matching_hint, noise_slip


def exponential_betas_reference(num_timesteps, beta_start=DDPM_BETA_START, beta_end=DDPM_BETA_END):
    """beta_t = beta_start * (beta_end / beta_start)^(t / (T - 1)), t = 0 .. T-1: evenly spaced
    in log space, from beta_start to beta_end."""
    if num_timesteps == 1:
        return torch.tensor([beta_start], dtype=torch.float64)
    t = torch.arange(num_timesteps, dtype=torch.float64)
    return beta_start * (beta_end / beta_start) ** (t / (num_timesteps - 1))


@logged_check
def check_exponential_schedule(function):
    """Check ``function(num_timesteps, beta_start, beta_end)`` -> betas (T,) of the exponential schedule."""
    for T, start, end in [(1000, DDPM_BETA_START, DDPM_BETA_END), (50, 1e-3, 0.1)]:
        tried = f"num_timesteps={T}, beta_start={start}, beta_end={end}"
        got, error = _call(function, T, start, end)
        if error:
            return _not_yet(error, tried)
        expected = exponential_betas_reference(T, start, end)
        t = torch.arange(T, dtype=torch.float64)
        hints = [(expected.flip(0), "your betas run backwards: beta must grow from beta_start to beta_end."),
                 (torch.linspace(start, end, T, dtype=torch.float64), "that is the linear schedule: space the betas evenly in log(beta)."),
                 (start * (end / start) ** ((t + 1) / T), "close: use the exponent t / (T - 1) for t = 0 .. T-1, so that the first beta is beta_start."),
                 (start * (end / start) ** (t / T), "close: with the exponent t / T the last beta falls short of beta_end; use t / (T - 1).")]
        ok, message = compare(got, expected, f"betas for T={T}", hints=hints)
        if not ok:
            return _not_yet(message, tried)
    return _report(True, "your exponential schedule matches beta_t = beta_start (beta_end / beta_start)^(t / (T-1)).")


@logged_check
def check_alphas_cumprod(function):
    """Check ``function(betas)`` -> alphas_cumprod, alpha-bar_t = prod_{s<=t} (1 - beta_s)."""
    for name in ["linear", "cosine"]:
        schedule = NoiseSchedule(name, 200)
        betas = schedule.betas.double()
        tried = f"betas, the (200,) float64 tensor of NoiseSchedule({name!r}, 200).betas"
        got, error = _call(function, betas.clone())
        if error:
            return _not_yet(error, tried)
        if got.dim() == 0:
            return _not_yet("you returned a single number (torch.prod?): alpha-bar has one value "
                            "for every t, the running product: use torch.cumprod.", tried)
        expected = torch.cumprod(1 - betas, 0)
        hints = [(1 - betas, "those are the alphas, 1 - beta_t: alpha-bar is their running product (torch.cumprod)."),
                 (torch.cumprod(betas, 0), "you multiplied the betas: multiply the alphas, 1 - beta_t."),
                 (torch.cat([torch.ones(1, dtype=torch.float64), expected[:-1]]),
                  "shifted by one: that is alphas_cumprod_prev. alpha-bar_0 should already include step 0, 1 - beta_0."),
                 (1 - torch.cumsum(betas, 0), "1 - sum of betas is only a first-order approximation: take the product of (1 - beta_t).")]
        ok, message = compare(got, expected, f"alphas_cumprod ({name} schedule)", hints=hints)
        if not ok:
            return _not_yet(message, tried)
    return _report(True, "alpha-bar_t is the running product of alpha_t = 1 - beta_t.")


@logged_check
def check_q_sample(function):
    """Check ``function(x0, t, noise, alphas_cumprod)`` -> x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise."""
    schedule = NoiseSchedule("linear", 1000)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.rand(4, 1, 8, 8, generator=generator, dtype=torch.float64) * 2 - 1
    noise = torch.randn(4, 1, 8, 8, generator=generator, dtype=torch.float64)
    t = torch.tensor([0, 10, 500, 999])
    abar = schedule.alphas_cumprod.double()
    tried = ("x0 and noise of shape (4, 1, 8, 8) (float64; x0 uniform in [-1, 1], noise from N(0, 1)), "
             "t = tensor([0, 10, 500, 999]) and alphas_cumprod (1000,) of NoiseSchedule('linear', 1000)")
    got, error = _call(function, x0.clone(), t.clone(), noise.clone(), abar.clone())
    if error:
        if "size of tensor" in error or "must match" in error:
            error += " Hint: abar[t] has shape (B,); reshape it to (B, 1, 1, 1) so it broadcasts over the pixels."
        return _not_yet(error, tried)
    slip = noise_slip(function, (x0, t, noise, abar), 2, got, noise_matters=False)  # its own noise, drawn anew
    if slip:
        return _not_yet(slip, tried)
    a = abar[t].reshape(-1, 1, 1, 1)
    a_before = abar[t - 1].reshape(-1, 1, 1, 1)
    alphas = (1 - schedule.betas.double())[t].reshape(-1, 1, 1, 1)
    expected = a.sqrt() * x0 + (1 - a).sqrt() * noise
    hints = [(a * x0 + (1 - a) * noise, "take square roots: the coefficients are sqrt(abar_t) and sqrt(1 - abar_t), so the variances add to 1."),
             (a.sqrt() * x0 + (1 - a) * noise, "the noise coefficient is sqrt(1 - abar_t), not 1 - abar_t."),
             (alphas.sqrt() * x0 + (1 - alphas).sqrt() * noise, "that is one step from x0 (alpha_t): use alpha-bar_t to jump straight to step t."),
             ((1 - a).sqrt() * x0 + a.sqrt() * noise, "the coefficients are swapped: sqrt(abar_t) multiplies x0."),
             (a_before.sqrt() * x0 + (1 - a_before).sqrt() * noise,
              "you used alphas_cumprod[t - 1]: in code, index t already holds alpha-bar of step t (0-based), so use alphas_cumprod[t].")]
    ok, message = compare(got, expected, "x_t", index_name="sample", hints=hints)
    if not ok:
        if tuple(got.shape) != tuple(expected.shape):
            message += " Hint: reshape abar[t] to (B, 1, 1, 1) so it broadcasts over the pixels."
        elif matching_hint(got, hints) is None:  # its own noise with a fixed seed?
            message = noise_slip(function, (x0, t, noise, abar), 2, got) or message
        return _not_yet(message, tried)
    signal = math.sqrt(abar[500].item())
    return _report(True, f"x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps (at t=500, {signal:.2f} of x0 is left).")
