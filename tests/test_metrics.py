"""Sliced Wasserstein distance against its closed form for shifted Gaussians."""
import math

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
    from conftest import GaussianNoisePredictor

    generator = torch.Generator().manual_seed(2)
    s = dh.NoiseSchedule("cosine", 200)
    n = 200_000
    x0 = 0.5 * torch.randn(n, 2, generator=generator, dtype=torch.float64) + 1.0
    t = torch.randint(0, 200, (n,), generator=generator)
    x_t, noise = s.q_sample(x0, t, torch.randn(n, 2, generator=generator, dtype=torch.float64))
    errors = ((GaussianNoisePredictor(s, 1.0, 0.5)(x_t, t) - noise) ** 2).mean(dim=1)
    baseline = dh.gaussian_baseline_loss(s, x0)
    assert abs(errors.mean().item() - baseline) < 5 * errors.std().item() / n**0.5
    # with nothing learned about the data, predicting zero noise costs E[eps^2] = 1 > baseline
    assert 0 < baseline < 1


def test_bad_clouds_are_refused():
    with pytest.raises(ValueError, match="shape"):
        dh.sliced_wasserstein(torch.zeros(10, 2), torch.zeros(11, 2))
    with pytest.raises(TypeError, match="a"):
        dh.sliced_wasserstein(torch.zeros(10, 2, dtype=torch.long), torch.zeros(10, 2))
