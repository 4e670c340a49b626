"""Checks for notebooks 3, 4 and 5: the training loss, one DDPM step and one DDIM step."""
import math

import torch

from ..sampling import ddim_step, ddpm_step
from ..schedules import NoiseSchedule
from ..losses import diffusion_loss
from ._core import _call, _not_yet, _report, broadcast_shape, compare, logged_check, matching_hint, noise_slip


class _ProbeModel:
    """A fixed 'noise predictor' that depends on both x_t and t, so that a loss computed from the
    wrong input or the wrong timestep gives a different number."""

    def __call__(self, x_t, t, y=None):
        return 0.6 * x_t * (1 + t.double() / 1000).reshape(-1, *([1] * (x_t.dim() - 1)))


@logged_check
def check_training_loss(function, data_shape=(1, 8, 8)):
    """Check ``function(model, x0, t, noise, alphas_cumprod)`` -> the DDPM loss (Ho et al. 2020, eq. 14)
    of one batch: the mean of (noise - model(x_t, t))^2, x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise.
    data_shape: the shape of one sample, (1, 8, 8) for images (notebook 4), (2,) for points (notebook 3)."""

    schedule, model = NoiseSchedule("linear", 1000), _ProbeModel()
    generator = torch.Generator().manual_seed(1)
    x0 = torch.rand(6, *data_shape, generator=generator, dtype=torch.float64) * 2 - 1
    noise = torch.randn(6, *data_shape, generator=generator, dtype=torch.float64)
    t = torch.tensor([0, 3, 100, 500, 900, 999])
    abar = schedule.alphas_cumprod_float64
    reshaped = broadcast_shape(data_shape)
    tried = (f"model = a fixed test function of x_t and t, x0 and noise of shape {tuple(x0.shape)} (float64), "
             "t = tensor([0, 3, 100, 500, 900, 999]) and alphas_cumprod (1000,) of NoiseSchedule('linear', 1000)")
    got, error = _call(function, model, x0.clone(), t.clone(), noise.clone(), abar.clone())
    if error:
        return _not_yet(error + (f" Hint: abar[t] has shape (B,); reshape it to {reshaped}."
                                 if "size of tensor" in error else ""), tried)
    slip = noise_slip(function, (model, x0, t, noise, abar), 3, got, noise_matters=False,
                      given="the `noise` and `t` arguments")
    if slip:
        return _not_yet(slip, tried)
    if got.numel() == len(t):
        return _not_yet("you returned one loss a sample: average over the batch too (.mean()), one number.", tried)
    a, a_before = abar[t].reshape(-1, *[1] * len(data_shape)), abar[(t - 1).clamp(min=0)].reshape(-1, *[1] * len(data_shape))
    x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise

    def mse(target, prediction):
        return (target - prediction).square().mean().reshape(1)
    hints = [(mse(noise, model(a * x0 + (1 - a) * noise, t)), "take square roots when you form x_t: sqrt(abar_t) and sqrt(1 - abar_t)."),
             (mse(x0, model(x_t, t)), "the model predicts the noise, so compare its output with `noise`, not with x0."),
             (mse(noise, model(x0, t)), "give the model the noisy x_t, not the clean x0."),
             (mse(noise, model(a_before.sqrt() * x0 + (1 - a_before).sqrt() * noise, t)),
              "you used alphas_cumprod[t - 1]: index t already holds alpha-bar of step t (0-based)."),
             ((noise - model(x_t, t)).square().sum().reshape(1), "that is the sum of squares: take the mean (as F.mse_loss does)."),
             (mse(noise, model(x_t, t)).sqrt(), "no square root at the end: the loss is the mean squared error."),
             ((noise - model(x_t, t)).square().flatten(1).sum(1).mean().reshape(1),
              "you summed over each sample's values and averaged over the batch: average over the values too "
              "(one .mean() over everything), as the loss's 1/D says.")]
    expected = diffusion_loss(model, schedule, x0, t, noise).double().reshape(1)
    if got.numel() == x0.numel():
        return _not_yet("you returned the squared error of every value: average them into one number (.mean()).", tried)
    ok, message = compare(got.reshape(-1), expected, "your loss", index_name="position", hints=hints)
    if not ok:
        if got.numel() != 1 and "size of tensor" not in message:
            message += f" Hint: is abar[t] reshaped to {reshaped}, so that it broadcasts over each sample?"
        return _not_yet(message, tried)
    return _report(True, f"loss = mean (noise - eps_theta(x_t, t))^2 = {expected.item():.4f} on the check's batch.")


@logged_check
def check_ddpm_step(function, data_shape=(1, 8, 8)):
    """Check ``function(x_t, t, eps_hat, noise, betas, alphas_cumprod)`` -> x_{t-1}, one DDPM step
    (Ho et al. 2020, Algorithm 2) for one int t:
    x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps_hat) / sqrt(alpha_t) + sigma_t noise,
    sigma_t^2 = beta-tilde_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t, and no noise at t = 0.
    data_shape: the shape of one sample, (1, 8, 8) for images (notebook 4), (2,) for points (notebook 3)."""

    schedule = NoiseSchedule("linear", 1000)
    betas = schedule.betas.double()
    abar = schedule.alphas_cumprod_float64
    generator = torch.Generator().manual_seed(2)
    for t in [999, 500, 10, 0]:
        x_t, eps_hat, noise = (torch.randn(4, *data_shape, generator=generator, dtype=torch.float64) for _ in range(3))
        tried = (f"x_t, eps_hat and noise of shape {tuple(x_t.shape)} (float64, from N(0, 1)), t = {t} (an int), "
                 "and betas and alphas_cumprod (1000,) of NoiseSchedule('linear', 1000)")
        arguments = (x_t, t, eps_hat, noise, betas, abar)
        got, error = _call(function, *(a.clone() if isinstance(a, torch.Tensor) else a for a in arguments))
        if error:
            return _not_yet(f"at t={t}: {error}", tried)
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
                 (x0_hat, "that is x0_hat, the model's guess of the clean image: take one small step towards it instead."),
                 (mean, "the mean is right, but the step also adds fresh noise sigma_t z, sigma_t = sqrt(beta-tilde_t) "
                  "(except at t = 0)."),
                 ((x_t - beta / (1 - a) ** 0.5 * eps_hat) / alpha + variance**0.5 * noise,
                  "divide the mean by sqrt(alpha_t), not by alpha_t.")]
        if t == 0:  # abar[t - 1] is abar[-1] in Python: the last entry, not "before the first step"
            wrapped = ((1 - abar[-1].item()) / (1 - a) * beta) ** 0.5
            hints.insert(0, (mean + wrapped * noise, "at t = 0, alphas_cumprod[t - 1] is alphas_cumprod[-1], the last "
                             "entry (Python wraps around): alpha-bar before the first step is 1, so add no noise at t = 0."))
        ok, message = compare(got, expected, f"x_(t-1) at t={t}", index_name="sample", hints=hints)
        if not ok:
            if got.shape == expected.shape and matching_hint(got, hints) is None:  # does it use its noise?
                slip = noise_slip(function, arguments, 3, got, noise_matters=t > 0)
                message = f"at t={t}: {slip}" if slip else message
            return _not_yet(message, tried)
    return _report(True, "one DDPM step: the posterior mean from eps_hat, plus sigma_t z (none at t = 0).")


@logged_check
def check_ddim_step(function):
    """Check ``function(x_t, eps_hat, abar_t, abar_prev, eta, noise)`` -> x_{t_prev}, one DDIM step
    (Song et al. 2021, eq. 12) with alpha-bars given as floats:
    x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t),
    x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps_hat + sigma noise,
    sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev)   (eq. 16)."""
    schedule = NoiseSchedule("cosine", 1000)
    generator = torch.Generator().manual_seed(3)
    # moderate steps first: near t = 999, x0_hat divides by sqrt(abar) ~ 5e-5 and every value is huge
    for t, t_prev, eta in [(500, 300, 0.0), (500, 300, 1.0), (700, 200, 0.5), (20, -1, 0.0), (999, 899, 0.0)]:
        x_t, eps_hat, noise = (torch.randn(4, 1, 8, 8, generator=generator, dtype=torch.float64) for _ in range(3))
        a, a_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
        arguments = (x_t, eps_hat, a, a_prev, eta, noise)
        got, error = _call(function, *(v.clone() if isinstance(v, torch.Tensor) else v for v in arguments))
        where = f"t={t} -> {t_prev}, eta={eta}"
        tried = (f"x_t, eps_hat and noise of shape (4, 1, 8, 8) (float64, from N(0, 1)), abar_t = {a:.6g}, "
                 f"abar_prev = {a_prev:.6g} (NoiseSchedule('cosine', 1000) at {t} and {t_prev}) and eta = {eta}")
        if error:
            return _not_yet(f"at {where}: {error}", tried)
        expected, x0_hat = ddim_step(schedule, x_t, t, t_prev, eps_hat, eta=eta, noise=noise)
        sigma = eta * math.sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev))
        hints = [(x0_hat, "that is x0_hat: DDIM moves to x_{t_prev}, sqrt(abar_prev) x0_hat plus the direction to x_t."),
                 (math.sqrt(a_prev) * x0_hat + math.sqrt(1 - a_prev) * eps_hat + sigma * noise,
                  "the direction's coefficient is sqrt(1 - abar_prev - sigma^2): subtract sigma^2, so the variance stays 1 - abar_prev."),
                 (math.sqrt(a_prev) * x0_hat + math.sqrt(max(1 - a_prev - sigma**2, 0)) * eps_hat + sigma**2 * noise,
                  "multiply the noise by sigma, not by sigma^2."),
                 (math.sqrt(a_prev) * x0_hat + math.sqrt(1 - a_prev) * eps_hat,
                  "with eta > 0 the step adds sigma z: sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev)."),
                 (math.sqrt(a_prev) * (x_t - (1 - a) * eps_hat) / math.sqrt(a) + math.sqrt(max(1 - a_prev - sigma**2, 0)) * eps_hat
                  + sigma * noise, "x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t): take the square root of 1 - abar_t.")]
        hints.append((math.sqrt(a_prev) * x0_hat + max(1 - a_prev - sigma**2, 0) * eps_hat + sigma * noise,
                      "the direction's coefficient is the square root of 1 - abar_prev - sigma^2."))
        if eta < 1:
            sigma_one = math.sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev))
            hints.append((math.sqrt(a_prev) * x0_hat + math.sqrt(max(1 - a_prev - sigma_one**2, 0)) * eps_hat
                          + sigma_one * noise, "sigma is eta times the square roots of eq. 16: multiply by eta."))
        if eta > 0:
            sigma_short = eta * math.sqrt((1 - a_prev) / (1 - a))
            hints.append((math.sqrt(a_prev) * x0_hat + math.sqrt(max(1 - a_prev - sigma_short**2, 0)) * eps_hat
                          + sigma_short * noise, "sigma has two factors (eq. 16): also multiply by sqrt(1 - abar_t / abar_prev)."))
        ok, message = compare(got, expected, f"x_prev at {where}", index_name="sample", hints=hints)
        if not ok:
            if got.shape == expected.shape and matching_hint(got, hints) is None:  # does it use its noise?
                slip = noise_slip(function, arguments, 5, got, noise_matters=sigma > 0)
                message = f"at {where}: {slip}" if slip else message
            return _not_yet(message, tried)
    return _report(True, "one DDIM step: predicted x0, the direction pointing to x_t, and sigma z; "
                         "eta = 0 deterministic, eta = 1 DDPM's variance.")
