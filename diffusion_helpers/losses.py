"""The one loss of every training run: the simple DDPM loss (Ho et al. 2020, eq. 14), the
weighting of it over timesteps that ``TrainConfig.loss_weighting`` chooses, and the weights the
variational bound would put on each timestep instead (eq. 12).

    L = E_{x_0, t, eps} || eps - eps_theta(sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, t) ||^2
"""
import torch

from ._checks import check_choice, check_float_tensor, check_timesteps
from .model_checks import check_model_input, check_prediction_shape, check_time_kind
from .sampling import reverse_variance
from .schedules import NoiseSchedule

LOSS_WEIGHTINGS = ("uniform", "min_snr")
REDUCTIONS = ("mean", "none")


def check_loss_batch(model, x0, reduction, generator):
    """The checks every loss makes of its batch, before drawing anything: x0 a non-empty float
    tensor (B, ...) the model can take, ``reduction`` in REDUCTIONS. Returns the device that t and
    the noise are drawn on (the generator's, else x0's)."""
    check_float_tensor("x0", x0)
    if x0.shape[0] == 0:
        raise ValueError(f"x0 holds no samples (shape {tuple(x0.shape)}): give a batch of at least one")
    check_model_input(model, x0, "x0")
    check_choice("reduction", reduction, REDUCTIONS)
    return generator.device if generator is not None else x0.device


def reduce_loss(per_sample, reduction):
    """Each sample's loss (B,) as one number ("mean") or as it is ("none")."""
    if reduction == "mean":
        return per_sample.mean()
    elif reduction == "none":
        return per_sample
    else:
        raise ValueError(f"reduction must be one of {list(REDUCTIONS)}, got {reduction!r}")


def diffusion_loss(model, schedule, x0, t=None, noise=None, y=None, *, generator=None, reduction="mean"):
    """The simple DDPM loss (Ho et al. 2020, eq. 14), the one loss every training run uses:

        L = || eps - eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t) ||^2,
        t ~ Uniform{0, ..., T-1},  eps ~ N(0, I),

    averaged over the values of each sample (and over the batch, with reduction="mean").

    Args:
        model: model(x_t, t) -> eps, or model(x_t, t, y) when y is given.
        schedule: the NoiseSchedule of the forward process.
        x0: clean data (B, ...): images in [-1, 1] (B, C, H, W), or points (B, D).
        t: timesteps (B,) or one int in [0, T); drawn uniformly if None.
        noise: eps, shaped like x0; drawn from N(0, I) if None.
        y: class labels (B,) (NULL_LABEL for "no class" in a row), or None.
        generator: the torch.Generator that draws t and noise when they are not given.
        reduction: "mean" for one number, "none" for the loss of each sample, (B,).
    Returns a 0-d tensor, or (B,).
    """
    check_time_kind("model", model, False, "is a velocity model of continuous time t in [0, 1]: the diffusion loss "
                    "trains a noise predictor of integer timesteps. Build it without continuous_time=True, or train "
                    "it with dh.flow_matching_loss (dh.train(model, None, data, objective='flow_matching'))")
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    draw_on = check_loss_batch(model, x0, reduction, generator)
    if t is None:
        t = torch.randint(schedule.num_timesteps, (x0.shape[0],), generator=generator, device=draw_on)
    t = check_timesteps(t, x0.shape[0], schedule.num_timesteps, device=x0.device)
    if noise is None:
        noise = torch.randn(x0.shape, generator=generator, device=draw_on, dtype=x0.dtype).to(x0.device)
    x_t, noise = schedule.q_sample(x0, t, noise)
    prediction = check_prediction_shape(model(x_t, t) if y is None else model(x_t, t, y), x_t)
    per_sample = (prediction.float() - noise.float()).square().flatten(1).mean(1)
    return reduce_loss(per_sample, reduction)


def loss_weights(config, schedule, t):
    """The weight of each sample's loss, (B,) for timesteps t (B,): 1 for "uniform"; for "min_snr"
    (Hang et al. 2023, eq. 8 for noise prediction) w_t = min(SNR_t, gamma) / SNR_t, which lowers
    the weight of the nearly clean timesteps (SNR_t > gamma) so that training spends more of its
    effort on the noisy ones that decide a sample's overall shape."""
    if config.loss_weighting == "uniform":
        return torch.ones(t.shape, device=t.device)
    elif config.loss_weighting == "min_snr":
        snr = schedule.snr()[t]
        return snr.clamp(max=config.min_snr_gamma) / snr
    else:
        raise ValueError(f"loss_weighting must be one of {LOSS_WEIGHTINGS}, got {config.loss_weighting!r}")


def variational_bound_weights(schedule, variance="beta_tilde"):
    """The weight that DDPM's variational bound puts on each timestep's noise-prediction error
    (Ho et al. 2020, eq. 12): its term L_{t-1} (eq. 5) is, for a reverse step of variance sigma_t^2,

        L_{t-1} - C = E || mu~_t - mu_theta ||^2 / (2 sigma_t^2)
                    = w_t E || eps - eps_theta(x_t, t) ||^2,   w_t = beta_t^2 / (2 sigma_t^2 alpha_t (1 - abar_t)),

    where the simple loss (eq. 14) puts the same weight on every t. With sigma_t^2 = beta~_t this is
    w_t = (SNR(t-1) / SNR(t) - 1) / 2 (Kingma et al. 2021, in discrete time): largest where the data
    is nearly clean (0.6 at t = 1 on the linear schedule, T = 1000), 0.005 to 0.01 over the rest.

    Index 0 (the paper's t = 1) is the decoder term L_0 in the paper; there beta~_0 = 0, and its
    sigma^2 is taken as beta~_1 (as the paper's code clips the posterior's log variance), so the
    weight is finite. Args: schedule, a NoiseSchedule; variance, sigma_t^2: "beta_tilde" or "beta"
    (``reverse_variance``). Returns a float64 tensor (T,)."""
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    alpha_bar = schedule.alphas_cumprod_float64
    alpha_bar_prev = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bar[:-1]])
    beta = 1 - alpha_bar / alpha_bar_prev
    sigma_squared = reverse_variance(alpha_bar, alpha_bar_prev, variance)
    if schedule.num_timesteps > 1:
        sigma_squared[0] = sigma_squared[1] if variance == "beta_tilde" else sigma_squared[0]
    return beta**2 / (2 * sigma_squared * (1 - beta) * (1 - alpha_bar))
