"""Checks for the "your turn" cells. Each check calls the student's function on fixed inputs,
compares with the reference, prints what is right or exactly what is wrong (shape, the first
index that differs and by how much, and a hint for the usual mistakes) and returns True/False.
A check never raises: a notebook with an unfinished exercise still runs top to bottom.
"""
import math

import torch

from .schedules import DDPM_BETA_END, DDPM_BETA_START, NoiseSchedule


def _report(ok, message):
    print(("✅ Correct! " if ok else "❌ Not yet: ") + message)
    return ok


def _call(function, *args):
    """Run the student's function; return (tensor or None, error message or None)."""
    try:
        result = function(*args)
    except Exception as error:  # the student's code may fail in any way: report it, don't crash
        return None, f"your function raised {type(error).__name__}: {error}"
    if result is None:
        return None, "your function returned None: did you forget `return`?"
    if isinstance(result, tuple):
        return None, f"your function returned a tuple of {len(result)} items: return a single tensor."
    try:
        return torch.as_tensor(result, dtype=torch.float64), None
    except Exception:
        return None, f"your function returned a {type(result).__name__}, expected a torch.Tensor"


def compare(got, expected, name="value", index_name="t", rtol=1e-4, atol=1e-7, hints=()):
    """Compare two tensors; return (ok, message). ``hints`` is a list of (tensor, text): when the
    student's answer equals one of those tensors, the text says which mistake that is."""
    expected = expected.double()
    if tuple(got.shape) != tuple(expected.shape):
        return False, f"{name} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}."
    bad = ~torch.isclose(got, expected, rtol=rtol, atol=atol)
    if not bad.any():
        return True, ""
    for wrong, text in hints:
        if wrong.shape == got.shape and torch.allclose(got, wrong.double(), rtol=rtol, atol=atol):
            return False, text
    first = tuple(int(i) for i in bad.nonzero()[0])
    worst = tuple(int(i) for i in torch.unravel_index((got - expected).abs().argmax(), got.shape))

    def describe(index):
        where = f"{index_name}={index[0]}" if len(index) == 1 else f"index {index}"
        g, e = got[index].item(), expected[index].item()
        return f"at {where} you have {g:.6g}, expected {e:.6g} (off by {abs(g - e):.3g}, {100 * abs(g - e) / max(abs(e), 1e-12):.3g}%)"

    message = f"{name} differs at {int(bad.sum())} of {bad.numel()} places; first {describe(first)}"
    if worst != first:
        message += f"; the largest difference is {describe(worst)}"
    return False, message + "."


def exponential_betas_reference(num_timesteps, beta_start=DDPM_BETA_START, beta_end=DDPM_BETA_END):
    """beta_t = beta_start * (beta_end / beta_start)^(t / (T - 1)), t = 0 .. T-1: evenly spaced
    in log space, from beta_start to beta_end."""
    if num_timesteps == 1:
        return torch.tensor([beta_start], dtype=torch.float64)
    t = torch.arange(num_timesteps, dtype=torch.float64)
    return beta_start * (beta_end / beta_start) ** (t / (num_timesteps - 1))


def check_exponential_schedule(function):
    """Check ``function(num_timesteps, beta_start, beta_end)`` -> betas (T,) of the exponential schedule."""
    for T, start, end in [(1000, DDPM_BETA_START, DDPM_BETA_END), (50, 1e-3, 0.1)]:
        got, error = _call(function, T, start, end)
        if error:
            return _report(False, error)
        expected = exponential_betas_reference(T, start, end)
        t = torch.arange(T, dtype=torch.float64)
        hints = [(expected.flip(0), "your betas run backwards: beta must grow from beta_start to beta_end."),
                 (torch.linspace(start, end, T, dtype=torch.float64), "that is the linear schedule: space the betas evenly in log(beta)."),
                 (start * (end / start) ** ((t + 1) / T), "close: use the exponent t / (T - 1) for t = 0 .. T-1, so that the first beta is beta_start."),
                 (start * (end / start) ** (t / T), "close: with the exponent t / T the last beta falls short of beta_end; use t / (T - 1).")]
        ok, message = compare(got, expected, f"betas for T={T}", hints=hints)
        if not ok:
            return _report(False, message)
    return _report(True, "your exponential schedule matches beta_t = beta_start (beta_end / beta_start)^(t / (T-1)).")


def check_alphas_cumprod(function):
    """Check ``function(betas)`` -> alphas_cumprod, alpha-bar_t = prod_{s<=t} (1 - beta_s)."""
    for name in ["linear", "cosine"]:
        schedule = NoiseSchedule(name, 200)
        betas = schedule.betas.double()
        got, error = _call(function, betas.clone())
        if error:
            return _report(False, error)
        if got.dim() == 0:
            return _report(False, "you returned a single number (torch.prod?): alpha-bar has one value "
                                  "for every t, the running product: use torch.cumprod.")
        expected = torch.cumprod(1 - betas, 0)
        hints = [(1 - betas, "those are the alphas, 1 - beta_t: alpha-bar is their running product (torch.cumprod)."),
                 (torch.cumprod(betas, 0), "you multiplied the betas: multiply the alphas, 1 - beta_t."),
                 (torch.cat([torch.ones(1, dtype=torch.float64), expected[:-1]]),
                  "shifted by one: that is alphas_cumprod_prev. alpha-bar_0 should already include step 0, 1 - beta_0."),
                 (1 - torch.cumsum(betas, 0), "1 - sum of betas is only a first-order approximation: take the product of (1 - beta_t).")]
        ok, message = compare(got, expected, f"alphas_cumprod ({name} schedule)", hints=hints)
        if not ok:
            return _report(False, message)
    return _report(True, "alpha-bar_t is the running product of alpha_t = 1 - beta_t.")


def check_q_sample(function):
    """Check ``function(x0, t, noise, alphas_cumprod)`` -> x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise."""
    schedule = NoiseSchedule("linear", 1000)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.rand(4, 1, 8, 8, generator=generator, dtype=torch.float64) * 2 - 1
    noise = torch.randn(4, 1, 8, 8, generator=generator, dtype=torch.float64)
    t = torch.tensor([0, 10, 500, 999])
    abar = schedule.alphas_cumprod.double()
    got, error = _call(function, x0.clone(), t.clone(), noise.clone(), abar.clone())
    if error:
        if "size of tensor" in error or "must match" in error:
            error += " Hint: abar[t] has shape (B,); reshape it to (B, 1, 1, 1) so it broadcasts over the pixels."
        return _report(False, error)
    again, _ = _call(function, x0.clone(), t.clone(), noise.clone(), abar.clone())
    if again is not None and again.shape == got.shape and not torch.equal(again, got):
        return _report(False, "your function gives a different answer each call: use the `noise` argument "
                              "instead of drawing new noise.")
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
        return _report(False, message)
    signal = math.sqrt(abar[500].item())
    return _report(True, f"x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps (at t=500, {signal:.2f} of x0 is left).")


class _ProbeModel:
    """A fixed 'noise predictor' that depends on both x_t and t, so that a loss computed from the
    wrong input or the wrong timestep gives a different number."""

    def __call__(self, x_t, t, y=None):
        return 0.6 * x_t * (1 + t.double() / 1000).reshape(-1, *([1] * (x_t.dim() - 1)))


def check_training_loss(function):
    """Check ``function(model, x0, t, noise, alphas_cumprod)`` -> the DDPM loss (Ho et al. 2020, eq. 14)
    of one batch: the mean of (noise - model(x_t, t))^2, x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise."""
    from .training import diffusion_loss

    schedule, model = NoiseSchedule("linear", 1000), _ProbeModel()
    generator = torch.Generator().manual_seed(1)
    x0 = torch.rand(6, 1, 8, 8, generator=generator, dtype=torch.float64) * 2 - 1
    noise = torch.randn(6, 1, 8, 8, generator=generator, dtype=torch.float64)
    t = torch.tensor([0, 3, 100, 500, 900, 999])
    abar = torch.cumprod(1 - schedule.betas.double(), 0)
    got, error = _call(function, model, x0.clone(), t.clone(), noise.clone(), abar.clone())
    if error:
        return _report(False, error + (" Hint: abar[t] has shape (B,); reshape it to (B, 1, 1, 1)."
                                       if "size of tensor" in error else ""))
    if got.numel() == len(t):
        return _report(False, "you returned one loss a sample: average over the batch too (.mean()), one number.")
    a, a_before = abar[t].reshape(-1, 1, 1, 1), abar[(t - 1).clamp(min=0)].reshape(-1, 1, 1, 1)
    x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise

    def mse(target, prediction):
        return (target - prediction).square().mean().reshape(1)
    hints = [(mse(noise, model(a * x0 + (1 - a) * noise, t)), "take square roots when you form x_t: sqrt(abar_t) and sqrt(1 - abar_t)."),
             (mse(x0, model(x_t, t)), "the model predicts the noise, so compare its output with `noise`, not with x0."),
             (mse(noise, model(x0, t)), "give the model the noisy x_t, not the clean x0."),
             (mse(noise, model(a_before.sqrt() * x0 + (1 - a_before).sqrt() * noise, t)),
              "you used alphas_cumprod[t - 1]: index t already holds alpha-bar of step t (0-based)."),
             ((noise - model(x_t, t)).square().sum().reshape(1), "that is the sum of squares: take the mean (as F.mse_loss does)."),
             (mse(noise, model(x_t, t)).sqrt(), "no square root at the end: the loss is the mean squared error.")]
    expected = diffusion_loss(model, schedule, x0, t, noise).double().reshape(1)
    ok, message = compare(got.reshape(-1), expected, "your loss", hints=hints)
    if not ok:
        return _report(False, message)
    return _report(True, f"loss = mean (noise - eps_theta(x_t, t))^2 = {expected.item():.4f} on the check's batch.")


def check_ddpm_step(function):
    """Check ``function(x_t, t, eps_hat, noise, betas, alphas_cumprod)`` -> x_{t-1}, one DDPM step
    (Ho et al. 2020, Algorithm 2) for one int t:
    x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps_hat) / sqrt(alpha_t) + sigma_t noise,
    sigma_t^2 = beta-tilde_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t, and no noise at t = 0."""
    from .sampling import ddpm_step

    schedule = NoiseSchedule("linear", 1000)
    betas = schedule.betas.double()
    abar = torch.cumprod(1 - betas, 0)
    generator = torch.Generator().manual_seed(2)
    for t in [999, 500, 10, 0]:
        x_t, eps_hat, noise = (torch.randn(4, 1, 8, 8, generator=generator, dtype=torch.float64) for _ in range(3))
        got, error = _call(function, x_t.clone(), t, eps_hat.clone(), noise.clone(), betas.clone(), abar.clone())
        if error:
            return _report(False, f"at t={t}: {error}")
        expected, x0_hat = ddpm_step(schedule, x_t, t, t - 1, eps_hat, noise=noise)
        abar_prev = abar[t - 1].item() if t > 0 else 1.0
        alpha, beta, a = 1 - betas[t].item(), betas[t].item(), abar[t].item()
        mean = (x_t - beta / (1 - a) ** 0.5 * eps_hat) / alpha**0.5
        variance = (1 - abar_prev) / (1 - a) * beta
        hints = [(mean + (beta**0.5 if t > 0 else 0) * noise,
                  "you used sigma_t^2 = beta_t: DDPM's other valid choice; here use beta-tilde_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t."),
                 (mean + variance * noise, "multiply the noise by the standard deviation sigma_t = sqrt(beta-tilde_t), not by the variance."),
                 (x_t - beta / (1 - a) ** 0.5 * eps_hat + variance**0.5 * noise, "divide the mean by sqrt(alpha_t)."),
                 ((x_t - beta / (1 - a) ** 0.5 * eps_hat) / a**0.5 + variance**0.5 * noise,
                  "divide by sqrt(alpha_t) = sqrt(1 - beta_t), one step's alpha, not by sqrt(alpha-bar_t)."),
                 ((x_t - beta / (1 - a) * eps_hat) / alpha**0.5 + variance**0.5 * noise,
                  "the noise coefficient is beta_t / sqrt(1 - abar_t): you forgot the square root."),
                 (x0_hat, "that is x0_hat, the model's guess of the clean image: take one small step towards it instead.")]
        if t == 0:  # abar[t - 1] is abar[-1] in Python: the last entry, not "before the first step"
            wrapped = ((1 - abar[-1].item()) / (1 - a) * beta) ** 0.5
            hints.insert(0, (mean + wrapped * noise, "at t = 0, alphas_cumprod[t - 1] is alphas_cumprod[-1], the last "
                             "entry (Python wraps around): alpha-bar before the first step is 1, so add no noise at t = 0."))
        ok, message = compare(got, expected, f"x_(t-1) at t={t}", index_name="sample", hints=hints)
        if not ok:
            return _report(False, message)
    return _report(True, "one DDPM step: the posterior mean from eps_hat, plus sigma_t z (none at t = 0).")
