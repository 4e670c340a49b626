"""Sliced Wasserstein distance against its closed form for shifted Gaussians."""
import math
import re
import warnings

import pytest
import torch

import diffusion_helpers as dh


def test_shifted_gaussians_are_at_distance_norm_m_over_sqrt_d():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(10_000, 2, generator=generator)
    shift = torch.tensor([1.5, -2.0])
    b = torch.randn(10_000, 2, generator=generator) + shift
    expected = shift.norm().item() / math.sqrt(2)
    assert dh.sliced_wasserstein(a, b, num_projections=2000) == pytest.approx(expected, rel=0.03)


def test_two_samples_of_one_distribution_are_close_and_the_distance_is_symmetric():
    generator = torch.Generator().manual_seed(1)
    a, b = dh.make_toy_2d("moons", 4000, seed=1), dh.make_toy_2d("moons", 4000, seed=2)
    noise = torch.randn(4000, 2, generator=generator)
    same, far = dh.sliced_wasserstein(a, b), dh.sliced_wasserstein(a, noise)
    assert same < 0.1 < far and same == pytest.approx(dh.sliced_wasserstein(b, a))
    assert dh.sliced_wasserstein(a, a) == 0


def test_the_gaussian_baseline_is_the_loss_of_the_exact_gaussian_predictor():
    """On Gaussian data the exact predictor reaches the baseline: Monte Carlo within 5 standard errors."""

    generator = torch.Generator().manual_seed(2)
    s = dh.NoiseSchedule("cosine", 200)
    n = 200_000
    x0 = 0.5 * torch.randn(n, 2, generator=generator, dtype=torch.float64) + 1.0
    t = torch.randint(0, 200, (n,), generator=generator)
    x_t, noise = s.q_sample(x0, t, torch.randn(n, 2, generator=generator, dtype=torch.float64))
    errors = ((dh.GaussianNoisePredictor(s, 1.0, 0.5)(x_t, t) - noise) ** 2).mean(dim=1)
    baseline = dh.gaussian_baseline_loss(s, x0)
    assert abs(errors.mean().item() - baseline) < 5 * errors.std().item() / n**0.5
    # with nothing learned about the data, predicting zero noise costs E[eps^2] = 1 > baseline
    assert 0 < baseline < 1


def test_bad_clouds_are_refused():
    with pytest.raises(ValueError, match="shape"):
        dh.sliced_wasserstein(torch.zeros(10, 2), torch.zeros(11, 2))
    with pytest.raises(TypeError, match="a"):
        dh.sliced_wasserstein(torch.zeros(10, 2, dtype=torch.long), torch.zeros(10, 2))


def test_frechet_distance_follows_its_closed_form_for_gaussians():
    """For N(0, a^2 I) and N(m, b^2 I) in F dimensions, d^2 = |m|^2 + F (a - b)^2."""
    generator = torch.Generator().manual_seed(3)
    n, F = 200_000, 4
    a = 1.0 * torch.randn(n, F, generator=generator, dtype=torch.float64)
    m = torch.tensor([0.5, 0.0, -1.0, 0.2], dtype=torch.float64)
    b = 2.0 * torch.randn(n, F, generator=generator, dtype=torch.float64) + m
    expected = m.square().sum().item() + F * (1.0 - 2.0) ** 2
    assert dh.frechet_distance(a, b) == pytest.approx(expected, rel=0.02)
    assert dh.frechet_distance(a, a) == pytest.approx(0, abs=1e-9)
    with pytest.raises(ValueError, match="width"):
        dh.frechet_distance(a, b[:, :3])


def test_digit_report_counts_what_the_classifier_says():
    """A stand-in classifier that reads the class off the mean brightness, so every figure is known."""
    import torch.nn as nn

    class ByBrightness(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.tensor(50.0))

        def features(self, x):
            return x.mean(dim=(1, 2, 3))[:, None].repeat(1, 2)

        def head(self, features):  # class k wins when the brightness is near k / 10 - 1
            centres = torch.arange(10.0) / 10 - 1
            return -self.scale * (features[:, :1] - centres) ** 2

    images = (torch.arange(10.0) / 10 - 1).repeat_interleave(3)[:, None, None, None].expand(30, 1, 28, 28)
    with pytest.warns(UserWarning, match="30 of 30 images are blank"):  # one shade each: blank
        report = dh.digit_report(images, ByBrightness(), asked_labels=torch.arange(10).repeat_interleave(3),
                                 real_images=images)
    assert report["histogram"] == pytest.approx([0.1] * 10)
    assert report["entropy"] == pytest.approx(math.log(10))
    assert report["frechet"] == pytest.approx(0, abs=1e-9)
    assert report["accuracy"] == 0.0, "blank images are never the asked digit, whatever the classifier names"
    assert report["diversity"] == 0.0, "three identical images a class: no diversity"
    assert report["confident"] == 0.0 and report["blank"] == 1.0, "blank images are never confident digits"
    for labels, error, words in [(torch.arange(10).repeat_interleave(3)[:, None], ValueError, "shape (30,)"),
                                 (torch.arange(10.0).repeat_interleave(3), TypeError, "integer"),
                                 (torch.full((30,), 10), ValueError, "[0, 9]")]:
        with pytest.raises(error, match=re.escape(words)):
            dh.digit_report(images, ByBrightness(), asked_labels=labels)


def test_class_diversity_is_the_mean_within_class_distance():
    features = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [9.0, 9.0]])
    labels = torch.tensor([0, 0, 1, 1, 1, 2])  # class 0: one pair at distance 5; class 1: identical; 2: alone
    assert dh.class_diversity(features, labels) == pytest.approx((5.0 + 0.0) / 2)
    # for two independent N(0, I_D) points, E|f_i - f_j| = 2 Gamma((D + 1) / 2) / Gamma(D / 2)
    D, n = 16, 400
    gaussian = torch.randn(n, D, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expected = 2 * math.exp(math.lgamma((D + 1) / 2) - math.lgamma(D / 2))
    # the distance's std is below sqrt(2) (its variance is 2 D - expected^2 < 2); with n points the mean over
    # pairs has a standard error below sqrt(2) * sqrt(2 / n) (U-statistic, first-order term)
    assert abs(dh.class_diversity(gaussian, torch.zeros(n, dtype=torch.long)) - expected) < 5 * 2 / math.sqrt(n)
    with pytest.raises(ValueError, match="labels must have shape"):
        dh.class_diversity(features, labels[:, None])
    with pytest.raises(ValueError, match="at least two samples"):
        dh.class_diversity(features[:1], labels[:1])
    with pytest.raises(ValueError, match="NaN"):
        dh.class_diversity(torch.full((4, 2), float("nan")), torch.zeros(4, dtype=torch.long))


@pytest.mark.parametrize("images, kwargs, error, words", [
    (3 * torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)), {}, ValueError, "images must be images in [-1, 1]"),
    (3 * torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)), {}, ValueError, "unclipped samples? sample images with clip_x0=True"),
    (torch.full((4, 1, 28, 28), 255.0), {}, ValueError, "x / 127.5 - 1"),
    (torch.full((4, 1, 28, 28), float("nan")), {}, ValueError, "NaN"),
    (torch.zeros(0, 1, 28, 28), {}, ValueError, "holds no images"),
    (torch.zeros(4, 1, 28, 28) - 1, {"confidence": 90}, ValueError, "confidence must be in [0.0, 1.0]"),
    (torch.zeros(4, 1, 28, 28) - 1, {"real_images": torch.full((4, 1, 28, 28), 255.0)}, ValueError, "real_images must be"),
    (torch.zeros(4, 1, 28, 28) - 1, {"classifier": (dh.DigitClassifier(), None)}, TypeError,
     "classifier is a tuple of 2 items, not a model: dh.load_pretrained returns (model, schedule)"),
    (torch.zeros(4, 1, 28, 28) - 1, {"classifier": dh.UNet(base_channels=8)}, TypeError,
     "classifier must be a dh.DigitClassifier"),
])
def test_digit_report_refuses_what_cannot_be_digits(images, kwargs, error, words):
    kwargs = {"classifier": dh.DigitClassifier(), **kwargs}
    with pytest.raises(error) as info:
        dh.digit_report(images, **kwargs)
    assert words in str(info.value)


def test_blank_images_never_count_as_confident_digits():
    """The shipped classifier names a digit for an all-black image with near certainty; the report
    must not pass that on as a recognised digit."""
    classifier, _ = dh.load_pretrained("digit-classifier")
    black = -torch.ones(8, 1, 28, 28)
    assert classifier.head(classifier.features(black)).softmax(-1).max() > 0.9, "the trap this test is about"
    with pytest.warns(UserWarning, match="8 of 8 images are blank"):
        report = dh.digit_report(black, classifier)
    assert report["confident"] == 0.0 and report["blank"] == 1.0
    digits, _ = dh.load_mnist(train=False, offline=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dh.digit_report(digits[:64], classifier)["blank"] == 0.0


def test_digit_report_judges_float64_images_as_float32():
    classifier, _ = dh.load_pretrained("digit-classifier")
    digits, _ = dh.load_mnist(train=False, offline=True)
    assert dh.digit_report(digits[:64].double(), classifier) == dh.digit_report(digits[:64], classifier)


def test_a_frechet_distance_from_fewer_samples_than_features_is_warned_about():
    with pytest.warns(UserWarning, match="8 features from 5 samples: the covariance needs more samples than "
                                         r"features \(9 at least"):
        dh.frechet_distance(torch.randn(5, 8), torch.randn(50, 8))


def test_digit_report_warns_about_images_in_zero_one():
    with pytest.warns(UserWarning, match=re.escape("x * 2 - 1")):
        dh.digit_report(torch.rand(4, 1, 28, 28), dh.DigitClassifier())


@pytest.mark.parametrize("a, b, words", [
    (torch.randn(1, 8), torch.randn(5, 8), "features_a has 1 sample(s)"),
    (torch.randn(5, 8), torch.zeros(0, 8), "features_b has 0 sample(s)"),
    (torch.full((5, 8), float("nan")), torch.randn(5, 8), "features_a hold NaN"),
])
def test_frechet_distance_needs_finite_clouds_of_two_or_more(a, b, words):
    with pytest.raises(ValueError) as info:
        dh.frechet_distance(a, b)
    assert words in str(info.value)


def test_a_share_has_the_binomial_standard_error():
    estimate = dh.share_estimate(0.9, 64)
    assert estimate.error == pytest.approx(math.sqrt(0.9 * 0.1 / 64))
    assert estimate.low == pytest.approx(0.9 - 1.959964 * estimate.error)
    assert estimate.high == pytest.approx(min(1.0, 0.9 + 1.959964 * estimate.error))
    assert dh.share_estimate(0.5, 100).error == pytest.approx(0.05)
    assert f"{dh.share_estimate(0.5, 100):.1%}" == "50.0% ± 5.0%"
    assert dh.share_estimate(1.0, 10).high == 1.0 and dh.share_estimate(0.0, 10).low == 0.0
    with pytest.raises(ValueError, match="n must be in"):
        dh.share_estimate(0.5, 0)


def test_compare_states_an_order_only_when_the_intervals_part():
    low, high, middle = dh.Estimate(1.0, 0.1, 0.8, 1.2), dh.Estimate(2.0, 0.1, 1.8, 2.2), dh.Estimate(1.5, 0.3, 1.1, 1.9)
    assert dh.compare(low, high, ("DDIM-10", "DDIM-20")) == "DDIM-10 < DDIM-20"
    assert dh.compare(high, low) == "B < A" and dh.ordering(high, low) == 1
    assert dh.compare(low, middle) == "within the noise" and dh.compare(middle, high) == "within the noise"
    with pytest.raises(TypeError, match="b must be a measured value"):
        dh.compare(low, 2.0)


def gaussian_frechet(mean, std):
    """d^2 between N(0, I) and N(mean, diag(std^2)): |mean|^2 + sum (1 - std)^2."""
    return float((mean ** 2).sum() + ((1 - std) ** 2).sum())


def test_the_bootstrap_interval_covers_the_true_frechet_distance():
    """Two Gaussians in 2-D (where the estimator's bias, of order F / N, is small against its
    spread): over 40 independent pairs of 300 samples, a 95% interval should miss the true d^2
    about twice; 9 misses are far out (binomial: P(>= 9 | n = 40, p = 0.05) < 0.001), so the
    bound, 32 covered (80%), leaves room for the bootstrap's known undercoverage at modest N."""
    mean, std = torch.tensor([0.5, 0.0], dtype=torch.float64), torch.tensor([1.5, 0.8], dtype=torch.float64)
    truth, covered = gaussian_frechet(mean, std), 0
    generator = torch.Generator().manual_seed(0)
    for trial in range(40):
        a = torch.randn(300, 2, generator=generator, dtype=torch.float64)
        b = mean + std * torch.randn(300, 2, generator=generator, dtype=torch.float64)
        estimate = dh.frechet_interval(a, b, resamples=100, seed=trial)
        assert estimate.low <= estimate.value <= estimate.high, "the interval holds its point estimate"
        assert estimate.value == pytest.approx(dh.frechet_distance(a, b), rel=1e-6)
        covered += estimate.low <= truth <= estimate.high
    assert covered >= 32, f"covered the true d^2 {covered} times of 40"
    with pytest.raises(ValueError, match="resamples must be in"):
        dh.frechet_interval(a, b, resamples=0)


@pytest.fixture(scope="module")
def shipped():
    classifier, _ = dh.load_pretrained("digit-classifier")
    digits, _ = dh.load_mnist(train=False, offline=True)
    return classifier, digits


def test_digit_report_tells_digits_from_noise_and_blanks(shipped):
    """Real test digits are digits (>= 95%); clipped Gaussian and uniform noise are noise, every
    one of 200, though the classifier calls them confident digits; one shade is blank. The
    threshold (digit_reference) has a margin on both sides: real digits' 99th percentile is
    1.25 times below it, and no noise image comes within 5% of it."""
    classifier, digits = shipped
    reference = dh.digit_reference(classifier)
    real = dh.digit_report(digits[:500], classifier)
    assert real["digit"] >= 0.95 and real["noise"] + real["blank"] <= 0.05
    assert real["confident"] >= 0.9 and real["estimates"]["confident"].error > 0
    generator = torch.Generator().manual_seed(0)
    noises = {"randn clipped": torch.randn(200, 1, 28, 28, generator=generator).clamp(-1, 1),
              "uniform": torch.rand(200, 1, 28, 28, generator=generator) * 2 - 1}
    for name, noise in noises.items():
        assert classifier.head(classifier.features(noise)).softmax(-1).max(-1).values.mean() > 0.9, "the trap"
        report = dh.digit_report(noise, classifier)
        assert report["noise"] == 1.0 and report["digit"] == 0.0, name
        assert report["confident"] == 0.0 and sum(report["digit_histogram"]) == 0.0, name
        distances = dh.metrics.mahalanobis(classifier.features(noise), reference)
        assert distances.min() > 1.05 * reference.threshold, name
    with pytest.warns(UserWarning, match="blank"):
        constant = dh.digit_report(torch.full((20, 1, 28, 28), 0.3), classifier)
    assert constant["blank"] == 1.0 and constant["digit"] == constant["noise"] == 0.0
    mixed = dh.digit_report(torch.cat([digits[:100], noises["uniform"][:100]]), classifier)
    assert mixed["digit"] + mixed["noise"] + mixed["blank"] == pytest.approx(1.0)
    assert sum(mixed["digit_histogram"]) == pytest.approx(mixed["digit"])
    assert mixed["estimates"]["noise"].error == pytest.approx(math.sqrt(0.5 * 0.5 / 200), abs=0.01)


def test_digit_report_gives_the_frechet_distance_an_interval(shipped):
    classifier, digits = shipped
    report = dh.digit_report(digits[:300], classifier, real_images=digits[300:600], resamples=50)
    interval = report["estimates"]["frechet"]
    assert interval.value == pytest.approx(report["frechet"], rel=1e-4)
    assert interval.low <= interval.value <= interval.high and interval.error > 0


@pytest.mark.parametrize("call, words", [
    (lambda: dh.sliced_wasserstein(torch.zeros(0, 2), torch.zeros(0, 2)), "a holds 0 point(s): give at least 2"),
    (lambda: dh.sliced_wasserstein(torch.zeros(1, 2), torch.ones(1, 2)), "a holds 1 point(s): give at least 2"),
    (lambda: dh.sliced_wasserstein(torch.full((4, 2), float("nan")), torch.zeros(4, 2)), "a holds NaN or inf"),
    (lambda: dh.gaussian_baseline_loss(dh.NoiseSchedule("linear", 10), torch.zeros(1, 2)), "data holds 1 point(s)"),
    (lambda: dh.gaussian_baseline_loss(dh.NoiseSchedule("linear", 10), torch.zeros(0, 2)), "data holds 0 point(s)"),
    (lambda: dh.frechet_distance(torch.zeros(0, 3), torch.randn(10, 3)), "features_a has 0 sample(s)"),
    (lambda: dh.frechet_interval(torch.randn(1, 3), torch.randn(10, 3)), "at least 2 samples in each cloud"),
    (lambda: dh.mean_estimate([]), "at least 2 measurements"),
    (lambda: dh.class_diversity(torch.randn(3, 4), torch.tensor([0, 1, 2])), "at least two samples of one class"),
])
def test_metrics_of_empty_or_one_point_clouds_are_refused_not_nan(call, words):
    """A spread needs two points: the first five returned NaN (or a meaningless 0) without a word;
    the rest were refused already and must stay so."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not NaN with torch's "degrees of freedom" warning: an error
        with pytest.raises(ValueError) as info:
            call()
    assert words in str(info.value)


@pytest.mark.parametrize("call, error, words", [
    (lambda: dh.class_diversity(torch.randn(4, 2), torch.tensor([0.0, 0.0, 1.0, 1.0])), TypeError,
     "labels must be an integer tensor (N,)"),
    (lambda: dh.class_diversity(torch.randn(4, 2), [0, 0, 1, 1]), TypeError, "labels must be an integer tensor"),
    (lambda: dh.gaussian_baseline_loss(dh.load_pretrained("mnist"), torch.zeros(5, 2)), TypeError,
     "schedule must be a NoiseSchedule, got tuple"),
    (lambda: dh.sliced_wasserstein(torch.zeros(4, 2), torch.zeros(4, 2), seed=0.5), TypeError, "seed must be an integer"),
    (lambda: dh.frechet_interval(torch.randn(9, 2), torch.randn(9, 2), chunk=0), ValueError, "chunk must be in [1, inf]"),
    (lambda: dh.mean_estimate("abc"), TypeError, "values must be numbers"),
])
def test_odd_metric_arguments_are_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
