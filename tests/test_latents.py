"""DDIM inversion (against diffusers, and the round trip) and slerp between noises."""
import math

import pytest
import torch
from diffusers import DDIMInverseScheduler

import diffusion_helpers as dh


def gaussian_data(n, seed=0):
    return 1.0 + 0.5 * torch.randn(n, 1, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("num_steps", [10, 20, 50])
def test_ddim_invert_equals_diffusers_ddim_inverse_scheduler(num_steps):
    """diffusers steps from t - T/n to t (from alpha-bar = 1 at the first), calling the model at t."""
    s = dh.NoiseSchedule("cosine", 1000)
    theirs = DDIMInverseScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", set_alpha_to_one=True,
                                  timestep_spacing="trailing", clip_sample=False)
    theirs.alphas_cumprod = torch.cumprod(1 - s.betas.double(), 0)  # our betas, in float64
    theirs.set_timesteps(num_steps)
    assert theirs.timesteps.tolist() == dh.make_timesteps(1000, num_steps).flip(0).tolist()
    model, x0 = dh.GaussianNoisePredictor(s, 1.0, 0.5), gaussian_data(500)
    ours, trajectory = dh.ddim_invert(model, s, x0, num_steps, return_trajectory=True, progress=False)
    x = x0
    for i, t in enumerate(theirs.timesteps):
        x = theirs.step(model(x, t.repeat(len(x))), t, x).prev_sample
        torch.testing.assert_close(trajectory[i + 1], x, rtol=1e-7, atol=1e-7)
    torch.testing.assert_close(ours, x, rtol=1e-7, atol=1e-7)


def test_inverting_then_sampling_gives_back_the_data_with_an_error_that_shrinks_like_one_over_n():
    """Both directions are first-order solvers of the same ODE: the round trip's largest error is
    at most about 8 / n for this data (N(1, 0.5^2), linear schedule), and n = 100 steps cut the error
    of n = 20 by about 5."""
    s = dh.NoiseSchedule("linear", 1000)
    model, x0 = dh.GaussianNoisePredictor(s, 1.0, 0.5), gaussian_data(2000)
    errors = {}
    for n in (20, 100, 1000):
        x_T = dh.ddim_invert(model, s, x0, n, progress=False)
        errors[n] = (dh.ddim_sample(model, s, x_T, n, progress=False) - x0).abs().max().item()
        assert errors[n] < 8 / n, errors
    assert errors[20] / errors[100] > 4, errors
    # the codes it finds are standard normal noise, as x_T should be
    assert abs(x_T.mean().item()) < 0.05 and abs(x_T.std().item() - 1) < 0.05


def test_inversion_of_a_shipped_digit_comes_back():
    model, s = dh.load_pretrained("mnist")
    digits, _ = dh.load_mnist(offline=True)
    x0 = digits[:2]
    x_T = dh.ddim_invert(model, s, x0, 20, progress=False)
    back = dh.ddim_sample(model, s, x_T, 20, progress=False)
    assert (back - x0).abs().mean() < 0.1 * x0.abs().mean(), (back - x0).abs().mean()


def test_slerp_ends_at_its_endpoints_and_keeps_equal_norms():
    generator = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(3, 1, 28, 28, generator=generator), torch.randn(3, 1, 28, 28, generator=generator)
    torch.testing.assert_close(dh.slerp(z0, z1, 0.0), z0)
    torch.testing.assert_close(dh.slerp(z0, z1, 1.0), z1)
    z1 = z1 * (z0.flatten(1).norm(dim=1) / z1.flatten(1).norm(dim=1))[:, None, None, None]  # equal norms
    for alpha in [0.1, 0.5, 0.77]:
        torch.testing.assert_close(dh.slerp(z0, z1, alpha).flatten(1).norm(dim=1), z0.flatten(1).norm(dim=1))


def test_slerp_keeps_the_norm_of_a_gaussian_sample_where_the_straight_line_loses_it():
    """For z ~ N(0, I_D), E|z| = sqrt(2) Gamma((D+1)/2) / Gamma(D/2) and its spread is about
    1/sqrt(2); halfway along the straight line lies (z0 + z1) / 2 ~ N(0, I/2), of norm E|z| / sqrt(2)."""
    D, pairs = 784, 500
    expected = math.sqrt(2) * math.exp(math.lgamma((D + 1) / 2) - math.lgamma(D / 2))
    standard_error = (1 / math.sqrt(2)) / math.sqrt(pairs)
    generator = torch.Generator().manual_seed(1)
    z0, z1 = torch.randn(pairs, D, generator=generator), torch.randn(pairs, D, generator=generator)
    slerp_norm = dh.slerp(z0, z1, 0.5).norm(dim=1).mean().item()
    straight_norm = (0.5 * (z0 + z1)).norm(dim=1).mean().item()
    assert abs(slerp_norm - expected) < 5 * standard_error, (slerp_norm, expected)
    assert abs(straight_norm - expected / math.sqrt(2)) < 5 * standard_error, (straight_norm, expected)


def test_a_tensor_of_alphas_gives_a_row_of_noises():
    generator = torch.Generator().manual_seed(2)
    z0, z1 = torch.randn(1, 1, 28, 28, generator=generator), torch.randn(1, 1, 28, 28, generator=generator)
    row = dh.slerp(z0, z1, torch.linspace(0, 1, 8))
    assert row.shape == (8, 1, 28, 28)
    torch.testing.assert_close(row[3:4], dh.slerp(z0, z1, 3 / 7))
    torch.testing.assert_close(dh.slerp(z0, 2 * z0, 0.5), 1.5 * z0)  # parallel: the straight line, no 0 / 0


@pytest.mark.parametrize("call, words", [
    (lambda z: dh.slerp(z, z[:, :1], 0.5), "same shape"),
    (lambda z: dh.slerp(z, z, 1.5), "alpha"),
    (lambda z: dh.slerp(z, z, torch.tensor([0.2, 0.4, 0.6])), "alpha"),
    (lambda z: dh.slerp(z, -z, 0.5), "opposite"),
    (lambda z: dh.slerp(0 * z, z, 0.5), "zero"),
    (lambda z: dh.ddim_invert(lambda x, t: x, dh.NoiseSchedule("linear", 10), z, 20), "num_steps"),
    (lambda z: dh.ddim_invert(lambda x, t: x, dh.NoiseSchedule("linear", 10), torch.full((2, 1, 4, 4), 255.0), 5),
     r"x0 must be images in \[-1, 1\]"),
    (lambda z: dh.ddim_invert(lambda x, t: x, dh.NoiseSchedule("linear", 10), z * float("nan"), 5), "x0 holds NaN"),
])
def test_bad_latent_input_is_refused(call, words):
    with pytest.raises((ValueError, TypeError), match=words):
        call(torch.randn(2, 4))
