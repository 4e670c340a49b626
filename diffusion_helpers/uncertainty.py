"""How sure a measured number is: a share with its standard error, a Frechet distance with a
bootstrap interval, and the comparison of two measured values that says when they differ.

Every measured value here is an ``Estimate(value, error, low, high)``: ``error`` is one standard
error (what tables print after "±"), ``low`` and ``high`` an interval of about 95% (what error bars
draw and what ``compare`` reads). Two values differ only when their intervals do not overlap.
"""
import math
import re
from typing import NamedTuple

import torch

from ._checks import check_float_tensor, check_int, check_number, check_seed

Z_95 = 1.959964  # the standard normal's 97.5% quantile: value +- Z_95 * error covers about 95%


class Estimate(NamedTuple):
    """A measured value with its uncertainty. ``f"{estimate:.1%}"`` prints "90.6% ± 3.6%"."""
    value: float
    error: float   # one standard error (a bootstrap's standard deviation for a Frechet distance)
    low: float     # an interval of about 95%: error bars, and what ``compare`` reads
    high: float

    def __format__(self, spec):
        return format_measured(spec, self.value, "{} ± {}", self.error)


def format_measured(spec, value, template, *others, default="g"):
    """Format value and others with spec's precision and type, then pad the whole text to spec's
    width and alignment: format_measured(">16.1%", 0.9, "{} ± {}", 0.04) -> "     90.0% ± 4.0%"."""
    parts = re.fullmatch(r"(?P<align>.?[<>^=])?(?P<width>\d*)(?P<rest>.*)", spec)
    rest = parts["rest"] or default
    text = template.format(*(format(number, rest) for number in (value, *others)))
    return format(text, (parts["align"] or ">") + parts["width"]) if parts["width"] else text


def share_estimate(share, n):
    """A share p measured on n independent samples, with its binomial standard error

        se = sqrt(p (1 - p) / n)

    and the interval p +- 1.96 se (the normal approximation; clipped to [0, 1]). Note that p = 0
    or 1 gives se = 0: with n samples a share below about 3 / n cannot be told from 0.
    Returns an Estimate."""
    share = check_number("share", share, low=0.0, high=1.0)
    n = check_int("n", n, low=1)
    error = math.sqrt(share * (1 - share) / n)
    return Estimate(share, error, max(0.0, share - Z_95 * error), min(1.0, share + Z_95 * error))


def ordering(a, b):
    """-1 when a lies below b (a.high < b.low), +1 when above (a.low > b.high), 0 when the two
    intervals overlap: the difference is within the noise. a, b: anything with ``low`` and ``high``
    (an Estimate, a dh.Cost)."""
    for name, value in (("a", a), ("b", b)):
        if not (hasattr(value, "low") and hasattr(value, "high")):
            raise TypeError(f"{name} must be a measured value with .low and .high (an Estimate or a Cost), "
                            f"got {type(value).__name__}")
    if a.high < b.low:
        return -1
    if a.low > b.high:
        return 1
    return 0


def compare(a, b, names=("A", "B")):
    """Say what two measured values show: "A < B", "B < A", or "within the noise" when their
    intervals overlap (so no ordering may be stated). ``names`` replace A and B."""
    if not (isinstance(names, (tuple, list)) and len(names) == 2):
        raise TypeError(f"names must be a pair of names, e.g. ('DDIM-10', 'DDIM-20'), got {names!r}")
    order = ordering(a, b)
    if order == 0:
        return "within the noise"
    return f"{names[0]} < {names[1]}" if order < 0 else f"{names[1]} < {names[0]}"


def _batched_frechet(a, b):
    """d^2 of Frechet (Heusel et al. 2017) for batches of clouds a (R, N_a, F), b (R, N_b, F)."""
    mean_a, mean_b = a.mean(1), b.mean(1)
    da, db = a - mean_a[:, None], b - mean_b[:, None]
    cov_a = da.transpose(1, 2) @ da / (a.shape[1] - 1)
    cov_b = db.transpose(1, 2) @ db / (b.shape[1] - 1)
    # tr (Sigma_a^(1/2) Sigma_b Sigma_a^(1/2))^(1/2) = sum sqrt(eig(L^T Sigma_b L)), Sigma_a = L L^T (similar
    # matrices); a Cholesky factor is many times faster than Sigma_a's square root by eigh
    eye = torch.eye(a.shape[-1], dtype=a.dtype)
    factor, info = torch.linalg.cholesky_ex(cov_a + 1e-10 * cov_a.diagonal(dim1=1, dim2=2).mean(-1)[:, None, None] * eye)
    if bool(info.any()):  # singular (N <= F): the square root by eigenvalues
        values, vectors = torch.linalg.eigh(cov_a)
        factor = vectors @ torch.diag_embed(values.clamp(min=0).sqrt())
    cross = torch.linalg.eigvalsh(factor.transpose(1, 2) @ cov_b @ factor).clamp(min=0).sqrt().sum(-1)
    traces = cov_a.diagonal(dim1=1, dim2=2).sum(-1) + cov_b.diagonal(dim1=1, dim2=2).sum(-1)
    return (mean_a - mean_b).square().sum(-1) + traces - 2 * cross


def frechet_interval(features_a, features_b, resamples=200, level=0.95, seed=0, chunk=25):
    """The Frechet distance d^2 between two feature clouds (N_a, F) and (N_b, F) with a bootstrap
    interval (Efron 1979): draw both clouds again with replacement ``resamples`` times (a fixed
    seed), compute d^2 on each pair, and take the spread of those replicates.

    Resampling repeats points, which shrinks the covariances' effective sample size, so the
    replicates sit above the point estimate by a bias of their own; what they measure well is the
    spread. The interval is therefore the replicates' percentile interval recentred on the point
    estimate: value + (q_lo - median, q_hi - median), q the (1 -+ level) / 2 quantiles. It always
    contains the point estimate; for low-dimensional Gaussians it covers the true distance at
    about the nominal rate (tests/test_metrics.py). The estimator's own bias (it grows like F / N)
    is the same for two clouds of the same size, so compare Frechet distances of equal N only.
    Returns an Estimate (value, error = the replicates' standard deviation, low, high)."""
    check_float_tensor("features_a", features_a, min_dim=2)
    check_float_tensor("features_b", features_b, min_dim=2)
    resamples = check_int("resamples", resamples, low=10)
    level = check_number("level", level, low=0.5, high=0.999)
    if features_a.dim() != 2 or features_b.dim() != 2 or features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"features must be (N_a, F) and (N_b, F) with the same F, got {tuple(features_a.shape)} "
                         f"and {tuple(features_b.shape)}")
    a, b = features_a.detach().cpu().double(), features_b.detach().cpu().double()
    if min(len(a), len(b)) < 2:
        raise ValueError("a Frechet distance needs at least 2 samples in each cloud (a few hundred to be worth reading)")
    chunk = check_int("chunk", chunk, low=1)
    value = _batched_frechet(a[None], b[None]).item()
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    replicates = []
    for start in range(0, resamples, chunk):
        count = min(chunk, resamples - start)
        pick_a = torch.randint(len(a), (count, len(a)), generator=generator)
        pick_b = torch.randint(len(b), (count, len(b)), generator=generator)
        replicates.append(_batched_frechet(a[pick_a], b[pick_b]))
    return recentred(value, torch.cat(replicates), level)


def recentred(value, replicates, level=0.95):
    """The bootstrap replicates' percentile interval recentred on the point estimate (see
    ``frechet_interval`` for why): value + (q_lo - median, q_hi - median), floored at 0 for a
    distance. Returns an Estimate (error = the replicates' standard deviation)."""
    replicates = torch.as_tensor(replicates, dtype=torch.float64)
    q = torch.tensor([(1 - level) / 2, 0.5, (1 + level) / 2], dtype=torch.float64)
    q_low, median, q_high = replicates.quantile(q).tolist()
    return Estimate(value, replicates.std().item(), max(0.0, value + q_low - median), value + q_high - median)


def distance_interval(distance, a, b, resamples=100, level=0.95, seed=0):
    """A distance between two point clouds a (N_a, D) and b (N_b, D), e.g. dh.sliced_wasserstein,
    with a bootstrap interval: both clouds drawn again with replacement ``resamples`` times (a fixed
    seed), the interval recentred as in ``frechet_interval``. Returns an Estimate."""
    if not callable(distance):
        raise TypeError(f"distance must be a function of two point clouds, e.g. dh.sliced_wasserstein, got {distance!r}")
    check_float_tensor("a", a, min_dim=2)
    check_float_tensor("b", b, min_dim=2)
    resamples = check_int("resamples", resamples, low=10)
    level = check_number("level", level, low=0.5, high=0.999)
    if min(len(a), len(b)) < 2:
        raise ValueError(f"a and b must hold at least 2 points each, got {len(a)} and {len(b)}")
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    replicates = [distance(a[torch.randint(len(a), (len(a),), generator=generator)],
                           b[torch.randint(len(b), (len(b),), generator=generator)]) for _ in range(resamples)]
    return recentred(float(distance(a, b)), replicates, level)


def mean_estimate(values):
    """The mean of independent measurements (N,) with its standard error s / sqrt(N) and the
    interval mean +- 1.96 se (e.g. a loss averaged over the last steps). Returns an Estimate."""
    try:
        values = torch.as_tensor(values, dtype=torch.float64).reshape(-1)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"values must be numbers: a list, a NumPy array or a tensor of measurements, got "
                        f"{type(values).__name__}") from None
    finite = int(torch.isfinite(values).sum())
    if len(values) < 2 or finite < len(values):
        raise ValueError(f"values must hold at least 2 measurements, all finite; got {len(values)}, of which "
                         f"{len(values) - finite} NaN or inf")
    mean, error = values.mean().item(), (values.std() / math.sqrt(len(values))).item()
    return Estimate(mean, error, mean - Z_95 * error, mean + Z_95 * error)
