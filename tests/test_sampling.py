"""Samplers driven by exact noise predictors of Gaussians, and checked against diffusers."""
import pytest
import torch
from conftest import GaussianNoisePredictor, TwoGaussianPredictor, standard_errors
from diffusers import DDIMScheduler, DDPMScheduler

import diffusion_helpers as dh

MEAN, STD, N = 1.0, 0.5, 4000


def check_gaussian(samples, mean=MEAN, std=STD, slack=0.0):
    """Sample mean and std within 5 standard errors (+ slack for the sampler's discretisation)."""
    se_mean, se_std = standard_errors(samples.numel(), std)
    assert abs(samples.mean().item() - mean) < 5 * se_mean + slack, samples.mean().item()
    assert abs(samples.std().item() - std) < 5 * se_std + slack, samples.std().item()


def test_ddpm_with_the_exact_predictor_reproduces_the_gaussian():
    s = dh.NoiseSchedule("linear", 1000)
    x_T = torch.randn(N, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    samples = dh.ddpm_sample(GaussianNoisePredictor(s, MEAN, STD), s, x_T,
                             generator=torch.Generator().manual_seed(1), progress=False)
    check_gaussian(samples, slack=0.01)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_with_many_steps_reproduces_the_gaussian(eta):
    s = dh.NoiseSchedule("cosine", 1000)
    x_T = torch.randn(N, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    samples = dh.ddim_sample(GaussianNoisePredictor(s, MEAN, STD), s, x_T, num_steps=250, eta=eta,
                             generator=torch.Generator().manual_seed(1), progress=False)
    check_gaussian(samples, slack=0.01)


def test_ddpm_equals_diffusers_ddpm_loop_step_by_step():
    s = dh.NoiseSchedule("linear", 100)
    theirs = DDPMScheduler(num_train_timesteps=100, beta_schedule="linear", beta_start=1e-4, beta_end=0.02,
                           clip_sample=True, clip_sample_range=1.0, variance_type="fixed_small")
    model = GaussianNoisePredictor(s, 0.7, 0.4)
    x_T = torch.randn(64, 2, generator=torch.Generator().manual_seed(3))
    ours = dh.ddpm_sample(model, s, x_T, clip_x0=True, generator=torch.Generator().manual_seed(4), progress=False)
    x, generator = x_T, torch.Generator().manual_seed(4)
    for t in range(99, -1, -1):
        x = theirs.step(model(x, torch.full((64,), t)), t, x, generator=generator).prev_sample
    torch.testing.assert_close(ours, x, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("eta", [0.0, 1.0])
@pytest.mark.parametrize("num_steps", [5, 20])
def test_ddim_equals_diffusers_ddim_on_the_same_predictor(eta, num_steps):
    """Few DDIM steps shrink the variance (the Gaussian is not reproduced), identically in both."""
    T = 1000
    s = dh.NoiseSchedule("linear", T)
    theirs = DDIMScheduler(num_train_timesteps=T, beta_schedule="linear", beta_start=1e-4, beta_end=0.02,
                           clip_sample=False, set_alpha_to_one=True, timestep_spacing="trailing")
    theirs.set_timesteps(num_steps)
    assert theirs.timesteps.tolist() == dh.ddim_timesteps(T, num_steps).tolist()
    model = GaussianNoisePredictor(s, MEAN, STD)
    x_T = torch.randn(N, 1, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    ours = dh.ddim_sample(model, s, x_T, num_steps=num_steps, eta=eta,
                          generator=torch.Generator().manual_seed(6), progress=False)
    # the same noise, in the order our sampler draws it: once a step, except after the last
    generator, x = torch.Generator().manual_seed(6), x_T
    for i, t in enumerate(theirs.timesteps):
        last = i == num_steps - 1
        noise = torch.zeros_like(x) if last or eta == 0 else torch.randn(x.shape, generator=generator, dtype=x.dtype)
        x = theirs.step(model(x, t.repeat(N)), t, x, eta=eta, variance_noise=noise).prev_sample
    torch.testing.assert_close(ours, x, rtol=1e-5, atol=1e-5)
    if num_steps == 5 and eta == 0:
        assert ours.std().item() < STD - 0.05, "five deterministic steps should shrink the spread"


def test_ddim_with_eta_one_and_every_step_is_ddpm():
    s = dh.NoiseSchedule("cosine", 100)
    model = GaussianNoisePredictor(s, -0.3, 0.8)
    x_T = torch.randn(32, 3, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    ddpm = dh.ddpm_sample(model, s, x_T, generator=torch.Generator().manual_seed(8), progress=False)
    ddim = dh.ddim_sample(model, s, x_T, num_steps=100, eta=1.0, generator=torch.Generator().manual_seed(8), progress=False)
    # the schedule is stored in float32 (relative error ~1e-7 a coefficient, over 100 steps)
    torch.testing.assert_close(ddim, ddpm, rtol=1e-5, atol=1e-5)


def test_guidance_scale_zero_gives_the_mixture_and_one_gives_the_class():
    s = dh.NoiseSchedule("linear", 1000)
    model = TwoGaussianPredictor(s, m=2.0, s=0.5)
    x_T = torch.randn(N, 1, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    y = torch.ones(N, dtype=torch.long)
    mixture = dh.ddpm_sample(model, s, x_T, y=y, guidance_scale=0.0, generator=torch.Generator().manual_seed(10), progress=False)
    right = mixture[mixture > 0]
    # each half of the mixture holds a share 1/2: binomial standard error sqrt(1/4 / N)
    assert abs(right.numel() / N - 0.5) < 5 * (0.25 / N) ** 0.5
    check_gaussian(right, mean=2.0, std=0.5, slack=0.01)
    check_gaussian(mixture[mixture < 0], mean=-2.0, std=0.5, slack=0.01)

    model.calls = 0
    conditional = dh.ddpm_sample(model, s, x_T, y=y, guidance_scale=1.0, generator=torch.Generator().manual_seed(10), progress=False)
    assert model.calls == 1000, "guidance_scale=1 must call the model once a step"
    check_gaussian(conditional, mean=2.0, std=0.5, slack=0.01)


def test_guided_noise_combines_the_two_predictions():
    calls = []

    def model(x, t, y=None):
        calls.append(y)
        return torch.full_like(x, 1.0) if y is None else torch.full_like(x, 3.0)

    x, t, y = torch.zeros(2, 1), torch.zeros(2, dtype=torch.long), torch.tensor([0, 1])
    assert dh.guided_noise(model, x, t, y, 0.0).eq(1.0).all()
    assert dh.guided_noise(model, x, t, y, 1.0).eq(3.0).all()
    assert dh.guided_noise(model, x, t, y, 2.5).eq(1.0 + 2.5 * 2.0).all()  # eps_u + w (eps_c - eps_u)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim"])
def test_a_generator_makes_sampling_reproducible(sampler):
    s = dh.NoiseSchedule("linear", 50)
    model = dh.MLPDenoiser(hidden_dim=16, num_blocks=1)
    x_T = torch.randn(8, 2)
    run = lambda seed: (dh.ddpm_sample(model, s, x_T, generator=torch.Generator().manual_seed(seed), progress=False)  # noqa: E731
                        if sampler == "ddpm" else
                        dh.ddim_sample(model, s, x_T, num_steps=10, eta=0.5, generator=torch.Generator().manual_seed(seed), progress=False))
    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


def test_trajectories_run_from_x_T_to_x0():
    s = dh.NoiseSchedule("linear", 30)
    model = dh.MLPDenoiser(hidden_dim=16, num_blocks=1)
    x_T = torch.randn(4, 2)
    x0, trajectory = dh.ddpm_sample(model, s, x_T, return_trajectory=True, progress=False)
    assert len(trajectory) == 31 and trajectory[0] is x_T and torch.equal(trajectory[-1], x0)
    x0, trajectory = dh.ddim_sample(model, s, x_T, num_steps=6, return_trajectory=True, progress=False)
    assert len(trajectory) == 7 and torch.equal(trajectory[-1], x0)
    steps = list(dh.ddim_steps(model, s, x_T, num_steps=6, progress=False))
    assert [t for t, _, _ in steps] == dh.ddim_timesteps(30, 6).tolist()


def test_clip_x0_keeps_the_final_sample_in_range():
    s = dh.NoiseSchedule("linear", 100)
    model = GaussianNoisePredictor(s, 0.0, 3.0)  # data far outside [-1, 1]
    x_T = torch.randn(500, 1, generator=torch.Generator().manual_seed(0))
    for sample in [dh.ddpm_sample(model, s, x_T, clip_x0=True, progress=False),
                   dh.ddim_sample(model, s, x_T, num_steps=10, clip_x0=True, progress=False)]:
        assert sample.abs().max().item() <= 1.0 + 1e-5
    assert dh.ddpm_sample(model, s, x_T, progress=False).abs().max().item() > 1.5


@pytest.mark.parametrize("call, error, words", [
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), num_steps=101), ValueError, "num_steps"),
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), num_steps=0), ValueError, "num_steps"),
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), eta=-0.1), ValueError, "eta"),
    (lambda m, s: dh.ddim_sample(m, s, torch.randn(2, 2), eta=1.5), ValueError, "eta"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.zeros(2, 2, dtype=torch.long)), TypeError, "x_T"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.randn(2, 2), guidance_scale=3.0), ValueError, "y"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.randn(2, 2), y=torch.tensor([0, 1]), guidance_scale=-1), ValueError, "guidance_scale"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.randn(2, 2), y=torch.tensor([0.5, 1.0])), TypeError, "y"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.randn(2, 2), y=torch.tensor([0, 1, 2])), ValueError, "y"),
    (lambda m, s: dh.ddpm_sample(m, "linear", torch.randn(2, 2)), TypeError, "schedule"),
    (lambda m, s: dh.ddpm_sample(m, s, torch.randn(2, 2), generator=0), TypeError, "generator"),
])
def test_bad_sampler_input_is_refused_before_any_step(call, error, words):
    s = dh.NoiseSchedule("linear", 100)
    calls = []
    with pytest.raises(error) as info:
        call(lambda *args: calls.append(1) or torch.zeros_like(args[0]), s)
    assert words in str(info.value)
    assert not calls
