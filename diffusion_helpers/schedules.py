"""Beta schedules and the forward (noising) process of DDPM.

Indexing: timesteps are 0-based, as in Hugging Face diffusers. Index ``t`` in [0, T) is the
paper's step t+1, so ``alphas_cumprod[0] = 1 - betas[0]`` is the signal left after one step and
``alphas_cumprod[T-1]`` after all T steps.
"""
import math
import numbers

import torch

from ._checks import (check_choice, check_data, check_float_tensor, check_int, check_mapping, check_number,
                      check_same_shape, check_timesteps)
from .runtime import pick_device

SCHEDULE_NAMES = ("linear", "cosine", "quadratic", "sigmoid")
# The textbook numbers, written once: DDPM's betas (Ho et al. 2020, sec. 4) and the cosine
# schedule's offset s and cap on beta (Nichol & Dhariwal 2021, sec. 3.2), as in diffusers.
DDPM_BETA_START, DDPM_BETA_END = 1e-4, 0.02
COSINE_S, COSINE_MAX_BETA = 0.008, 0.999
MAX_TIMESTEPS = 100_000  # far beyond any schedule in use (DDPM: 1,000); guards against typos such as 10**9


def make_betas(name, num_timesteps, beta_start=DDPM_BETA_START, beta_end=DDPM_BETA_END, cosine_s=COSINE_S,
               max_beta=COSINE_MAX_BETA):
    """The variances beta_t of the forward steps, a float64 tensor (T,).

    - "linear" (Ho et al. 2020, sec. 4): beta_t evenly spaced from beta_start to beta_end.
    - "quadratic": sqrt(beta_t) evenly spaced, so beta_t grows like t^2 (diffusers "scaled_linear").
    - "sigmoid": beta_t = beta_start + (beta_end - beta_start) * sigmoid(s), s evenly in [-6, 6].
    - "cosine" (Nichol & Dhariwal 2021, eq. 17): alpha-bar(t) = f(t) / f(0),
      f(t) = cos(((t / T) + s) / (1 + s) * pi / 2)^2, and beta_t = min(1 - abar_t / abar_{t-1}, max_beta).
    """
    check_choice("schedule name", name, SCHEDULE_NAMES)
    T = check_int("num_timesteps", num_timesteps, low=1, high=MAX_TIMESTEPS)
    beta_start = check_number("beta_start", beta_start, low=0.0, high=1.0)
    beta_end = check_number("beta_end", beta_end, low=0.0, high=1.0)
    if name != "cosine":  # the cosine schedule does not use them
        for label, value in (("beta_start", beta_start), ("beta_end", beta_end)):
            if not 0 < value < 1:
                raise ValueError(f"{label} must lie strictly between 0 and 1 (a variance added at one step), "
                                 f"got {value}; DDPM uses {DDPM_BETA_START} and {DDPM_BETA_END}")
        if beta_end < beta_start:
            raise ValueError(f"beta_end must be at least beta_start (noise grows with t), got beta_start="
                             f"{beta_start}, beta_end={beta_end}")
    if name == "linear":
        return torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
    elif name == "quadratic":
        return torch.linspace(beta_start**0.5, beta_end**0.5, T, dtype=torch.float64) ** 2
    elif name == "sigmoid":
        s = torch.linspace(-6, 6, T, dtype=torch.float64)
        return torch.sigmoid(s) * (beta_end - beta_start) + beta_start
    elif name == "cosine":
        u = torch.arange(T + 1, dtype=torch.float64) / T  # t / T in [0, 1]
        f = torch.cos((u + cosine_s) / (1 + cosine_s) * math.pi / 2) ** 2
        return (1 - f[1:] / f[:-1]).clamp(max=max_beta)
    else:
        raise ValueError(f"schedule name must be one of {list(SCHEDULE_NAMES)}, got {name!r}")


def _sqrt(value):
    """sqrt of a float (math.sqrt, in double precision) or of a tensor."""
    return math.sqrt(value) if isinstance(value, float) else value.sqrt()


def x0_hat_from_eps(x_t, eps_hat, alpha_bar):
    """The clean data a noise estimate implies, the closed form q(x_t | x_0) solved for x_0:

        x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t)                  (DDPM eq. 15)

    x_t, eps_hat (B, ...); alpha_bar a float, or a tensor (B, 1, ..., 1) that broadcasts."""
    return (x_t - _sqrt(1 - alpha_bar) * eps_hat) / _sqrt(alpha_bar)


def posterior_coefficients(alpha_bar_t, alpha_bar_prev):
    """The posterior q(x_{t_prev} | x_t, x_0) = N(coef_x0 x_0 + coef_xt x_t, variance I) (DDPM eq. 7):

        coef_x0 = sqrt(abar_prev) beta / (1 - abar_t),   coef_xt = sqrt(alpha) (1 - abar_prev) / (1 - abar_t),
        variance = beta~ = (1 - abar_prev) / (1 - abar_t) beta,

    with alpha = abar_t / abar_prev and beta = 1 - alpha: alpha_t and beta_t when t_prev = t - 1,
    the same step over a gap otherwise. Floats or tensors of alpha-bars; returns
    (coef_x0, coef_xt, variance) of the same kind."""
    alpha = alpha_bar_t / alpha_bar_prev
    beta = 1 - alpha
    coef_x0 = _sqrt(alpha_bar_prev) * beta / (1 - alpha_bar_t)
    coef_xt = _sqrt(alpha) * (1 - alpha_bar_prev) / (1 - alpha_bar_t)
    return coef_x0, coef_xt, (1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta


def half_log_snr_from_alpha_bar(alpha_bar):
    """lambda = log(sqrt(abar) / sqrt(1 - abar)) = 0.5 log(abar / (1 - abar)), half the log
    signal-to-noise ratio of one alpha-bar (a float in (0, 1)), the time variable of DPM-Solver (Lu et
    al. 2022, sec. 3.1, where it reads log(alpha_t / sigma_t): their alpha_t, sigma_t are our sqrt(abar_t),
    sqrt(1 - abar_t); in this series alpha_t = 1 - beta_t)."""
    return 0.5 * (math.log(alpha_bar) - math.log1p(-alpha_bar))


def _at(values, t, x):
    """values[t] reshaped to (B, 1, ..., 1) so that it broadcasts against x (B, ...)."""
    out = values.to(device=x.device, dtype=x.dtype)[t.to(x.device)]
    return out.reshape(-1, *([1] * (x.dim() - 1)))


class NoiseSchedule:
    """A beta schedule and everything derived from it (Ho et al. 2020, "DDPM").

    Args:
        name: "linear" | "cosine" | "quadratic" | "sigmoid" (see ``make_betas``).
        num_timesteps: T, the number of forward steps.
        beta_start, beta_end: first and last beta for linear, quadratic and sigmoid.

    Attributes (float32 tensors of length T):
        betas: beta_t, the variance added at step t.
        alphas: alpha_t = 1 - beta_t.
        alphas_cumprod: alpha-bar_t = prod_{s<=t} alpha_s, the share of signal variance left.
        alphas_cumprod_prev: alpha-bar_{t-1}, with alpha-bar_{-1} = 1.
        posterior_variance: beta-tilde_t = (1 - abar_{t-1}) / (1 - abar_t) * beta_t (DDPM eq. 7).
    """

    def __init__(self, name="linear", num_timesteps=1000, beta_start=DDPM_BETA_START, beta_end=DDPM_BETA_END, *,
                 _betas=None):
        if _betas is None:
            _betas = make_betas(name, num_timesteps, beta_start, beta_end)
        self.name = name
        self.beta_start, self.beta_end = beta_start, beta_end
        betas = _betas.to(torch.float64)
        alphas_cumprod = torch.cumprod(1 - betas, dim=0)
        if float(alphas_cumprod[-1]) < 1e-30:  # float32 would round alpha-bar to 0: divisions by 0, NaN samples
            last = int((alphas_cumprod >= 1e-30).sum())
            raise ValueError(f"with these betas alpha-bar falls below 1e-30 after {last} of {betas.numel()} steps "
                             "(all signal is gone long before the end, and float32 rounds it to 0): use fewer "
                             "timesteps or smaller betas")
        alphas_cumprod_prev = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod[:-1]])
        self.betas = betas.float()
        self.alphas = (1 - betas).float()
        self.alphas_cumprod = alphas_cumprod.float()
        self.alphas_cumprod_prev = alphas_cumprod_prev.float()
        # The posterior of each step (DDPM eq. 7): mean coef_x0 * x0 + coef_xt * x_t, variance beta~_t.
        coef_x0, coef_xt, variance = posterior_coefficients(alphas_cumprod, alphas_cumprod_prev)
        self.posterior_variance = variance.float()
        self.posterior_mean_coef_x0, self.posterior_mean_coef_xt = coef_x0.float(), coef_xt.float()
        # alpha-bar in double precision, as Python floats (no device, so MPS needs no float64):
        # summed as logs from the stored betas, so that 1 - alpha-bar near t = 0 stays exact
        self._alpha_bar_exact = (1.0,) + tuple(torch.log1p(-self.betas.double()).cumsum(0).exp().tolist())

    @classmethod
    def from_betas(cls, betas, name="custom"):
        """A schedule from your own betas: a 1-D tensor (or list, or NumPy array) with values in (0, 1)."""
        if not isinstance(betas, torch.Tensor):
            try:
                betas = torch.as_tensor(betas, dtype=torch.float64)
            except (TypeError, ValueError, RuntimeError):
                raise TypeError(f"betas must be a 1-D tensor, list or array of numbers, got {type(betas).__name__}") from None
        check_float_tensor("betas", betas, min_dim=1)
        if betas.dim() != 1 or betas.numel() == 0:
            raise ValueError(f"betas must be a 1-D tensor (T,) of at least one beta, got shape {tuple(betas.shape)}")
        if not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError("betas must lie strictly between 0 and 1")
        return cls(name, betas.numel(), _betas=betas.detach().cpu())

    @property
    def num_timesteps(self):
        """T, the number of forward steps."""
        return self.betas.numel()

    @property
    def device(self):
        return self.betas.device

    def snr(self):
        """Signal-to-noise ratio SNR(t) = abar_t / (1 - abar_t) (Kingma et al. 2021, eq. 2), shape (T,)."""
        return self.alphas_cumprod / (1 - self.alphas_cumprod)

    def alpha_bar(self, t):
        """alpha-bar at one timestep t, a float in double precision: prod_{s<=t} (1 - beta_s),
        summed as logs from the betas, so that 1 - alpha-bar stays exact near t = 0 (where it is
        about 1e-4). t = -1, "after the last reverse step", gives 1: no noise at all."""
        t = check_int("t", t, low=-1, high=self.num_timesteps - 1)
        return self._alpha_bar_exact[t + 1]

    def alpha_bars(self, timesteps):
        """``alpha_bar`` at each of the integer ``timesteps`` (a sequence or 1-D tensor; -1 gives 1):
        a list of floats, for a sampler's whole time grid, checked once."""
        if isinstance(timesteps, torch.Tensor):
            if timesteps.is_floating_point() or timesteps.dtype == torch.bool or timesteps.dim() != 1:
                raise TypeError(f"timesteps must be a 1-D integer tensor or a sequence of ints, got dtype "
                                f"{timesteps.dtype}, shape {tuple(timesteps.shape)}")
            timesteps = timesteps.tolist()
        if isinstance(timesteps, (str, bytes)):
            raise TypeError(f"timesteps must be a sequence of ints, got {type(timesteps).__name__}")
        timesteps = list(timesteps)
        if not all(isinstance(t, numbers.Integral) and not isinstance(t, bool) for t in timesteps):
            raise TypeError(f"timesteps must hold integers, got {timesteps[:5]}")
        if timesteps and (min(timesteps) < -1 or max(timesteps) > self.num_timesteps - 1):
            raise ValueError(f"timesteps must be in [-1, {self.num_timesteps - 1}], got values from {min(timesteps)} "
                             f"to {max(timesteps)}")
        return [self._alpha_bar_exact[t + 1] for t in timesteps]

    @property
    def alphas_cumprod_float64(self):
        """alpha-bar_t as ``alpha_bar`` computes it (in double precision, summed as logs from the
        betas), a float64 CPU tensor (T,): for work that needs more than float32's 7 digits."""
        return torch.tensor(self._alpha_bar_exact[1:], dtype=torch.float64)

    def half_log_snr(self, t):
        """lambda_t = log(sqrt(abar_t) / sqrt(1 - abar_t)) = 0.5 log(abar_t / (1 - abar_t)), half the
        log signal-to-noise ratio at one timestep t, a float (the time variable of DPM-Solver, Lu et al.
        2022, sec. 3.1, whose alpha_t, sigma_t are our sqrt(abar_t), sqrt(1 - abar_t)). It falls from
        about +5 near t = 0 to -5 or below at t = T-1 (-9.9 on the cosine schedule, -5.1 on the linear)."""
        return half_log_snr_from_alpha_bar(self.alpha_bar(t))

    def log_snr(self):
        """log SNR(t), shape (T,); it falls from high (clean) to low (pure noise)."""
        return torch.log(self.alphas_cumprod) - torch.log1p(-self.alphas_cumprod)

    def _t(self, t, x):
        return check_timesteps(t, x.shape[0], self.num_timesteps)

    def q_sample(self, x0, t, noise=None):
        """Sample q(x_t | x_0) in closed form (DDPM eq. 4, the reparameterisation):

        x_t = sqrt(abar_t) * x_0 + sqrt(1 - abar_t) * eps,   eps ~ N(0, I).

        Args:
            x0: clean data (B, ...): images (B, C, H, W) in [-1, 1] (NaN and values far outside,
                such as [0, 255], are refused; [0, 1] gets a warning), or points (B, D), any finite values.
            t: integer timesteps (B,) in [0, T), or one int for the whole batch.
            noise: eps of the same shape as x0; drawn with torch.randn_like if None.
        Returns:
            (x_t, noise), both shaped like x0.
        """
        check_data("x0", x0)
        t = self._t(t, x0)
        noise = torch.randn_like(x0) if noise is None else self._check_noise(noise, x0)
        abar = _at(self.alphas_cumprod, t, x0)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise, noise

    def q_step(self, x_prev, t, noise=None):
        """One Markov step q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I) (DDPM eq. 2).

        Args:
            x_prev: x_{t-1} (B, ...); for t = 0 this is the clean data.
            t: integer timesteps (B,) in [0, T), or one int.
            noise: standard normal noise shaped like x_prev, drawn if None.
        Returns:
            x_t, shaped like x_prev.
        """
        check_data("x_prev", x_prev, images=False)  # x_{t-1} of a chain: noisy, any range
        t = self._t(t, x_prev)
        noise = torch.randn_like(x_prev) if noise is None else self._check_noise(noise, x_prev)
        beta = _at(self.betas, t, x_prev)
        return (1 - beta).sqrt() * x_prev + beta.sqrt() * noise

    def posterior(self, x0, x_t, t):
        """Mean and variance of q(x_{t-1} | x_t, x_0) (DDPM eqs. 6-7):

        mu~_t = sqrt(abar_{t-1}) beta_t / (1 - abar_t) * x_0 + sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t) * x_t
        beta~_t = (1 - abar_{t-1}) / (1 - abar_t) * beta_t

        Args:
            x0, x_t: tensors of the same shape (B, ...).
            t: integer timesteps (B,) in [0, T), or one int.
        Returns:
            (mean shaped like x_t, variance shaped (B, 1, ..., 1)). At t = 0 the mean is x_0 and
            the variance 0.
        """
        check_float_tensor("x_t", x_t)
        check_float_tensor("x0", x0)
        if x0.shape != x_t.shape:
            raise ValueError(f"x0 and x_t must have the same shape, got {tuple(x0.shape)} and {tuple(x_t.shape)}")
        t = self._t(t, x_t)
        mean = _at(self.posterior_mean_coef_x0, t, x_t) * x0 + _at(self.posterior_mean_coef_xt, t, x_t) * x_t
        return mean, _at(self.posterior_variance, t, x_t)

    def predict_x0(self, x_t, t, noise):
        """Invert the closed form: x0_hat = (x_t - sqrt(1 - abar_t) * eps) / sqrt(abar_t) (DDPM eq. 15).
        x_t and noise (the noise, or a model's estimate of it) of the same shape (B, ...); t as for q_sample."""
        check_float_tensor("x_t", x_t)
        check_same_shape("noise", noise, "x_t", x_t)  # (B, 1, 1, 1) would broadcast into a wrong x0_hat
        t = self._t(t, x_t)
        return x0_hat_from_eps(x_t, noise, _at(self.alphas_cumprod, t, x_t))

    @staticmethod
    def _check_noise(noise, x):
        check_data("noise", noise, images=False)
        if noise.shape != x.shape:
            raise ValueError(f"noise must have the shape of the data {tuple(x.shape)}, got {tuple(noise.shape)}")
        return noise

    def to(self, device):
        """A copy with every tensor on ``device`` ("cpu", "cuda", "mps" or a torch.device)."""
        device = pick_device(device) if not isinstance(device, torch.device) else device
        new = object.__new__(NoiseSchedule)
        for key, value in vars(self).items():
            setattr(new, key, value.to(device) if isinstance(value, torch.Tensor) else value)
        return new

    def config(self):
        """The arguments that rebuild this schedule (stored in checkpoints)."""
        if self.name not in SCHEDULE_NAMES:
            return {"name": self.name, "betas": self.betas.cpu().tolist()}
        return {"name": self.name, "num_timesteps": self.num_timesteps,
                "beta_start": self.beta_start, "beta_end": self.beta_end}

    @classmethod
    def from_config(cls, config):
        """Rebuild a schedule from ``config()``."""
        check_mapping("config", config, "schedule.config()")
        keys = {"name", "betas"} if "betas" in config else {"name", "num_timesteps", "beta_start", "beta_end"}
        if not keys <= set(config):
            raise ValueError(f"config must hold {sorted(keys)} (as schedule.config() returns), got {sorted(config)}")
        if "betas" in config:
            return cls.from_betas(torch.tensor(config["betas"], dtype=torch.float64), name=config["name"])
        return cls(config["name"], config["num_timesteps"], config["beta_start"], config["beta_end"])

    def __repr__(self):
        return f"NoiseSchedule({self.name!r}, num_timesteps={self.num_timesteps})"
