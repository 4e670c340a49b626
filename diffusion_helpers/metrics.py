"""Distances between point clouds, to put a number on "do the samples look like the data?"."""
import math
import weakref
from typing import NamedTuple

import numpy as np
import torch

from ._checks import check_float_tensor, check_image_range, check_int, check_number, check_points, check_seed, warn
from .model_checks import check_model
from .schedules import NoiseSchedule
from .uncertainty import Estimate, frechet_interval, share_estimate


def sliced_wasserstein(a, b, num_projections=256, seed=0):
    """Sliced 2-Wasserstein distance between two clouds of the same size (Bonneel et al. 2015):

    SW_2(a, b) = ( E_theta [ W_2^2(theta . a, theta . b) ] )^(1/2),  theta uniform on the unit sphere,

    where in one dimension W_2^2 is the mean squared difference of the sorted projections.
    For N(0, I) against N(m, I) in D dimensions it is |m| / sqrt(D).

    Args:
        a, b: point clouds (N, D), the same N (subsample the larger one).
        num_projections: random directions theta.
        seed: fixes the directions so that numbers compare across calls.
    Returns a float.
    """
    check_points("a", a)
    check_points("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must both have shape (N, D), got {tuple(a.shape)} and {tuple(b.shape)}")
    num_projections = check_int("num_projections", num_projections, low=1)
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    directions = torch.randn(a.shape[1], num_projections, generator=generator, dtype=torch.float64)
    directions /= directions.norm(dim=0, keepdim=True)
    # sorted with numpy: the same numbers, about 4 times faster on a CPU than torch.sort along dim 0
    projected_a = torch.from_numpy(np.sort((a.detach().cpu().double() @ directions).numpy(), axis=0))
    projected_b = torch.from_numpy(np.sort((b.detach().cpu().double() @ directions).numpy(), axis=0))
    return ((projected_a - projected_b) ** 2).mean().sqrt().item()


def gaussian_baseline_loss(schedule, data):
    """The noise-prediction loss (DDPM eq. 14, averaged over t and dimensions) of the best
    predictor that is linear in x_t at each t, i.e. one that uses only the data's mean and
    covariance Sigma (it is exact for Gaussian data N(mu, Sigma)). Its error at step t is

        tr(I - (1 - abar_t) (abar_t Sigma + (1 - abar_t) I)^-1) / D.

    A model whose loss falls below this has learned more than the data's spread: its shape.
    data: (N, D) points. Returns a float.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
    check_points("data", data)
    sigma = torch.atleast_2d(torch.cov(data.detach().cpu().double().T))
    eye = torch.eye(sigma.shape[0], dtype=torch.float64)
    abar = schedule.alphas_cumprod.detach().cpu().double()[:, None, None]
    errors = eye - (1 - abar) * torch.linalg.inv(abar * sigma + (1 - abar) * eye)
    return (errors.diagonal(dim1=1, dim2=2).sum(-1) / sigma.shape[0]).mean().item()


def frechet_distance(features_a, features_b):
    """Frechet distance between Gaussians fitted to two sets of features (Heusel et al. 2017, the
    "FID" formula), in any feature space:

        d^2 = |mu_a - mu_b|^2 + tr(Sigma_a + Sigma_b - 2 (Sigma_a^(1/2) Sigma_b Sigma_a^(1/2))^(1/2)).

    Args: features (N_a, F) and (N_b, F). Returns d^2, a float (0 for identical statistics).
    """
    check_float_tensor("features_a", features_a, min_dim=2)
    check_float_tensor("features_b", features_b, min_dim=2)
    for name, features in (("features_a", features_a), ("features_b", features_b)):
        if features.shape[0] < 2:
            raise ValueError(f"{name} has {features.shape[0]} sample(s): a covariance needs at least 2, and a "
                             "Frechet distance worth reading a few hundred")
        if not bool(torch.isfinite(features).all()):
            raise ValueError(f"{name} hold NaN or inf values")
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"features must have the same width F, got {features_a.shape[1]} and {features_b.shape[1]}")
    fewest, width = min(features_a.shape[0], features_b.shape[0]), features_a.shape[1]
    if fewest <= width:  # a covariance of F features from N <= F samples has rank < F
        warn(f"a Frechet distance of {width} features from {fewest} samples: the covariance needs more "
             f"samples than features ({width + 1} at least, a few hundred to be worth reading), "
             "so this number is mostly sampling noise")
    a, b = features_a.detach().cpu().double(), features_b.detach().cpu().double()
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.atleast_2d(torch.cov(a.T)), torch.atleast_2d(torch.cov(b.T))
    values, vectors = torch.linalg.eigh(cov_a)
    root_a = vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return ((mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross).item()


def check_asked_labels(asked_labels, batch, num_classes=10):
    """Refuse labels that are not integers (B,) in [0, num_classes): (B, 1) would broadcast."""
    if not isinstance(asked_labels, torch.Tensor) or asked_labels.is_floating_point() or asked_labels.dtype == torch.bool:
        raise TypeError(f"asked_labels must be an integer tensor (B,) of digit classes, got "
                        f"{getattr(asked_labels, 'dtype', type(asked_labels).__name__)}")
    if asked_labels.shape != (batch,):
        raise ValueError(f"asked_labels must have shape ({batch},), one label an image, got {tuple(asked_labels.shape)}")
    if batch and (int(asked_labels.min()) < 0 or int(asked_labels.max()) >= num_classes):
        raise ValueError(f"asked_labels must hold classes in [0, {num_classes - 1}], got values from "
                         f"{int(asked_labels.min())} to {int(asked_labels.max())}")


def class_diversity(features, labels, standard_error=False):
    """How varied the samples of each class are: the mean distance between two different samples
    of the same class, averaged over the K classes that hold at least two samples,

        diversity = (1/K) sum_k mean_{i != j, y_i = y_j = k} |f_i - f_j|.

    Args: features (N, F), e.g. the digit classifier's features; labels (N,) integers;
        standard_error: also return its uncertainty, a dh.Estimate (value, error, low, high): the
        jackknife over the samples of each class (leave one out; Efron & Stein 1981), error^2 =
        (1/K^2) sum_k (n_k - 1)/n_k sum_i (m_k(-i) - mean_i m_k(-i))^2, interval value +- 1.96 error
        (NaN when a class has fewer than three samples).
    Returns a float (0 when every class's samples are identical: a collapsed generator), or the
    dh.Estimate when ``standard_error``.
    """
    check_points("features", features, min_count=1)
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor (N,), one class a sample, got "
                        f"{getattr(labels, 'dtype', type(labels).__name__)}")
    if labels.shape != features.shape[:1]:
        raise ValueError(f"labels must have shape ({features.shape[0]},), one a sample, got {tuple(labels.shape)}")
    features, labels = features.detach().cpu().double(), labels.cpu()
    if not bool(torch.isfinite(features).all()):
        raise ValueError("features hold NaN or inf values: check the images they come from")
    per_class, variances = [], []
    for label in labels.unique():
        members = features[labels == label]
        n = len(members)
        if n < 2:
            continue
        distances = torch.cdist(members, members)  # (n, n), zero on the diagonal
        total = distances.sum().item() / 2  # each pair once
        per_class.append(total / (n * (n - 1) / 2))
        if n >= 3:  # leave sample i out: the pairs it was in go
            left_out = (total - distances.sum(1)) / ((n - 1) * (n - 2) / 2)
            variances.append((n - 1) / n * ((left_out - left_out.mean()) ** 2).sum().item())
        else:
            variances.append(float("nan"))
    if not per_class:
        raise ValueError("class_diversity needs at least two samples of one class in labels (a spread needs two), "
                         f"got {len(labels)} samples in {len(labels.unique())} classes")
    value = sum(per_class) / len(per_class)
    if not standard_error:
        return value
    error = math.sqrt(sum(variances)) / len(per_class)
    return Estimate(value, error, value - 1.96 * error, value + 1.96 * error)


class DigitReference(NamedTuple):
    """Where real digits lie in a classifier's feature space: ``digit_reference`` makes it."""
    mean: torch.Tensor       # (F,) the real digits' mean feature
    precision: torch.Tensor  # (F, F) the inverse of their covariance (with a small ridge)
    threshold: float         # an image whose Mahalanobis distance exceeds it is not a digit
    reference_quantile: float  # the real digits' own 99th percentile of that distance


NOISE_MARGIN = 1.25  # threshold = NOISE_MARGIN x the reference digits' 99th percentile distance
_REFERENCES = weakref.WeakKeyDictionary()  # classifier -> its DigitReference, made once a session


def _features(classifier, images, batch_size=500):
    weights = next(classifier.parameters())
    return torch.cat([classifier.features(images[s:s + batch_size].to(weights.device, weights.dtype)).cpu()
                      for s in range(0, len(images), batch_size)])


@torch.no_grad()
def digit_reference(classifier, digits=None, count=2000):
    """The real digits' place in the classifier's feature space, to tell digits from noise:
    the Mahalanobis distance of features f to the real digits' mean mu and covariance Sigma,

        d(f) = sqrt((f - mu)^T (Sigma + r I)^-1 (f - mu)),   r = 1e-3 tr(Sigma) / F,

    and the threshold NOISE_MARGIN x (the real digits' own 99th percentile of d). For the shipped
    classifier (F = 128), real test digits lie below it (99% under 9, the farthest about 11, the
    threshold about 11), while Gaussian noise clipped to [-1, 1] and uniform noise lie far above
    (their nearest of 500 at 12.3 and 13.5, typically 16): tests/test_metrics.py checks both.
    digits: real digits (N, 1, 28, 28) in [-1, 1]; None takes the first ``count`` of the training
    split (dh.load_mnist(train=True)), which the tests and notebooks never judge. Made once a
    classifier and session when digits is None. Returns a DigitReference."""
    check_model("classifier", classifier)
    if not hasattr(classifier, "features"):
        raise TypeError(f"classifier must be a dh.DigitClassifier, e.g. dh.load_pretrained('digit-classifier')[0], "
                        f"got {type(classifier).__name__}")
    default = digits is None
    if default and classifier in _REFERENCES:
        return _REFERENCES[classifier]
    if default:
        from .data import load_mnist
        digits = load_mnist(train=True)[0][:check_int("count", count, low=1)]
    check_float_tensor("digits", digits, min_dim=4, last_dims=(1, 28, 28))
    features = _features(classifier, digits).double()
    if len(features) <= features.shape[1]:
        raise ValueError(f"digits must hold more digits than the classifier has features ({features.shape[1]}); "
                         f"got {len(features)}: a covariance needs them")
    mean, covariance = features.mean(0), torch.atleast_2d(torch.cov(features.T))
    ridge = 1e-3 * covariance.diagonal().mean().clamp(min=1e-12)
    precision = torch.linalg.inv(covariance + ridge * torch.eye(len(mean), dtype=torch.float64))
    reference = DigitReference(mean, precision, 0.0, 0.0)
    quantile = mahalanobis(features, reference).quantile(0.99).item()
    reference = reference._replace(threshold=NOISE_MARGIN * quantile, reference_quantile=quantile)
    if default:
        _REFERENCES[classifier] = reference
    return reference


def mahalanobis(features, reference):
    """The Mahalanobis distance of each row of features (N, F) to the reference digits: (N,)."""
    centred = features.double() - reference.mean
    return ((centred @ reference.precision) * centred).sum(1).clamp(min=0).sqrt()


@torch.no_grad()
def digit_report(images, classifier, asked_labels=None, real_images=None, confidence=0.9, batch_size=500,
                 reference=None, resamples=200):
    """What the digit classifier makes of generated digits (B, 1, 28, 28) in [-1, 1].

    Each image is first sorted into one kind: blank (one shade all over: its darkest and brightest
    pixel within 0.1), noise (not blank, but its features lie farther from real digits' than
    ``digit_reference``'s threshold: pure noise, smudges), or digit. The classifier names a digit
    for every image, noise and blanks included (it calls pure noise a confident 8); only images
    of the kind "digit" are ever counted as recognised.

    Returns a dict:
        digit, noise, blank: the shares of the three kinds (they add up to 1);
        confident: share of samples that are digits AND whose top class has probability
            >= ``confidence``;
        histogram: the share of samples given to each class (the classifier's top class of every
            sample, whatever its kind); digit_histogram: the same counting digits only;
        entropy: entropy of ``histogram`` in nats (ln 10 = 2.30 when all ten are even);
        accuracy: share of digits classified as ``asked_labels`` (B,), if given (noise and blanks
            are never right);
        diversity: ``class_diversity`` of the features grouped by ``asked_labels``, if given;
        frechet: Frechet distance to ``real_images`` in the classifier's feature space, if given;
        n: the number of images;
        estimates: each share above (and frechet, and diversity) as a dh.Estimate: the share's
            standard error sqrt(p (1 - p) / n), the Frechet distance's bootstrap interval
            (``resamples``), the diversity's jackknife (``class_diversity``).
    """
    check_float_tensor("images", images, min_dim=4, last_dims=(1, 28, 28))
    check_image_range("images", images)
    confidence = check_number("confidence", confidence, low=0.0, high=1.0)
    batch_size = check_int("batch_size", batch_size, low=1)
    if real_images is not None:
        check_float_tensor("real_images", real_images, min_dim=4, last_dims=(1, 28, 28))
        check_image_range("real_images", real_images)
    if asked_labels is not None:
        check_asked_labels(asked_labels, len(images))
        if int(torch.bincount(asked_labels.cpu()).max()) < 2:  # diversity is a spread within a class
            raise ValueError(f"asked_labels must ask for some class at least twice (the diversity within a class "
                             f"needs two images of it), got {len(asked_labels)} images of as many classes")
    check_model("classifier", classifier)
    if not hasattr(classifier, "features") or not hasattr(classifier, "head"):
        raise TypeError(f"classifier must be a dh.DigitClassifier (with .features and .head), e.g. "
                        f"dh.load_pretrained('digit-classifier')[0], got {type(classifier).__name__}")
    if reference is not None and not isinstance(reference, DigitReference):
        raise TypeError(f"reference must be None or a dh.digit_reference(...), got {type(reference).__name__}")
    features = _features(classifier, images, batch_size)
    probabilities = classifier.head(features.to(next(classifier.parameters()).device)).softmax(-1).cpu()
    top_probability, top_class = probabilities.max(-1)
    blank = (images.flatten(1).amax(1) - images.flatten(1).amin(1)).cpu() < 0.1
    if bool(blank.any()):
        warn(f"{int(blank.sum())} of {len(images)} images are blank (one shade all over): they count as "
             "not confident, though the classifier names a digit for them")
    reference = reference or digit_reference(classifier)
    noise = ~blank & (mahalanobis(features, reference) > reference.threshold)
    digit = ~blank & ~noise
    classes = probabilities.shape[1]
    histogram = torch.bincount(top_class, minlength=classes).double() / len(images)
    n = len(images)
    report = {"digit": digit.double().mean().item(), "noise": noise.double().mean().item(),
              "confident": ((top_probability >= confidence) & digit).double().mean().item(),
              "blank": blank.double().mean().item(),
              "histogram": histogram.tolist(),
              "digit_histogram": (torch.bincount(top_class[digit], minlength=classes).double() / n).tolist(),
              "entropy": 0.0 - (histogram[histogram > 0] * histogram[histogram > 0].log()).sum().item(),  # no -0.0
              "n": n}
    if asked_labels is not None:
        report["accuracy"] = ((top_class == asked_labels.cpu()) & digit).double().mean().item()
        diversity = class_diversity(features, asked_labels, standard_error=True)
        report["diversity"] = diversity.value
    report["estimates"] = {key: share_estimate(report[key], n)
                           for key in ("digit", "noise", "blank", "confident", "accuracy") if key in report}
    if asked_labels is not None:
        report["estimates"]["diversity"] = diversity
    if real_images is not None:
        real_features = _features(classifier, real_images, batch_size)
        report["frechet"] = frechet_distance(features, real_features)
        if min(len(features), len(real_features)) > features.shape[1]:  # else the warning above says it all
            report["estimates"]["frechet"] = frechet_interval(features, real_features, resamples)
    return report
