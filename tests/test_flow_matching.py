"""Flow matching's path, velocity and loss, the continuous-time models, and path straightness:
each checked against its formula."""
import math

import pytest
import torch

import diffusion_helpers as dh

EPS64 = torch.finfo(torch.float64).eps


def pair(shape=(5, 3), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1,
            torch.randn(shape, generator=generator, dtype=torch.float64))


def test_the_straight_path_runs_from_the_data_to_the_noise_at_a_constant_velocity():
    x0, noise = pair()
    assert torch.equal(dh.linear_path(x0, 0.0, noise)[0], x0)
    assert torch.equal(dh.linear_path(x0, 1.0, noise)[0], noise)
    velocity = dh.conditional_velocity(x0, noise)
    torch.testing.assert_close(velocity, noise - x0, rtol=0, atol=0)
    # finite differences of the path give eps - x0 at every t and step: the path is a straight line
    for t, h in [(0.1, 1e-3), (0.5, 0.25), (0.9, 0.1)]:
        ahead, behind = dh.linear_path(x0, t + h, noise)[0], dh.linear_path(x0, t - h, noise)[0]
        torch.testing.assert_close((ahead - behind) / (2 * h), velocity, rtol=0, atol=64 * EPS64 / h)
    # per-sample times (B,) mix each row at its own t; noise is drawn when not given
    t = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64)
    x_t, _ = dh.linear_path(x0, t, noise)
    torch.testing.assert_close(x_t, (1 - t[:, None]) * x0 + t[:, None] * noise, rtol=0, atol=0)
    x_t, drawn = dh.linear_path(x0, 0.5)
    torch.testing.assert_close(x_t, (x0 + drawn) / 2, rtol=0, atol=4 * EPS64)


def test_the_velocity_implies_the_clean_data():
    x0, noise = pair()
    for t in (0.0, 0.3, 1.0):
        x_t, _ = dh.linear_path(x0, t, noise)
        torch.testing.assert_close(dh.x0_hat_from_velocity(x_t, t, noise - x0), x0, rtol=0, atol=64 * EPS64)
    t = torch.tensor([0.2, 0.4, 0.6, 0.8, 1.0], dtype=torch.float64)
    x_t, _ = dh.linear_path(x0, t, noise)
    torch.testing.assert_close(dh.x0_hat_from_velocity(x_t, t, noise - x0), x0, rtol=0, atol=64 * EPS64)


def test_flow_matching_loss_is_the_formula_written_out():
    x0, noise = pair((6, 2))
    t = torch.tensor([0.0, 0.1, 0.3, 0.5, 0.9, 1.0], dtype=torch.float64)

    def model(x_t, t):
        return 0.7 * x_t + t[:, None]
    x_t = (1 - t[:, None]) * x0 + t[:, None] * noise
    per_sample = (model(x_t, t) - (noise - x0)).square().mean(1)
    torch.testing.assert_close(dh.flow_matching_loss(model, x0, t, noise, reduction="none").double(), per_sample,
                               rtol=1e-6, atol=0)
    torch.testing.assert_close(dh.flow_matching_loss(model, x0, t, noise).double(), per_sample.mean(), rtol=1e-6, atol=0)

    def oracle(x_t, t):  # knows each row's pair: the conditional velocity, so the loss is 0
        return noise - x0
    assert dh.flow_matching_loss(oracle, x0, t, noise).item() == 0.0
    # t and noise drawn from the generator: the same seed, the same loss
    losses = [dh.flow_matching_loss(model, x0, generator=torch.Generator().manual_seed(seed)).item() for seed in (3, 3, 4)]
    assert losses[0] == losses[1] != losses[2]


def test_the_exact_gaussian_velocity_reaches_the_loss_floor():
    """For x0 ~ N(m, s^2 I) the best velocity E[eps - x0 | x_t] leaves the variance of u = eps - x0
    that x_t does not explain: Var(u) - Cov(u, x_t)^2 / Var(x_t), with Var(u) = 1 + s^2,
    Cov(u, x_t) = t - (1 - t) s^2, Var(x_t) = (1 - t)^2 s^2 + t^2. The Monte Carlo loss of
    dh.GaussianVelocityPredictor matches it within four standard errors."""
    mean, std, n = 1.5, 0.5, 40_000
    generator = torch.Generator().manual_seed(0)
    predictor = dh.GaussianVelocityPredictor(mean, std)
    for t in (0.1, 0.5, 0.9):
        x0 = mean + std * torch.randn(n, 2, generator=generator, dtype=torch.float64)
        noise = torch.randn(n, 2, generator=generator, dtype=torch.float64)
        per_sample = dh.flow_matching_loss(predictor, x0, torch.full((n,), t, dtype=torch.float64), noise,
                                           reduction="none").double()
        floor = 1 + std**2 - (t - (1 - t) * std**2) ** 2 / ((1 - t) ** 2 * std**2 + t**2)
        error = per_sample.std().item() / math.sqrt(n)
        assert abs(per_sample.mean().item() - floor) < 4 * error, (t, per_sample.mean().item(), floor, error)


def test_the_gaussian_velocity_is_the_time_derivative_of_its_flow():
    predictor = dh.GaussianVelocityPredictor(-0.5, 2.0)
    x = torch.randn(7, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    for t, h in [(0.2, 1e-5), (0.6, 1e-5)]:
        ahead, behind = predictor.flow(x, 0.4, t + h), predictor.flow(x, 0.4, t - h)
        at_t = predictor.flow(x, 0.4, t)
        # a central difference is exact to h^2 |x'''| / 6 plus rounding; both far below 1e-6 here
        torch.testing.assert_close((ahead - behind) / (2 * h), predictor(at_t, torch.full((7,), t, dtype=torch.float64)),
                                   rtol=0, atol=1e-6)


def test_continuous_time_models_embed_1000_t_and_refuse_the_scale_slips():
    torch.manual_seed(0)
    discrete, continuous = dh.MLPDenoiser().double(), dh.MLPDenoiser(continuous_time=True).double()
    continuous.load_state_dict(discrete.state_dict())
    x, k = torch.randn(4, 2, dtype=torch.float64), torch.tensor([0, 10, 500, 999])
    torch.testing.assert_close(continuous(x, k.double() / 1000), discrete(x, k), rtol=0, atol=1e-10)
    assert continuous(x, 0.5).shape == (4, 2) and continuous.config["continuous_time"] is True
    with pytest.raises(ValueError, match=r"did you pass t \* 1000\? give t itself"):
        continuous(x, k.double())
    with pytest.raises(TypeError, match="integer timesteps 0 .. T-1 belong to a DDPM noise predictor"):
        continuous(x, k)
    with pytest.raises(TypeError, match="build it with continuous_time=True"):
        discrete(x, k.double() / 1000)
    unet = dh.UNet(base_channels=16, continuous_time=True)
    assert unet(torch.zeros(2, 1, 28, 28), torch.tensor([0.0, 1.0])).shape == (2, 1, 28, 28)
    again = dh.build_model("UNet", unet.config)
    assert again.continuous_time and again.config == unet.config
    with pytest.raises(TypeError, match="continuous_time must be True or False"):
        dh.UNet(continuous_time="yes")


def test_flow_matching_loss_refuses_a_ddpm_model_and_times_outside_the_path():
    x0 = torch.rand(4, 2) * 2 - 1
    with pytest.raises(TypeError, match="build it with continuous_time=True"):
        dh.flow_matching_loss(dh.MLPDenoiser(), x0)
    model = dh.MLPDenoiser(continuous_time=True)
    with pytest.raises(ValueError, match=r"t must lie in \[0, 1\].*t \* 1000"):
        dh.flow_matching_loss(model, x0, torch.tensor([10.0, 200.0, 500.0, 999.0]))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        dh.flow_matching_loss(model, x0, torch.rand(3))
    with pytest.raises(ValueError, match="reduction must be one of"):
        dh.flow_matching_loss(model, x0, reduction="sum")


def test_path_straightness_is_one_for_a_line_and_the_ratio_of_lengths_otherwise():
    line = [torch.tensor([[1.0, 2.0], [-1.0, 1.0]]) * s for s in (1.0, 0.7, 0.2, 0.0)]
    torch.testing.assert_close(dh.path_straightness(line), torch.ones(2, dtype=torch.float64), rtol=0, atol=1e-12)
    corner = [torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]])]
    torch.testing.assert_close(dh.path_straightness(corner), torch.tensor([math.sqrt(2)], dtype=torch.float64))
    stacked = torch.stack([torch.zeros(3, 1, 2, 2), torch.ones(3, 1, 2, 2), 2 * torch.ones(3, 1, 2, 2)])  # (K+1, B, ...)
    assert dh.path_straightness(stacked).shape == (3,)
    with pytest.raises(ValueError, match="at least two"):
        dh.path_straightness([torch.zeros(2, 2)])
    with pytest.raises(ValueError, match="one shape"):
        dh.path_straightness([torch.zeros(2, 2), torch.zeros(3, 2)])


def test_path_straightness_estimate_is_total_length_over_total_distance_with_an_interval():
    # two paths: a corner (length 2, ends sqrt(2) apart) and a line (length 3, ends 3 apart): S = 5 / (3 + sqrt(2))
    two = [torch.tensor([[0.0, 0.0], [0.0, 0.0]]), torch.tensor([[1.0, 0.0], [1.5, 0.0]]), torch.tensor([[1.0, 1.0], [3.0, 0.0]])]
    estimate = dh.path_straightness_estimate(two, resamples=50)
    assert estimate.value == pytest.approx(5 / (3 + math.sqrt(2)), rel=1e-12)
    assert estimate.low <= estimate.value <= estimate.high
    lines = [torch.tensor([[1.0, 2.0], [-1.0, 1.0]]) * s for s in (1.0, 0.5, 0.0)]
    assert tuple(dh.path_straightness_estimate(lines)) == (1.0, 0.0, 1.0, 1.0)  # straight: every resample is 1
    # a path whose ends nearly meet rules the mean of the per-path ratios, not the ratio of the sums
    loop = [torch.tensor([[0.0, 0.0], [0.0, 0.0]]), torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([[1.0, 0.0], [1e-6, 0.0]])]
    assert dh.path_straightness(loop)[1] > 1e6 and dh.path_straightness_estimate(loop).value == pytest.approx(3 / (1 + 1e-6))
    with pytest.raises(ValueError, match="resamples"):
        dh.path_straightness_estimate(two, resamples=1)


@pytest.mark.parametrize("sampler", sorted(dh.SAMPLERS))
def test_the_ddpm_samplers_and_loss_refuse_a_velocity_model_before_any_call(sampler):
    """The mirror of the check above: a continuous-time model (or a DDPM model turned into a
    velocity field) given to a DDPM sampler or the diffusion loss is refused before it is called."""
    schedule = dh.NoiseSchedule("linear", 100)
    calls = []

    class Velocity(dh.MLPDenoiser):
        def forward(self, *args, **kwargs):
            calls.append(1)
            return super().forward(*args, **kwargs)

    for model in (Velocity(continuous_time=True), dh.VelocityFromNoise(dh.MLPDenoiser(), schedule)):
        with pytest.raises(TypeError, match="velocity model of continuous time.*dh.FLOW_SAMPLERS"):
            dh.SAMPLERS[sampler](model, schedule, torch.randn(4, 2), 5, progress=False)
    with pytest.raises(TypeError, match="the diffusion loss trains a noise predictor.*flow_matching_loss"):
        dh.diffusion_loss(Velocity(continuous_time=True), schedule, torch.rand(4, 2) * 2 - 1)
    assert calls == []
