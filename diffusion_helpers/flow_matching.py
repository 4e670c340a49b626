"""Flow matching: the straight path from data to noise, its velocity, and the loss that learns it.

The path (rectified flow, Liu et al. 2023, eq. 1; the conditional optimal-transport path of Lipman
et al. 2023, eq. 20-23 with sigma_min = 0), in the series' direction, noise at the end as DDPM's t = T:

    x_t = (1 - t) x_0 + t eps,   t in [0, 1],   eps ~ N(0, I)       (t = 0 data, t = 1 noise)
    u_t = d x_t / dt = eps - x_0                                    (the conditional velocity)

Lipman et al. 2023 run the clock the other way (their t = 0 is noise, t = 1 data: x_t = t x_1 +
(1 - t) x_0 with x_1 the data), so their velocity is x_1 - x_0 = data - noise, the negative of
ours. Liu et al. 2023 also put the data at t = 1. Nothing else changes: the same straight line,
walked the other way.

A velocity model v_theta(x_t, t) learns E[eps - x_0 | x_t], the velocity of the marginal path (the
probability flow), by regression on the conditional velocity (Lipman et al. 2023, eq. 9 and
theorem 2; Liu et al. 2023, eq. 1). Sampling integrates dx/dt = v_theta(x, t) from t = 1 (noise)
to t = 0 (data): flow_samplers.py.

How t reaches the models: dh.UNet and dh.MLPDenoiser built with ``continuous_time=True`` take
t in [0, 1] as it is (a float tensor (B,)) and embed TIME_SCALE * t = 1000 t themselves (models.py).
Never multiply t by 1000 yourself: they refuse t > 1, and a DDPM model (integer timesteps)
refuses float times.
"""
import torch

from ._checks import (check_data, check_float_tensor, check_int, check_number, check_same_shape,
                      check_seed, check_unit_times)
from .losses import check_loss_batch, reduce_loss
from .model_checks import check_prediction_shape, check_time_kind
from .uncertainty import recentred



def _per_sample(t, x):
    """t (B,) reshaped to (B, 1, ..., 1) so that it broadcasts against x (B, ...)."""
    return t.to(x.dtype).reshape(-1, *([1] * (x.dim() - 1)))


def linear_path(x0, t, noise=None):
    """A point of the straight path from data to noise (Liu et al. 2023, eq. 1; Lipman et al.
    2023, eq. 20 with sigma_min = 0, there with t reversed):

        x_t = (1 - t) x_0 + t eps,   t = 0: the data, t = 1: pure noise.

    Args:
        x0: clean data (B, ...): images in [-1, 1] (B, C, H, W), or points (B, D).
        t: times in [0, 1], a float tensor (B,) or one float for the whole batch.
        noise: eps, shaped like x0; drawn with torch.randn_like if None.
    Returns:
        (x_t, noise), both shaped like x0.
    """
    check_data("x0", x0)
    t = check_unit_times(t, x0.shape[0], device=x0.device, dtype=x0.dtype)
    noise = torch.randn_like(x0) if noise is None else check_same_shape("noise", noise, "x0", x0)
    t = _per_sample(t, x0)
    return (1 - t) * x0 + t * noise, noise


def conditional_velocity(x0, noise):
    """The velocity of the straight path through x0 and noise, the flow-matching target
    (Lipman et al. 2023, eq. 23 with sigma_min = 0 and t reversed; Liu et al. 2023, eq. 1):

        u_t = d/dt [(1 - t) x_0 + t eps] = eps - x_0,

    the same at every t (a straight line walked at constant speed). x0, noise (B, ...); returns (B, ...)."""
    check_float_tensor("x0", x0)
    check_same_shape("noise", noise, "x0", x0)
    return noise - x0


def x0_hat_from_velocity(x_t, t, velocity):
    """The clean data a velocity implies: x_t = x_0 + t (eps - x_0), so x0_hat = x_t - t v. (The
    noise it implies is x_t + (1 - t) v.) It holds on any path of the form x_t = x_0 + t u with a
    constant u, so also in DDPM's sigma variable (flow_conversion.py). x_t, velocity (B, ...); t a float
    or a tensor (B,) of times (any range). Returns (B, ...)."""
    if isinstance(t, torch.Tensor):
        t = _per_sample(t, x_t)
    return x_t - t * velocity


def flow_matching_loss(model, x0, t=None, noise=None, y=None, *, generator=None, reduction="mean"):
    """The conditional flow-matching loss (Lipman et al. 2023, eq. 9 with the path of eq. 20-23;
    Liu et al. 2023, eq. 1), in the series' direction (t = 0 data, t = 1 noise):

        L = || v_theta((1 - t) x_0 + t eps, t) - (eps - x_0) ||^2,   t ~ Uniform[0, 1],  eps ~ N(0, I),

    averaged over the values of each sample (and over the batch, with reduction="mean"). Its
    minimiser is v*(x_t, t) = E[eps - x_0 | x_t], the velocity of the probability flow.

    Args:
        model: a velocity model, model(x_t, t) -> v with t float (B,) in [0, 1], or model(x_t, t, y)
            when y is given: dh.UNet or dh.MLPDenoiser built with continuous_time=True (they embed
            1000 t themselves: never pass t * 1000). A DDPM model (integer timesteps) is refused.
        x0: clean data (B, ...): images in [-1, 1] (B, C, H, W), or points (B, D).
        t: times (B,) in [0, 1] or one float; drawn uniformly if None.
        noise: eps, shaped like x0; drawn from N(0, I) if None.
        y: class labels (B,) (NULL_LABEL for "no class" in a row), or None.
        generator: the torch.Generator that draws t and noise when they are not given.
        reduction: "mean" for one number, "none" for the loss of each sample, (B,).
    Returns a 0-d tensor, or (B,).
    """
    check_time_kind("model", model, True, "takes integer timesteps (a DDPM noise predictor): flow matching needs a "
                    "velocity model of continuous time t in [0, 1]; build it with continuous_time=True, e.g. "
                    "dh.MLPDenoiser(continuous_time=True) or dh.UNet(continuous_time=True)")
    draw_on = check_loss_batch(model, x0, reduction, generator)
    if t is None:
        t = torch.rand(x0.shape[0], generator=generator, device=draw_on, dtype=x0.dtype).to(x0.device)
    t = check_unit_times(t, x0.shape[0], device=x0.device, dtype=x0.dtype).to(x0.dtype)
    if noise is None:
        noise = torch.randn(x0.shape, generator=generator, device=draw_on, dtype=x0.dtype).to(x0.device)
    x_t, noise = linear_path(x0, t, noise)
    prediction = check_prediction_shape(model(x_t, t) if y is None else model(x_t, t, y), x_t)
    per_sample = (prediction.float() - conditional_velocity(x0, noise).float()).square().flatten(1).mean(1)
    return reduce_loss(per_sample, reduction)


def zero_velocity_loss(data):
    """The flow-matching loss of a model that always predicts v = 0: E||eps - x_0||^2 / D =
    1 + E[x_0^2] (eps has unit variance and is independent of x_0), averaged over the values.
    Every trained model should beat it; ``dh.train`` warns when one does not. data (N, ...)."""
    check_float_tensor("data", data)
    return 1.0 + data.double().square().mean().item()


def path_straightness(trajectory):
    """How straight sampling paths are: each path's length over the distance between its ends,

        S = sum_k || x_{k+1} - x_k || / || x_K - x_0 ||   >= 1,   1 for a straight line

    (the norms over each sample's values). Rectified flow's reflow aims at S = 1, where one Euler
    step is exact (Liu et al. 2023, sec. 2.2, who measure straightness as the velocity's
    deviation from the straight line instead; this ratio is the same idea in one number a path).

    Args:
        trajectory: the states of a sampler, a list [x_T, ..., x_0] of K + 1 >= 2 tensors (B, ...)
            (what ``return_trajectory=True`` returns), or one tensor (K + 1, B, ...).
    Returns a float64 tensor (B,), one ratio a sample (inf where a path ends where it began).
    """
    length, distance = _lengths_and_distances(trajectory)
    return length / distance


def _lengths_and_distances(trajectory):
    """Each path's length sum_k ||x_{k+1} - x_k|| and the distance ||x_K - x_0|| between its ends,
    float64 tensors (B,), from a trajectory as ``path_straightness`` takes it."""
    if isinstance(trajectory, (list, tuple)):
        if len(trajectory) < 2 or not all(isinstance(x, torch.Tensor) for x in trajectory):
            raise ValueError("trajectory must be a list of at least two tensors [x_T, ..., x_0], as a sampler's "
                             "return_trajectory=True gives")
        shapes = {tuple(x.shape) for x in trajectory}
        if len(shapes) != 1:
            raise ValueError(f"trajectory's states must all have one shape (B, ...), got {sorted(shapes)}")
        trajectory = torch.stack([x.detach().cpu() for x in trajectory])
    check_float_tensor("trajectory", trajectory, min_dim=2)
    if trajectory.shape[0] < 2:
        raise ValueError(f"trajectory must hold at least two states (K + 1, B, ...), got shape {tuple(trajectory.shape)}")
    path = trajectory.detach().double().flatten(2)  # (K + 1, B, values)
    length = (path[1:] - path[:-1]).norm(dim=2).sum(0)
    return length, (path[-1] - path[0]).norm(dim=1)


def path_straightness_estimate(trajectory, resamples=200, level=0.95, seed=0):
    """The straightness of a whole set of paths, with its uncertainty: their total length over the
    total distance between their ends,

        S = sum_i L_i / sum_i D_i   >= 1,   1 when every path is straight,

    a ratio of sums rather than the mean of ``path_straightness``'s ratios L_i / D_i: a path whose
    ends nearly meet has a huge ratio (its D_i near 0), and a few of them would rule the mean (for
    2D noise and data of one scale, P(L_i / D_i > r) falls only like 1 / r^2). The interval is a
    bootstrap over the paths (``resamples`` draws with replacement, a fixed ``seed``), recentred as
    in ``frechet_interval``. trajectory as for ``path_straightness``. Returns a dh.Estimate.
    """
    length, distance = _lengths_and_distances(trajectory)
    resamples = check_int("resamples", resamples, low=10)
    level = check_number("level", level, low=0.5, high=0.999)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    draws = torch.randint(len(length), (resamples, len(length)), generator=generator)
    replicates = length[draws].sum(1) / distance[draws].sum(1)
    return recentred((length.sum() / distance.sum()).item(), replicates, level)
