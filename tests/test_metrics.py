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


def test_bad_clouds_are_refused():
    with pytest.raises(ValueError, match="shape"):
        dh.sliced_wasserstein(torch.zeros(10, 2), torch.zeros(11, 2))
    with pytest.raises(TypeError, match="a"):
        dh.sliced_wasserstein(torch.zeros(10, 2, dtype=torch.long), torch.zeros(10, 2))
