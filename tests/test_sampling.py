"""DDPM and DDIM: each step against diffusers, the loops against exact noise predictors of Gaussians."""
import math
import re
import warnings

import pytest
import torch
from conftest import standard_errors
from diffusers import DDIMScheduler, DDPMScheduler

import diffusion_helpers as dh

MEAN, STD, N = 1.0, 0.5, 4000


def check_gaussian(samples, mean=MEAN, std=STD, slack=0.0):
    """Sample mean and std within 5 standard errors (+ slack for the sampler's discretisation)."""
    se_mean, se_std = standard_errors(samples.numel(), std)
    assert abs(samples.mean().item() - mean) < 5 * se_mean + slack, samples.mean().item()
    assert abs(samples.std().item() - std) < 5 * se_std + slack, samples.std().item()


def in_double(scheduler, schedule):
    """A diffusers scheduler on our betas with its alpha-bars in float64, so that comparing with it
    tests the formulas rather than float32 rounding (1 - alpha-bar is about 1e-4 near t = 0)."""
    scheduler.betas = schedule.betas.double()
    scheduler.alphas = 1 - scheduler.betas
    scheduler.alphas_cumprod = torch.cumprod(scheduler.alphas, 0)
    return scheduler


def randn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("spacing", ["trailing", "leading", "linspace"])
@pytest.mark.parametrize("num_steps", [1, 7, 20, 50, 1000])
def test_timestep_spacings_are_diffusers(spacing, num_steps):
    theirs = DDIMScheduler(num_train_timesteps=1000, timestep_spacing=spacing)
    theirs.set_timesteps(num_steps)
    assert dh.make_timesteps(1000, num_steps, spacing).tolist() == theirs.timesteps.tolist()


@pytest.mark.parametrize("schedule_name", ["cosine", "linear"])
@pytest.mark.parametrize("num_steps", [1, 2, 10, 15, 50])
def test_logsnr_timesteps_are_even_in_half_log_snr(schedule_name, num_steps):
    """n + 1 even values of lambda from max(lambda_{T-1}, -5.1) to lambda_0, the first n rounded to
    the nearest timestep (near t = 0, where lambda moves fast, a repeat moves down by one)."""
    s = dh.NoiseSchedule(schedule_name, 1000)
    timesteps = dh.make_timesteps(1000, num_steps, "logsnr", s).tolist()
    lambdas = [s.half_log_snr(t) for t in range(1000)]
    start = max(lambdas[-1], dh.timesteps.LOGSNR_MIN)
    targets = [start + k * (lambdas[0] - start) / num_steps for k in range(num_steps)]
    nearest = [min(range(1000), key=lambda t: abs(lambdas[t] - target)) for target in targets]
    assert len(timesteps) == num_steps and all(a > b for a, b in zip(timesteps, timesteps[1:]))
    if num_steps <= 15:
        assert timesteps == nearest
    assert all(abs(t - u) <= 1 for t, u in zip(timesteps, nearest)), (timesteps, nearest)
    # the cosine grid starts where lambda crosses -5.1 (t = 995), the linear one at T-1 (lambda -5.06)
    assert timesteps[0] == (995 if schedule_name == "cosine" else 999)


@pytest.mark.parametrize("spacing", ["logsnr", "karras"])
def test_schedule_grids_stay_strictly_falling_for_every_count(spacing):
    s = dh.NoiseSchedule("cosine", 100)
    for num_steps in range(1, 101):
        timesteps = dh.make_timesteps(100, num_steps, spacing, s).tolist()
        assert len(timesteps) == num_steps and all(a > b for a, b in zip(timesteps, timesteps[1:]))
        assert 0 <= timesteps[-1] and timesteps[0] <= 99
    assert dh.make_timesteps(100, 100, spacing, s).tolist() == list(range(99, -1, -1))


@pytest.mark.parametrize("schedule_name", ["cosine", "linear"])
@pytest.mark.parametrize("num_steps", [2, 10, 15, 50])
def test_karras_timesteps_follow_karras_eq_5(schedule_name, num_steps):
    """sigma_i = (sigma_max^(1/7) + i/(n-1) (sigma_min^(1/7) - sigma_max^(1/7)))^7 with sigma = exp(-lambda),
    from the "logsnr" grid's start (lambda -5.1, or lambda_{T-1} if higher) to t = 0, each at the
    timestep nearest in lambda; where rounding repeats a timestep (many steps: near t = T-1, where
    rho = 7 crowds them) the later one moves down by one."""
    s = dh.NoiseSchedule(schedule_name, 1000)
    timesteps = dh.make_timesteps(1000, num_steps, "karras", s).tolist()
    lambdas = [s.half_log_snr(t) for t in range(1000)]
    start = max(lambdas[-1], dh.timesteps.LOGSNR_MIN)
    high, low = math.exp(-start / 7), math.exp(-lambdas[0] / 7)
    targets = [-7 * math.log(high + i / (num_steps - 1) * (low - high)) for i in range(num_steps)]
    nearest = [min(range(1000), key=lambda t: abs(lambdas[t] - target)) for target in targets]
    assert len(timesteps) == num_steps and all(a > b for a, b in zip(timesteps, timesteps[1:]))
    if num_steps <= 15:
        assert timesteps == nearest
    assert all(t <= u for t, u in zip(timesteps, nearest)), (timesteps, nearest)  # repeats only move down
    assert timesteps[0] == dh.make_timesteps(1000, num_steps, "logsnr", s).tolist()[0] and timesteps[-1] == 0


def test_matching_timesteps_visit_the_other_schedules_noise_levels():
    """Each timestep is the one whose half log-SNR lies nearest the other schedule's at its step: on
    one schedule that is the grid itself; the linear schedule's t = 999 (lambda -5.06) is the cosine
    schedule's t = 995, where its "logsnr" grid starts (lambda -5.1)."""
    cosine, linear = dh.NoiseSchedule("cosine", 1000), dh.NoiseSchedule("linear", 1000)
    grid = dh.make_timesteps(1000, 10, "leading")
    assert dh.matching_timesteps(cosine, cosine, grid).tolist() == grid.tolist()
    trailing = dh.make_timesteps(1000, 10).tolist()
    ours = dh.matching_timesteps(cosine, linear, trailing).tolist()
    lambdas = [cosine.half_log_snr(t) for t in range(1000)]
    nearest = [min(range(1000), key=lambda u: abs(lambdas[u] - linear.half_log_snr(t))) for t in trailing]
    assert ours == nearest and all(a > b for a, b in zip(ours, ours[1:]))
    assert ours[0] == dh.make_timesteps(1000, 10, "logsnr", cosine).tolist()[0] == 995
    with pytest.raises(TypeError, match="other_schedule must be a dh.NoiseSchedule"):
        dh.matching_timesteps(cosine, "linear", trailing)
    with pytest.raises(ValueError, match="timesteps must fall strictly"):
        dh.matching_timesteps(cosine, linear, [0, 10])


@pytest.mark.parametrize("num_steps", [5, 10, 15])
def test_karras_timesteps_are_diffusers_where_no_clip_applies(num_steps):
    """On the linear schedule lambda_{T-1} = -5.06 lies above -5.1, so our grid is diffusers'
    use_karras_sigmas (which interpolates t in log sigma and rounds: at most one apart)."""
    from diffusers import DPMSolverMultistepScheduler
    s = dh.NoiseSchedule("linear", 1000)
    theirs = DPMSolverMultistepScheduler(num_train_timesteps=1000, use_karras_sigmas=True)
    theirs.set_timesteps(num_steps)
    ours = dh.make_timesteps(1000, num_steps, "karras", s).tolist()
    assert len(ours) == len(theirs.timesteps)
    assert all(abs(a - b) <= 1 for a, b in zip(ours, theirs.timesteps.tolist())), (ours, theirs.timesteps.tolist())


@pytest.mark.parametrize("clip_x0", [False, True])
@pytest.mark.parametrize("t, t_prev", [(999, 998), (500, 499), (1, 0), (0, -1), (700, 600), (300, -1)])
def test_ddpm_step_equals_diffusers_ddpm_step(t, t_prev, clip_x0):
    """One step, consecutive or over a gap (diffusers' custom timesteps), on the same x_t and eps."""
    s = dh.NoiseSchedule("linear", 1000)
    theirs = in_double(DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=clip_x0,
                                     variance_type="fixed_small"), s)
    theirs.set_timesteps(timesteps=[t] + ([t_prev] if t_prev >= 0 else []))
    x_t, eps = 1.5 * randn(64, 2, seed=0), randn(64, 2, seed=1)
    expected = theirs.step(eps, t, x_t, generator=torch.Generator().manual_seed(2))
    x_prev, x0_hat = dh.ddpm_step(s, x_t, t, t_prev, eps, noise=randn(64, 2, seed=2), clip_x0=clip_x0)
    torch.testing.assert_close(x0_hat, expected.pred_original_sample, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x_prev, expected.prev_sample, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("clip_x0", [False, True])
@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("t", [999, 499, 49])
def test_ddim_step_equals_diffusers_ddim_step(t, eta, clip_x0):
    """20 steps of 50: diffusers steps from t to t - 50 (to alpha-bar = 1 after t = 49)."""
    s = dh.NoiseSchedule("cosine", 1000)
    theirs = in_double(DDIMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2",
                                     clip_sample=clip_x0, set_alpha_to_one=True, timestep_spacing="trailing"), s)
    theirs.set_timesteps(20)
    x_t, eps, noise = 1.5 * randn(64, 2, seed=3), randn(64, 2, seed=4), randn(64, 2, seed=5)
    expected = theirs.step(eps, t, x_t, eta=eta, use_clipped_model_output=clip_x0, variance_noise=noise)
    x_prev, x0_hat = dh.ddim_step(s, x_t, t, t - 50, eps, eta=eta, noise=noise, clip_x0=clip_x0)
    torch.testing.assert_close(x0_hat, expected.pred_original_sample, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x_prev, expected.prev_sample, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("t, t_prev", [(999, 998), (500, 499), (1, 0), (0, -1), (700, 600)])
def test_ddpm_step_with_sigma_squared_beta_equals_diffusers_fixed_large(t, t_prev):
    """sigma_t^2 = beta_t (Ho et al. 2020, sec. 3.2) is diffusers' variance_type="fixed_large"; over a
    gap both take the step's own beta, 1 - abar_t / abar_prev. (Not a gap straight to the clean data,
    e.g. 300 -> -1: diffusers adds beta's noise there too, we add none, as Algorithm 2's last step.)"""
    s = dh.NoiseSchedule("linear", 1000)
    theirs = in_double(DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=False,
                                     variance_type="fixed_large"), s)
    theirs.set_timesteps(timesteps=[t] + ([t_prev] if t_prev >= 0 else []))
    x_t, eps = 1.5 * randn(64, 2, seed=0), randn(64, 2, seed=1)
    expected = theirs.step(eps, t, x_t, generator=torch.Generator().manual_seed(2)).prev_sample
    x_prev, _ = dh.ddpm_step(s, x_t, t, t_prev, eps, noise=randn(64, 2, seed=2), variance="beta")
    torch.testing.assert_close(x_prev, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("t, t_prev", [(999, 998), (300, 299), (10, 9), (1, 0), (700, 600)])
def test_the_two_variances_are_the_formulas_and_change_only_the_noise_term(t, t_prev):
    """reverse_variance: beta~ = (1 - abar_prev) / (1 - abar_t) beta and beta = 1 - abar_t / abar_prev,
    for consecutive steps the schedule's posterior_variance and betas; the two steps differ by
    (sqrt(beta) - sqrt(beta~)) z, the mean is the same."""
    from diffusion_helpers.sampling import reverse_variance
    s = dh.NoiseSchedule("linear", 1000)
    abar_t, abar_prev = s.alpha_bar(t), s.alpha_bar(t_prev)
    beta = 1 - abar_t / abar_prev
    assert reverse_variance(abar_t, abar_prev, "beta") == pytest.approx(beta, rel=1e-12)
    assert reverse_variance(abar_t, abar_prev, "beta_tilde") == pytest.approx((1 - abar_prev) / (1 - abar_t) * beta,
                                                                             rel=1e-12)
    if t_prev == t - 1:
        assert reverse_variance(abar_t, abar_prev, "beta") == pytest.approx(s.betas[t].item(), rel=1e-5)
        assert reverse_variance(abar_t, abar_prev, "beta_tilde") == pytest.approx(s.posterior_variance[t].item(), rel=1e-5)
    x_t, eps, z = randn(16, 2, seed=3), randn(16, 2, seed=4), randn(16, 2, seed=5)
    small, _ = dh.ddpm_step(s, x_t, t, t_prev, eps, noise=z)  # the default: beta_tilde
    large, _ = dh.ddpm_step(s, x_t, t, t_prev, eps, noise=z, variance="beta")
    scale = math.sqrt(beta) - math.sqrt((1 - abar_prev) / (1 - abar_t) * beta)
    torch.testing.assert_close(large - small, scale * z, rtol=1e-9, atol=1e-12)


def test_ddpm_loop_with_sigma_squared_beta_equals_diffusers_fixed_large_loop():
    s = dh.NoiseSchedule("linear", 100)
    theirs = DDPMScheduler(num_train_timesteps=100, beta_schedule="linear", clip_sample=False, variance_type="fixed_large")
    model = dh.GaussianNoisePredictor(s, 0.7, 0.4)
    x_T = torch.randn(64, 2, generator=torch.Generator().manual_seed(3))
    ours = dh.ddpm_sample(model, s, x_T, generator=torch.Generator().manual_seed(4), progress=False, variance="beta")
    x, generator = x_T, torch.Generator().manual_seed(4)
    for t in range(99, -1, -1):
        x = theirs.step(model(x, torch.full((64,), t)), t, x, generator=generator).prev_sample
    torch.testing.assert_close(ours, x, rtol=1e-4, atol=1e-4)


def test_sigma_squared_beta_leaves_more_spread_than_beta_tilde_on_narrow_data():
    """On data N(1, 0.05^2) with the exact predictor, sigma^2 = beta adds more fresh noise in the last
    steps (where beta~ << beta) than beta~ does: its samples spread more, from the same x_T and z.
    Both keep the mean; beta's spread lies nearer the data's 0.05 (beta~ ends on posterior means,
    which shrink it)."""
    s = dh.NoiseSchedule("linear", 1000)
    model, x_T = dh.GaussianNoisePredictor(s, 1.0, 0.05), randn(N, 1, seed=0)
    small, large = (dh.ddpm_sample(model, s, x_T, generator=torch.Generator().manual_seed(1), progress=False,
                                   variance=variance) for variance in ("beta_tilde", "beta"))
    se_mean, se_std = standard_errors(N, 0.05)
    for samples in (small, large):
        assert abs(samples.mean().item() - 1.0) < 5 * se_mean
    assert large.std().item() > small.std().item() + 2 * se_std  # the same x_T and z: a paired difference
    assert abs(large.std().item() - 0.05) < abs(small.std().item() - 0.05)


def test_ddim_with_eta_one_is_the_ddpm_step():
    s = dh.NoiseSchedule("cosine", 100)
    x_t, eps, noise = randn(16, 3, seed=6), randn(16, 3, seed=7), randn(16, 3, seed=8)
    for t, t_prev in [(99, 98), (50, 49), (60, 20), (0, -1)]:
        ddpm = dh.ddpm_step(s, x_t, t, t_prev, eps, noise=noise)
        ddim = dh.ddim_step(s, x_t, t, t_prev, eps, eta=1.0, noise=noise)
        torch.testing.assert_close(ddim, ddpm, rtol=1e-9, atol=1e-9)


def test_ddpm_loop_equals_diffusers_ddpm_loop():
    s = dh.NoiseSchedule("linear", 100)
    theirs = DDPMScheduler(num_train_timesteps=100, beta_schedule="linear", clip_sample=True, variance_type="fixed_small")
    model = dh.GaussianNoisePredictor(s, 0.7, 0.4)
    x_T = torch.randn(64, 2, generator=torch.Generator().manual_seed(3))
    ours = dh.ddpm_sample(model, s, x_T, clip_x0=True, generator=torch.Generator().manual_seed(4), progress=False)
    x, generator = x_T, torch.Generator().manual_seed(4)
    for t in range(99, -1, -1):
        x = theirs.step(model(x, torch.full((64,), t)), t, x, generator=generator).prev_sample
    # float32 samples over 100 steps, and diffusers' cumulative product of alphas in float32
    torch.testing.assert_close(ours, x, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("num_steps", [5, 20])
def test_ddim_loop_equals_diffusers_ddim_loop(eta, num_steps):
    """Few DDIM steps shrink the variance (the Gaussian is not reproduced), identically in both."""
    T = 1000
    s = dh.NoiseSchedule("linear", T)
    theirs = DDIMScheduler(num_train_timesteps=T, beta_schedule="linear", clip_sample=False, set_alpha_to_one=True,
                           timestep_spacing="trailing")
    theirs.set_timesteps(num_steps)
    model = dh.GaussianNoisePredictor(s, MEAN, STD)
    x_T = randn(N, 1, seed=5)
    ours = dh.ddim_sample(model, s, x_T, num_steps, eta=eta, generator=torch.Generator().manual_seed(6), progress=False)
    # the same noise, in the order our sampler draws it: once a step, except after the last
    generator, x = torch.Generator().manual_seed(6), x_T
    for i, t in enumerate(theirs.timesteps):
        last = i == num_steps - 1
        noise = torch.zeros_like(x) if last or eta == 0 else torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = theirs.step(model(x, t.repeat(N)), t, x, eta=eta, variance_noise=noise).prev_sample
    torch.testing.assert_close(ours, x, rtol=1e-5, atol=1e-5)
    if num_steps == 5 and eta == 0:
        assert ours.std().item() < STD - 0.05, "five deterministic steps should shrink the spread"


def test_ddpm_with_the_exact_predictor_reproduces_the_gaussian():
    s = dh.NoiseSchedule("linear", 1000)
    samples = dh.ddpm_sample(dh.GaussianNoisePredictor(s, MEAN, STD), s, randn(N, 1, seed=0),
                             generator=torch.Generator().manual_seed(1), progress=False)
    check_gaussian(samples, slack=0.01)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_with_many_steps_reproduces_the_gaussian(eta):
    s = dh.NoiseSchedule("cosine", 1000)
    samples = dh.ddim_sample(dh.GaussianNoisePredictor(s, MEAN, STD), s, randn(N, 1, seed=0), 250, eta=eta,
                             generator=torch.Generator().manual_seed(1), progress=False)
    check_gaussian(samples, slack=0.01)


def test_explicit_timesteps_are_the_same_as_num_steps():
    s = dh.NoiseSchedule("cosine", 200)
    model, x_T = dh.GaussianNoisePredictor(s, MEAN, STD), randn(32, 2, seed=2)
    by_count = dh.ddim_sample(model, s, x_T, 8, spacing="linspace", progress=False)
    explicit = dh.ddim_sample(model, s, x_T, timesteps=dh.make_timesteps(200, 8, "linspace").tolist(), progress=False)
    assert torch.equal(by_count, explicit)
    steps = [state.t for state in dh.ddim_steps(model, s, x_T, timesteps=[150, 60, 5], progress=False)]
    assert steps == [150, 60, 5]


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_a_generator_makes_sampling_reproducible(sampler):
    s = dh.NoiseSchedule("linear", 50)
    model = dh.MLPDenoiser(hidden_dim=16, num_blocks=1)
    x_T = torch.randn(8, 2)

    def run(seed):
        generator = torch.Generator().manual_seed(seed)
        if sampler == "ddpm":
            return dh.ddpm_sample(model, s, x_T, generator=generator, progress=False)
        return dh.ddim_sample(model, s, x_T, 10, eta=0.5, generator=generator, progress=False)
    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


def test_trajectories_run_from_x_T_to_x0():
    s = dh.NoiseSchedule("linear", 30)
    model = dh.MLPDenoiser(hidden_dim=16, num_blocks=1)
    x_T = torch.randn(4, 2)
    x0, trajectory = dh.ddpm_sample(model, s, x_T, return_trajectory=True, progress=False)
    assert len(trajectory) == 31 and trajectory[0] is x_T and torch.equal(trajectory[-1], x0)
    x0, trajectory = dh.ddim_sample(model, s, x_T, 6, return_trajectory=True, progress=False)
    assert len(trajectory) == 7 and torch.equal(trajectory[-1], x0)
    states = list(dh.ddim_steps(model, s, x_T, 6, progress=False))
    assert [t for t, _, _ in states] == dh.make_timesteps(30, 6).tolist()
    assert all(isinstance(state, dh.SamplerState) and state.x0_hat.shape == x_T.shape for state in states)


def test_clip_x0_keeps_the_final_sample_in_range():
    s = dh.NoiseSchedule("linear", 100)
    model = dh.GaussianNoisePredictor(s, 0.0, 3.0)  # data far outside [-1, 1]
    x_T = torch.randn(500, 1, generator=torch.Generator().manual_seed(0))
    for sample in [dh.ddpm_sample(model, s, x_T, clip_x0=True, progress=False),
                   dh.ddim_sample(model, s, x_T, 10, clip_x0=True, progress=False)]:
        assert sample.abs().max().item() <= 1.0 + 1e-5
    assert dh.ddpm_sample(model, s, x_T, progress=False).abs().max().item() > 1.5  # points: not clipped


def test_the_default_clips_images_and_never_points():
    s = dh.NoiseSchedule("cosine", 100)
    unet = dh.UNet(base_channels=8)
    images = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert torch.equal(dh.ddim_sample(unet, s, images, 3, progress=False),
                       dh.ddim_sample(unet, s, images, 3, clip_x0=True, progress=False))
    mlp, points = dh.MLPDenoiser(hidden_dim=8), torch.randn(64, 2)
    assert torch.equal(dh.ddim_sample(mlp, s, points, 3, progress=False),
                       dh.ddim_sample(mlp, s, points, 3, clip_x0=False, progress=False))
    # a plain function has no data_range: an image-shaped x_T decides
    model = dh.GaussianNoisePredictor(s, 0.0, 3.0)
    assert dh.ddim_sample(model, s, 3 * images, 3, progress=False).abs().max() <= 1.0
    assert dh.ddim_sample(model, s, 3 * points, 3, progress=False).abs().max() > 1.5


def test_the_shipped_weights_draw_images_in_range_with_default_arguments():
    """The docstring's example, as a student types it: images in [-1, 1], not noise."""
    model, s = dh.load_pretrained("mnist")
    digits = dh.ddim_sample(model, s, torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)), 5,
                            progress=False)
    assert digits.abs().max() <= 1.0 and digits.std() > 0.3


def not_a_noise_predictor(shape):
    return lambda x, t, y=None: torch.zeros(shape)


@pytest.mark.parametrize("call, error, words", [
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), 101), ValueError, "num_steps"),
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), 0), ValueError, "num_steps"),
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), eta=-0.1), ValueError, "eta"),
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), eta=1.5), ValueError, "eta"),
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), spacing="uniform"), ValueError, "spacing"),
    (lambda m, s: dh.make_timesteps(100, 10, "logsnr"), ValueError, "needs the schedule"),
    (lambda m, s: dh.make_timesteps(50, 10, "logsnr", s), ValueError, "needs the schedule"),
    (lambda m, s: dh.timesteps.logsnr_timesteps("cosine", 10), TypeError, "needs a NoiseSchedule"),
    (lambda m, s: dh.timesteps.logsnr_timesteps(s, 10, lambda_min=10.0), ValueError, "lambda_min"),
    (lambda m, s: dh.make_timesteps(100, 10, "karras"), ValueError, "needs the schedule"),
    (lambda m, s: dh.timesteps.karras_timesteps("cosine", 10), TypeError, "needs a NoiseSchedule"),
    (lambda m, s: dh.timesteps.karras_timesteps(s, 10, rho=0.0), ValueError, "rho"),
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), timesteps=[10, 50]), ValueError, "fall"),
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), timesteps=[100, 50]), ValueError, "[0, 99]"),
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), timesteps=[99.0, 50.0]), TypeError, "timesteps"),
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), timesteps=[]), ValueError, "timesteps"),
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), 10, timesteps=[99, 50]), ValueError, "not both"),
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), clip_x0="yes"), TypeError, "clip_x0"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.zeros(2, 2, dtype=torch.long)), TypeError, "x_T"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.randn(0, 2)), ValueError, "no samples"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.tensor([[0.0, float("nan")]])), ValueError, "NaN"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.randn(2, 2), guidance_scale=3.0), ValueError, "y"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.randn(2, 2), y=torch.tensor([0, 1]), guidance_scale=-1), ValueError, "guidance_scale"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.randn(2, 2), y=torch.tensor([0.5, 1.0])), TypeError, "y"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.randn(2, 2), y=torch.tensor([0, 1, 2])), ValueError, "y"),
    (lambda m, s: dh.ddpm_sample(m, "linear", torch.randn(2, 2)), TypeError, "schedule"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.randn(2, 2), generator=0), TypeError, "generator"),
    (lambda m, s: dh.ddpm_sample(dh.MLPDenoiser(), s, torch.randn(2, 2), y=1), ValueError, "num_classes"),
    (lambda m, s: dh.ddpm_sample(dh.MLPDenoiser(num_classes=3), s, torch.randn(2, 2), y=3), ValueError, "[0, 2]"),
    (lambda m, s: dh.ddpm_sample((m, s), s, torch.randn(2, 2)), TypeError, "model is a tuple of 2 items"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.randn(2, 2), variance="fixed_large"), ValueError,
     "variance must be one of ['beta', 'beta_tilde'], got 'fixed_large'"),
    (lambda m, s: dh.ddim_sample("unet", s, torch.randn(2, 2)), TypeError, "model must be a model"),
    (lambda m, s: dh.ddim_sample(dh.MLPDenoiser(), s, torch.randn(2, 2, dtype=torch.float64)), TypeError,
     "x_T is torch.float64 but the model's weights are torch.float32"),
    (lambda m, s: dh.ddim_sample(dh.MLPDenoiser(), s, torch.randn(2, 2, device="meta")), ValueError,
     "x_T is on meta but the model is on cpu"),
])
def test_bad_sampler_input_is_refused_before_any_step(call, error, words):
    s = dh.NoiseSchedule("linear", 100)
    calls = []
    with pytest.raises(error) as info:
        call(lambda *args: calls.append(1) or torch.zeros_like(args[0]), s)
    assert words in str(info.value)
    assert not calls


@pytest.mark.parametrize("output, words", [
    (not_a_noise_predictor((4, 2, 8, 8)), "shaped like its input"),
    (not_a_noise_predictor((4, 1, 1, 1)), "shaped like its input"),
    (not_a_noise_predictor((1, 1, 8, 8)), "shaped like its input"),
    (lambda x, t: torch.full_like(x, float("nan")), "NaN"),
    (lambda x, t: [0.0], "shaped like its input"),
])
def test_a_model_that_does_not_predict_noise_is_named(output, words):
    with pytest.raises(ValueError, match=words):
        dh.ddim_sample(output, dh.NoiseSchedule("linear", 100), torch.randn(4, 1, 8, 8), 5, progress=False)


@pytest.mark.parametrize("call, error, words", [
    (lambda s, x: dh.ddim_step(s, x, 10, 10, x), ValueError, "differ"),
    (lambda s, x: dh.ddim_step(s, x, 100, 50, x), ValueError, "t must be in [-1, 99]"),
    (lambda s, x: dh.ddim_step(s, x, 10, -2, x), ValueError, "t_prev"),
    (lambda s, x: dh.ddim_step(s, x, 10, 5, x[:1]), ValueError, "eps_hat"),
    (lambda s, x: dh.ddim_step(s, x, 10, 5, x, eta=0.5, noise=x[:, :1]), ValueError, "noise"),
    (lambda s, x: dh.ddim_step(s, x, 10, 50, x, eta=0.5), ValueError, "eta=0"),
    (lambda s, x: dh.ddim_step(s, x, 10.0, 5, x), TypeError, "t"),
    (lambda s, x: dh.ddpm_step(s, x, 10, 50, x), ValueError, "earlier"),
    (lambda s, x: dh.ddpm_step(None, x, 10, 5, x), TypeError, "schedule"),
    (lambda s, x: dh.ddpm_step(s, x, 10, 5, x, variance=None), ValueError, "variance must be one of ['beta', 'beta_tilde']"),
])
def test_bad_step_input_is_refused(call, error, words):
    with pytest.raises(error) as info:
        call(dh.NoiseSchedule("linear", 100), torch.randn(3, 2))
    assert words in str(info.value)


def test_unclipped_images_that_blow_up_are_warned_about():
    """clip_x0=False on an image model may be meant (inversion decodes so), but samples at +-1000
    are not images: the sampler says so. Clipped, the same model gives no warning."""
    class Blows(torch.nn.Module):
        data_range = (-1.0, 1.0)

        def forward(self, x, t):
            return -x  # x0_hat = x_t (1 + sqrt(1 - abar)) / sqrt(abar): huge near t = T-1

    s, x_T = dh.NoiseSchedule("cosine", 100), torch.randn(3, 1, 8, 8)
    with pytest.warns(UserWarning, match=r"far outside the model's data range \[-1, 1\].*clip_x0=True"):
        dh.ddim_sample(Blows(), s, x_T, 5, clip_x0=False, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dh.ddim_sample(Blows(), s, x_T, 5, progress=False)


def test_unclipped_samples_are_warned_about_only_when_far_out():
    """The warning marks a blow-up, not an overshoot: notebook 5 decodes inverted codes with
    clip_x0=False and gets -1.54 to 1.18 (no word), the shipped weights unclipped reach +-800
    (warned). The line lies FAR_OUTSIDE = 2 widths of [-1, 1] beyond it: at -5 and 5."""
    from diffusion_helpers.loop import check_finished

    class ImageModel:
        data_range = (-1.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for low, high in ((-1.54, 1.18), (-4.9, 4.9), (-1.0, 1.0)):
            check_finished(ImageModel(), torch.tensor([low, 0.0, high]))
        check_finished(dh.MLPDenoiser(), torch.tensor([-800.0, 800.0]))  # points have no range
    for low, high in ((-5.1, 0.0), (0.0, 5.1), (-824.0, 723.0)):
        with pytest.warns(UserWarning, match=r"far outside the model's data range \[-1, 1\]"):
            check_finished(ImageModel(), torch.tensor([low, 0.0, high]))


@pytest.mark.parametrize("model, x_T, words", [
    (dh.UNet(base_channels=8), torch.randn(2, 1, 27, 27), "x_T's height and width must be divisible by 4"),
    (dh.UNet(base_channels=8), torch.randn(2, 3, 28, 28), "x_T must have shape (B, 1, H, W), got (2, 3, 28, 28)"),
    (dh.UNet(base_channels=8), torch.randn(2, 28, 28, 1), "channels last?"),
    (dh.MLPDenoiser(hidden_dim=8), torch.randn(2, 3), "x_T must have shape (B, 2), got (2, 3)"),
])
def test_an_x_T_the_model_cannot_take_is_named_x_T(model, x_T, words):
    """Not `x`, the name inside the model: the sampler checks x_T against the model first."""
    for sampler in dh.SAMPLERS.values():
        with pytest.raises(ValueError) as info:
            sampler(model, dh.NoiseSchedule("linear", 100), x_T, 2, progress=False)
        assert words in str(info.value)
    with pytest.raises(ValueError, match="x0"):  # inversion starts from x0
        dh.ddim_invert(model, dh.NoiseSchedule("linear", 100), x_T.clamp(-1, 1), 2, progress=False)


@pytest.mark.parametrize("step", [dh.ddpm_step, dh.ddim_step])
def test_a_step_refuses_noise_or_eps_hat_that_would_broadcast(step):
    s, x_t = dh.NoiseSchedule("linear", 100), torch.randn(4, 1, 8, 8)
    with pytest.raises(ValueError, match=re.escape("noise must have the shape of x_t (4, 1, 8, 8), got (4, 1, 1, 1)")):
        step(s, x_t, 50, 40, x_t, noise=torch.randn(4, 1, 1, 1), **({"eta": 1.0} if step is dh.ddim_step else {}))
    with pytest.raises(TypeError, match="eps_hat must be the predicted noise"):
        step(s, x_t, 50, 40, None)
    with pytest.raises(TypeError, match="clip_x0 must be True or False"):
        step(s, x_t, 50, 40, x_t, clip_x0="no")


def test_a_model_sampled_with_another_schedule_than_it_learned_is_warned_about(tmp_path):
    """dh.train and dh.load_checkpoint remember the schedule a model learned; a sampler given another
    (the shipped cosine model with a linear schedule, or T = 500) warns, naming both; the same schedule,
    or a model that never met dh.train, stays silent."""
    cosine = dh.NoiseSchedule("cosine", 1000)
    model = dh.MLPDenoiser(hidden_dim=16, num_blocks=1)
    dh.train(model, cosine, torch.randn(64, 2), steps=1, batch_size=8, progress=False)
    points = torch.randn(4, 2)
    for other in (dh.NoiseSchedule("linear", 1000), dh.NoiseSchedule("cosine", 500)):
        with pytest.warns(UserWarning, match=re.escape(f"schedule is {other!r}, but this model learned {cosine!r}")):
            dh.ddim_sample(model, other, points, 2, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dh.ddim_sample(model, cosine, points, 2, progress=False)
        dh.ddim_sample(dh.MLPDenoiser(hidden_dim=16, num_blocks=1), dh.NoiseSchedule("linear", 1000), points, 2,
                       progress=False)
    dh.save_checkpoint(tmp_path / "m.pt", model, cosine, data="points")
    loaded, schedule, _ = dh.load_checkpoint(tmp_path / "m.pt")
    assert schedule.config() == loaded.trained_schedule == cosine.config()
    with pytest.warns(UserWarning, match="but this model learned"):
        dh.ddpm_sample(loaded, dh.NoiseSchedule("linear", 1000), points, 2, progress=False)


def test_an_image_given_as_x_T_is_warned_about():
    """The slip: a real image passed where the noise x_T belongs. Near t = T, x_t is N(0, I), of
    whose values a third lie outside [-1, 1]; an 8x8 sample of noise lies entirely inside with
    probability 0.68^64 = 2e-11, an image always. So a sampler that starts at the top of the grid
    warns for any sample entirely within [-1, 1], and never for noise; 2D points (2 numbers) and a
    run that starts low (an image noised to a small t, as an edit would) are never warned about."""
    s, model = dh.NoiseSchedule("cosine", 100), dh.UNet(base_channels=8)
    noise = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    image = noise.clamp(-1, 1)
    for sampler in ("ddim", "ddpm", "dpm_solver", "unipc"):
        with pytest.warns(UserWarning, match=r"x_T looks like images, not noise: 3 of its 3 samples .*torch.randn"):
            dh.SAMPLERS[sampler](model, s, image, 2, progress=False)
    with pytest.warns(UserWarning, match=r"1 of its 3 samples"):
        dh.ddim_sample(model, s, torch.cat([noise[:2], image[2:]]), 2, progress=False)
    with pytest.warns(UserWarning, match=r"x_T looks like images"):
        dh.inpaint_sample(model, s, image, 2, known=image, mask=torch.ones(8, 8), progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dh.ddim_sample(model, s, noise, 2, progress=False)
        dh.ddim_sample(model, s, image, timesteps=torch.tensor([40, 20]), progress=False)  # starts low: an edit
        dh.ddim_sample(dh.MLPDenoiser(hidden_dim=8), s, torch.rand(5, 2) * 2 - 1, 2, progress=False)
        dh.ddim_invert(model, s, image, 2, progress=False)  # inversion starts from an image, rightly
