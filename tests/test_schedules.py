"""NoiseSchedule against the formulas and against Hugging Face diffusers (the outside oracle)."""
import math
import re
import warnings

import pytest
import torch
from conftest import standard_errors
from diffusers import DDPMScheduler

import diffusion_helpers as dh

# Our names and the diffusers beta_schedule that implements the same betas.
DIFFUSERS_NAMES = {"linear": "linear", "cosine": "squaredcos_cap_v2", "sigmoid": "sigmoid", "quadratic": "scaled_linear"}


def diffusers_scheduler(name, T=1000, **kw):
    return DDPMScheduler(num_train_timesteps=T, beta_schedule=DIFFUSERS_NAMES[name], beta_start=1e-4,
                         beta_end=0.02, clip_sample=False, variance_type="fixed_small", **kw)


@pytest.mark.parametrize("name", dh.SCHEDULE_NAMES)
@pytest.mark.parametrize("T", [1000, 200, 7])
def test_schedules_equal_diffusers(name, T):
    ours, theirs = dh.NoiseSchedule(name, T), diffusers_scheduler(name, T)
    torch.testing.assert_close(ours.betas, theirs.betas.float(), rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(ours.alphas, theirs.alphas.float(), rtol=1e-5, atol=1e-8)
    # diffusers accumulates the product in float32; we do it in float64, hence a looser rtol
    torch.testing.assert_close(ours.alphas_cumprod, theirs.alphas_cumprod.float(), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("name", dh.SCHEDULE_NAMES)
def test_the_default_numbers_are_the_textbook_ones(name):
    """With no numbers given, both make_betas and NoiseSchedule give diffusers' defaults, which
    are DDPM's (beta from 1e-4 to 0.02, Ho et al. 2020, sec. 4) and Nichol & Dhariwal's cosine."""
    theirs = DDPMScheduler(beta_schedule=DIFFUSERS_NAMES[name])  # diffusers' own defaults, T = 1000
    torch.testing.assert_close(dh.make_betas(name, 1000).float(), theirs.betas, rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(dh.NoiseSchedule(name).betas, theirs.betas, rtol=1e-5, atol=1e-8)
    if name == "linear":
        assert dh.NoiseSchedule().betas[0].item() == pytest.approx(1e-4) and dh.make_betas(name, 10)[-1] == 0.02


def test_alpha_bar_at_one_timestep_is_exact_near_the_clean_end():
    s = dh.NoiseSchedule("linear", 1000)
    assert s.alpha_bar(-1) == 1.0
    betas = s.betas.double()
    assert 1 - s.alpha_bar(0) == pytest.approx(betas[0].item(), rel=1e-12)
    assert 1 - s.alpha_bar(1) == pytest.approx(1 - (1 - betas[0].item()) * (1 - betas[1].item()), rel=1e-12)
    for t in [0, 17, 500, 999]:
        assert s.alpha_bar(t) == pytest.approx(s.alphas_cumprod[t].item(), rel=1e-6)
    with pytest.raises(ValueError, match="t must be in"):
        s.alpha_bar(1000)


def test_derived_tensors_follow_their_formulas():
    s = dh.NoiseSchedule("cosine", 100)
    assert s.betas.shape == s.alphas.shape == s.alphas_cumprod.shape == s.posterior_variance.shape == (100,)
    torch.testing.assert_close(s.alphas_cumprod, torch.cumprod(1 - s.betas.double(), 0).float())
    assert s.alphas_cumprod_prev[0] == 1 and torch.equal(s.alphas_cumprod_prev[1:], s.alphas_cumprod[:-1])
    expected = (1 - s.alphas_cumprod_prev) / (1 - s.alphas_cumprod) * s.betas
    torch.testing.assert_close(s.posterior_variance, expected)
    assert s.posterior_variance[0] == 0
    torch.testing.assert_close(s.snr(), s.alphas_cumprod / (1 - s.alphas_cumprod))
    torch.testing.assert_close(s.log_snr(), s.snr().log(), rtol=1e-4, atol=1e-4)
    assert bool((s.log_snr()[1:] < s.log_snr()[:-1]).all()), "log-SNR must fall with t"


def test_cosine_follows_nichol_dhariwal():
    T, s_offset = 1000, 0.008
    f = lambda t: math.cos((t / T + s_offset) / (1 + s_offset) * math.pi / 2) ** 2  # noqa: E731
    s = dh.NoiseSchedule("cosine", T)
    for t in [0, 10, 500, 900]:  # until the 0.999 cap binds, alpha-bar_t = f(t+1) / f(0)
        assert s.alphas_cumprod[t].item() == pytest.approx(f(t + 1) / f(0), rel=1e-4)
    assert s.betas.max().item() == pytest.approx(0.999)


def test_q_sample_equals_diffusers_add_noise():
    torch.manual_seed(0)
    for name in dh.SCHEDULE_NAMES:
        ours, theirs = dh.NoiseSchedule(name), diffusers_scheduler(name)
        x0, noise = torch.rand(6, 3, 8, 8) * 2 - 1, torch.randn(6, 3, 8, 8)  # images in [-1, 1]
        t = torch.tensor([0, 1, 250, 500, 998, 999])
        x_t, returned_noise = ours.q_sample(x0, t, noise)
        assert returned_noise is noise
        torch.testing.assert_close(x_t, theirs.add_noise(x0, noise, t), rtol=1e-4, atol=1e-5)


def test_q_sample_moments_match_the_closed_form():
    s = dh.NoiseSchedule("linear", 1000)
    n, t = 200_000, 300
    x0 = torch.full((n, 1), 1.5)
    x_t, _ = s.q_sample(x0, t)
    abar = s.alphas_cumprod[t].item()
    se_mean, se_std = standard_errors(n, math.sqrt(1 - abar))
    assert abs(x_t.mean().item() - math.sqrt(abar) * 1.5) < 5 * se_mean
    assert abs(x_t.std().item() - math.sqrt(1 - abar)) < 5 * se_std


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_chain_of_q_steps_reaches_the_closed_form_marginal(name):
    torch.manual_seed(1)
    s = dh.NoiseSchedule(name, 200)
    n, last = 100_000, 120
    x = torch.full((n, 1), -0.8, dtype=torch.float64)
    for t in range(last + 1):
        x = s.q_step(x, t)
    abar = s.alphas_cumprod.double()[last].item()
    se_mean, se_std = standard_errors(n, math.sqrt(1 - abar))
    assert abs(x.mean().item() - math.sqrt(abar) * -0.8) < 5 * se_mean
    assert abs(x.std().item() - math.sqrt(1 - abar)) < 5 * se_std


def test_posterior_equals_diffusers_ddpm_step():
    ours, theirs = dh.NoiseSchedule("linear"), diffusers_scheduler("linear")
    torch.manual_seed(2)
    x_t, eps = torch.randn(4, 1, 5, 5), torch.randn(4, 1, 5, 5)
    for t in [999, 500, 37, 1, 0]:
        out = theirs.step(eps, t, x_t, generator=torch.Generator().manual_seed(t)).prev_sample
        x0_hat = ours.predict_x0(x_t, t, eps)
        mean, variance = ours.posterior(x0_hat, x_t, t)
        noise = torch.randn(x_t.shape, generator=torch.Generator().manual_seed(t)) if t > 0 else 0
        torch.testing.assert_close(mean + variance.sqrt() * noise, out, rtol=1e-4, atol=1e-4)


def test_posterior_at_t0_is_x0_and_posterior_is_consistent_with_bayes():
    s = dh.NoiseSchedule("cosine", 50)
    x0, x_t = torch.randn(3, 2), torch.randn(3, 2)
    mean, variance = s.posterior(x0, x_t, 0)
    torch.testing.assert_close(mean, x0)
    assert torch.all(variance == 0)
    # Bayes for one coordinate: posterior precision = alpha_t / beta_t + 1 / (1 - abar_{t-1})
    t = 20
    _, variance = s.posterior(x0, x_t, t)
    precision = s.alphas[t] / s.betas[t] + 1 / (1 - s.alphas_cumprod_prev[t])
    assert variance[0, 0].item() == pytest.approx(1 / precision.item(), rel=1e-4)


def test_from_betas_and_config_round_trip():
    betas = torch.linspace(1e-3, 0.05, 40)
    s = dh.NoiseSchedule.from_betas(betas, name="mine")
    torch.testing.assert_close(s.betas, betas)
    from_list = dh.NoiseSchedule.from_betas(betas.tolist())
    torch.testing.assert_close(from_list.alphas_cumprod, s.alphas_cumprod)
    for schedule in [s, dh.NoiseSchedule("sigmoid", 30)]:
        again = dh.NoiseSchedule.from_config(schedule.config())
        torch.testing.assert_close(again.alphas_cumprod, schedule.alphas_cumprod)


def test_to_device_copies_every_tensor():
    s = dh.NoiseSchedule("linear", 10)
    moved = s.to("cpu")
    assert moved is not s and moved.num_timesteps == 10 and moved.device.type == "cpu"
    torch.testing.assert_close(moved.posterior_variance, s.posterior_variance)


@pytest.mark.parametrize("call, error, words", [
    (lambda: dh.NoiseSchedule("exponential"), ValueError, "linear"),
    (lambda: dh.NoiseSchedule("linear", 0), ValueError, "num_timesteps"),
    (lambda: dh.NoiseSchedule("linear", -5), ValueError, "num_timesteps"),
    (lambda: dh.NoiseSchedule("linear", 10.5), TypeError, "num_timesteps"),
    (lambda: dh.NoiseSchedule("linear", 10).q_sample(torch.zeros(2, 3), torch.tensor([0, 10])), ValueError, "[0, 9]"),
    (lambda: dh.NoiseSchedule("linear", 10).q_sample(torch.zeros(2, 3), torch.tensor([-1, 0])), ValueError, "[0, 9]"),
    (lambda: dh.NoiseSchedule("linear", 10).q_sample(torch.zeros(2, 3), torch.tensor([0.0, 1.0])), TypeError, "integer"),
    (lambda: dh.NoiseSchedule("linear", 10).q_sample(torch.zeros(2, 3), torch.tensor([0, 1, 2])), ValueError, "(2,)"),
    (lambda: dh.NoiseSchedule("linear", 10).q_sample(torch.zeros(2, 3, dtype=torch.long), 1), TypeError, "x0"),
    (lambda: dh.NoiseSchedule("linear", 10).q_sample([[0.0]], 1), TypeError, "x0"),
    (lambda: dh.NoiseSchedule("linear", 10).q_sample(torch.zeros(2, 3), 1, torch.zeros(2, 4)), ValueError, "noise"),
    (lambda: dh.NoiseSchedule("linear", 10).q_step(torch.zeros(2, 3), 10), ValueError, "[0, 9]"),
    (lambda: dh.NoiseSchedule.from_betas(torch.tensor([0.1, 1.5])), ValueError, "betas"),
    (lambda: dh.NoiseSchedule("linear", 1000, beta_start=0.0), ValueError, "beta_start must lie strictly between 0 and 1"),
    (lambda: dh.NoiseSchedule("linear", 1000, beta_end=1.0), ValueError, "beta_end must lie strictly between 0 and 1"),
    (lambda: dh.NoiseSchedule("quadratic", 1000, beta_start=0.02, beta_end=1e-4), ValueError,
     "beta_end must be at least beta_start"),
    (lambda: dh.NoiseSchedule("linear", 20000), ValueError, "alpha-bar falls below 1e-30"),
    (lambda: dh.NoiseSchedule("cosine", 10**9), ValueError, "num_timesteps must be in [1, 100000]"),
    (lambda: dh.NoiseSchedule.from_betas(torch.full((2000,), 0.5)), ValueError, "alpha-bar falls below 1e-30"),
    # images (B, C, H, W) must be in [-1, 1]; any data must be finite
    (lambda: dh.NoiseSchedule("linear", 10).q_sample(torch.full((2, 1, 8, 8), 255.0), 1), ValueError,
     "x0 must be images in [-1, 1], the series' range, got values from 255 to 255: convert [0, 255] images"),
    (lambda: dh.NoiseSchedule("linear", 10).q_sample(torch.full((2, 1, 8, 8), float("nan")), 1), ValueError,
     "x0 holds NaN or inf values at 128 of 128 places"),
    (lambda: dh.NoiseSchedule("linear", 10).q_sample(torch.tensor([[0.0, float("inf")]]), 1), ValueError,
     "x0 holds NaN or inf values at 1 of 2 places"),
    (lambda: dh.NoiseSchedule("linear", 10).q_sample(torch.zeros(2, 3), 1, torch.full((2, 3), float("nan"))),
     ValueError, "noise holds NaN"),
    (lambda: dh.NoiseSchedule("linear", 10).q_step(torch.full((2, 3), float("nan")), 1), ValueError, "x_prev holds NaN"),
])
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error, match=None) as info:
        call()
    assert words in str(info.value)


def test_q_sample_warns_about_images_in_zero_one_and_accepts_points_and_noisy_chains():
    s = dh.NoiseSchedule("linear", 10)
    with pytest.warns(UserWarning, match=re.escape("x * 2 - 1")):
        s.q_sample(torch.rand(2, 1, 8, 8), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.q_sample(5 * torch.randn(8, 2), 3)  # points may take any finite value
        s.q_step(5 * torch.randn(2, 1, 8, 8), 3)  # x_{t-1} of a chain is noisy: any range
        s.q_sample(torch.zeros(2, 1, 8, 8), 3)  # one grey shade: not mistaken for [0, 1] images


def test_predict_x0_refuses_noise_that_would_broadcast():
    """Noise (B, 1, 1, 1) against x_t (B, 1, 8, 8) broadcasts into a wrong x0_hat without a word."""
    s, x_t = dh.NoiseSchedule("linear", 100), torch.randn(4, 1, 8, 8)
    with pytest.raises(ValueError, match=re.escape("noise must have the shape of x_t (4, 1, 8, 8), got (4, 1, 1, 1)")):
        s.predict_x0(x_t, 50, torch.randn(4, 1, 1, 1))
    noise = torch.randn(4, 1, 8, 8)
    torch.testing.assert_close(s.predict_x0(s.q_sample(x_t.clamp(-1, 1), 50, noise)[0], 50, noise), x_t.clamp(-1, 1),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("call, error, words", [
    (lambda: dh.NoiseSchedule.from_betas([]), ValueError, "betas must be a 1-D tensor (T,) of at least one beta"),
    (lambda: dh.NoiseSchedule(["linear", "cosine"]), ValueError, "got ['linear', 'cosine']; give one name"),
    (lambda: dh.NoiseSchedule.from_config({"name": "linear"}), ValueError, "config must hold"),
    (lambda: dh.NoiseSchedule("linear", 10).alpha_bars([1.5]), TypeError, "timesteps must hold integers"),
    (lambda: dh.NoiseSchedule("linear", 10).to("gpu"), ValueError, "device must be"),
])
def test_odd_schedule_arguments_are_named(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)
