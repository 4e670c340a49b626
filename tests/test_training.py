"""The one training loop: it learns, it is reproducible, and it handles labels, EMA and budgets."""
import math
import re
import warnings

import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers.losses import loss_weights, variational_bound_weights
from diffusion_helpers.schedules import posterior_coefficients
from diffusion_helpers.training import learning_rate


def evaluation_loss(model, schedule, points, seed=0, n=20_000):
    """The loss (eq. 14) on one fixed large batch of (x_0, t, eps)."""
    generator = torch.Generator().manual_seed(seed)
    x0 = points[torch.randint(len(points), (n,), generator=generator)]
    t = torch.randint(schedule.num_timesteps, (n,), generator=generator)
    with torch.no_grad():
        return dh.diffusion_loss(model, schedule, x0, t, torch.randn(x0.shape, generator=generator)).item()


def test_a_few_hundred_steps_lower_the_loss_on_a_2d_toy():
    torch.manual_seed(0)
    points = dh.make_toy_2d("moons", 2000)
    s = dh.NoiseSchedule("linear", 200)
    model = dh.MLPDenoiser()
    before = evaluation_loss(model, s, points)
    result = dh.train(model, s, points, steps=400, batch_size=256, lr=2e-3, progress=False)
    after = evaluation_loss(model, s, points)
    assert len(result.losses) == result.steps == 400
    assert result.final_loss == pytest.approx(sum(result.losses[-100:]) / 100)
    # it must learn the moons' shape, not only their spread: beat the best Gaussian predictor
    bound = dh.gaussian_baseline_loss(s, points)
    assert after < before and after < 0.95 * bound, (before, after, bound)


def test_training_is_reproducible_with_a_seed():
    points = dh.make_toy_2d("spiral", 500)
    s = dh.NoiseSchedule("cosine", 100)
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # the same initial weights
        runs.append(dh.train(dh.MLPDenoiser(hidden_dim=32), s, points, steps=30, seed=7, progress=False).losses)
    assert runs[0] == runs[1]


def test_ema_and_callbacks_and_label_dropout():
    points, labels = dh.make_toy_classes(300)
    s = dh.NoiseSchedule("linear", 100)
    model = dh.MLPDenoiser(hidden_dim=32, num_classes=3)
    seen_labels = []
    original_forward = model.forward
    model.forward = lambda x, t, y=None: seen_labels.append(y.clone()) or original_forward(x, t, y)
    steps = []
    result = dh.train(model, s, points, labels, steps=25, batch_size=200, label_dropout=0.5, ema_decay=0.9,
                      callback=lambda state: steps.append(state.step), callback_every=10, progress=False)
    assert steps == [10, 20, 25]
    dropped = torch.cat(seen_labels).eq(dh.NULL_LABEL).float().mean().item()
    assert abs(dropped - 0.5) < 5 * (0.25 / (25 * 200)) ** 0.5  # binomial standard error
    # the EMA is a weighted average of past weights: it differs from the final weights
    ema, final = result.ema_model.input.weight, model.input.weight
    assert not torch.equal(ema, final) and not ema.requires_grad
    assert not model.training, "the model ends in eval mode"


def test_a_time_budget_stops_training():
    points = dh.make_toy_2d("moons", 200)
    result = dh.train(dh.MLPDenoiser(hidden_dim=16), dh.NoiseSchedule("linear", 50), points,
                      steps=10**6, minutes=0.02, progress=False)
    assert 1 <= result.steps < 10**6 and result.seconds < 10


def test_train_steps_yields_every_step():
    points = dh.make_toy_2d("moons", 200)
    states = list(dh.train_steps(dh.MLPDenoiser(hidden_dim=16), dh.NoiseSchedule("linear", 50), points,
                                 steps=5, progress=False))
    assert [state.step for state in states] == [1, 2, 3, 4, 5]


def test_cosine_schedule_warms_up_then_decays_to_zero():
    """lr_t = lr * min(1, t / warmup) * (1 + cos(pi t / T)) / 2 (SGDR eq. 5 with a linear warm-up);
    at the last step lr = 0, so AdamW (no weight decay) leaves the weights where they were."""
    points = dh.make_toy_2d("moons", 200)
    model = dh.MLPDenoiser(hidden_dim=16)
    lrs, weights = [], []
    for state in dh.train_steps(model, dh.NoiseSchedule("linear", 50), points, steps=10, lr=0.01,
                                lr_schedule="cosine", warmup_steps=4, progress=False):
        lrs.append(state.lr)
        weights.append([p.detach().clone() for p in state.model.parameters()])
    expected = [0.01 * min(1, t / 4) * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(1, 11)]
    assert lrs == pytest.approx(expected, abs=1e-12)
    assert all(torch.equal(a, b) for a, b in zip(weights[-2], weights[-1]))
    assert not all(torch.equal(a, b) for a, b in zip(weights[-3], weights[-2]))


def test_constant_schedule_and_a_minutes_budget_for_the_cosine():
    config = dh.TrainConfig(steps=1000, lr=0.1, minutes=1.0, lr_schedule="cosine")
    assert learning_rate(config, 10, 30.0) == pytest.approx(0.05)  # half the minutes used: cos(pi/2)
    assert learning_rate(config, 500, 1.0) == pytest.approx(0.05)  # half the steps used
    assert learning_rate(dh.TrainConfig(lr=0.1, warmup_steps=10), 5, 0.0) == pytest.approx(0.05)
    assert learning_rate(dh.TrainConfig(lr=0.1), 5, 1e6) == 0.1


def test_min_snr_weights_follow_the_formula():
    """w_t = min(SNR_t, gamma) / SNR_t: 1 on the noisy side (SNR <= gamma), gamma / SNR_t on the clean side."""
    schedule = dh.NoiseSchedule("cosine", 1000)
    t = torch.arange(1000)
    weights = loss_weights(dh.TrainConfig(loss_weighting="min_snr", min_snr_gamma=5.0), schedule, t)
    snr = schedule.alphas_cumprod / (1 - schedule.alphas_cumprod)
    noisy = snr <= 5.0
    assert noisy.any() and (~noisy).any()
    assert torch.equal(weights[noisy], torch.ones(int(noisy.sum())))
    assert torch.allclose(weights[~noisy], 5.0 / snr[~noisy])
    assert torch.equal(loss_weights(dh.TrainConfig(), schedule, t), torch.ones(1000))


@pytest.mark.parametrize("name", ["linear", "cosine"])
@pytest.mark.parametrize("variance", ["beta_tilde", "beta"])
def test_variational_bound_weights_are_eq_12_written_out(name, variance):
    """w_t = beta_t^2 / (2 sigma_t^2 alpha_t (1 - abar_t)) (Ho et al. 2020, eq. 12), computed here in
    Python floats from the betas, one t at a time; index 0 takes beta~ of index 1 (beta~_0 = 0)."""
    schedule = dh.NoiseSchedule(name, 200)
    betas = schedule.betas.double().tolist()
    weights = variational_bound_weights(schedule, variance)
    assert weights.shape == (200,) and weights.dtype == torch.float64
    abar, abar_prev, expected = 1.0, 1.0, []
    for beta in betas:
        abar_prev, abar = abar, abar * (1 - beta)
        expected.append((beta, (1 - abar_prev) / (1 - abar) * beta if variance == "beta_tilde" else beta, abar))
    sigma_squared = [e[1] for e in expected]
    if variance == "beta_tilde":
        assert sigma_squared[0] == 0.0
        sigma_squared[0] = sigma_squared[1]
    by_hand = [beta**2 / (2 * sigma2 * (1 - beta) * (1 - abar)) for (beta, _, abar), sigma2 in zip(expected, sigma_squared)]
    torch.testing.assert_close(weights, torch.tensor(by_hand, dtype=torch.float64), rtol=1e-9, atol=0)


def test_variational_bound_weights_turn_the_kl_of_two_means_into_the_noise_error():
    """Eq. 12: ||mu~_t(x_t, x_0) - mu_theta(x_t, eps_hat)||^2 / (2 sigma_t^2) = w_t ||eps - eps_hat||^2, with
    mu~ the posterior's mean (eq. 7, in double precision) and mu_theta the DDPM step's mean (dh.ddpm_step, z = 0)."""
    schedule = dh.NoiseSchedule("linear", 1000)
    generator = torch.Generator().manual_seed(0)
    x0, eps, eps_hat = (torch.randn(32, 2, generator=generator, dtype=torch.float64) for _ in range(3))
    for variance in ("beta_tilde", "beta"):
        weights = variational_bound_weights(schedule, variance)
        for t in (1, 10, 300, 999):
            abar = schedule.alpha_bar(t)  # in double precision, as the step's and the posterior's coefficients
            x_t = math.sqrt(abar) * x0 + math.sqrt(1 - abar) * eps
            coef_x0, coef_xt, _ = posterior_coefficients(schedule.alpha_bar(t), schedule.alpha_bar(t - 1))  # eq. 7
            posterior_mean = coef_x0 * x0 + coef_xt * x_t
            model_mean, _ = dh.ddpm_step(schedule, x_t, t, t - 1, eps_hat, noise=torch.zeros_like(x_t), variance=variance)
            sigma_squared = (schedule.posterior_variance if variance == "beta_tilde" else schedule.betas)[t].double()
            kl_term = (posterior_mean - model_mean).square().sum(1) / (2 * sigma_squared)
            torch.testing.assert_close(kl_term, weights[t] * (eps - eps_hat).square().sum(1), rtol=1e-5, atol=0)


def test_variational_bound_weights_with_beta_tilde_are_half_the_snr_ratio_minus_one():
    """With sigma_t^2 = beta~_t, w_t = (SNR(t-1) / SNR(t) - 1) / 2 (Kingma et al. 2021, in discrete time):
    largest near the data, smallest near the noise; the simple loss weighs every t the same."""
    schedule = dh.NoiseSchedule("linear", 1000)
    snr = schedule.alphas_cumprod_float64 / (1 - schedule.alphas_cumprod_float64)
    weights = variational_bound_weights(schedule)
    torch.testing.assert_close(weights[1:], (snr[:-1] / snr[1:] - 1) / 2, rtol=1e-9, atol=0)
    assert weights[1] > 50 * weights[500]


def test_variational_bound_weights_refuse_a_wrong_variance_or_schedule():
    with pytest.raises(ValueError, match=re.escape("variance must be one of ['beta_tilde', 'beta']")):
        variational_bound_weights(dh.NoiseSchedule("linear", 10), "fixed_small")
    with pytest.raises(TypeError, match="schedule must be a NoiseSchedule"):
        variational_bound_weights("linear")


def test_min_snr_with_a_gamma_above_every_snr_is_the_plain_loss():
    points = dh.make_toy_2d("moons", 300)
    s = dh.NoiseSchedule("linear", 50)
    runs = []
    for options in (dict(), dict(loss_weighting="min_snr", min_snr_gamma=float(s.snr().max()) * 2)):
        torch.manual_seed(0)
        runs.append(dh.train(dh.MLPDenoiser(hidden_dim=16), s, points, steps=20, progress=False, **options).losses)
    assert runs[0] == pytest.approx(runs[1], rel=1e-6)
    torch.manual_seed(0)
    weighted = dh.train(dh.MLPDenoiser(hidden_dim=16), s, points, steps=20, progress=False,
                        loss_weighting="min_snr", min_snr_gamma=1.0).losses
    assert weighted[0] < runs[0][0]  # the same first batch, with weights <= 1 and some < 1


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(steps=0), ValueError, "steps"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(label_dropout=1.5), ValueError, "label_dropout"),
    (dict(ema_decay=-0.1), ValueError, "ema_decay"),
    (dict(learning_rate=0.1), TypeError, "learning_rate"),
    (dict(lr_schedule="step"), ValueError, "constant"),
    (dict(warmup_steps=-1), ValueError, "warmup_steps"),
    (dict(loss_weighting="p2"), ValueError, "min_snr"),
    (dict(lr=-1e-3), ValueError, "lr must be in [0.0"),
    (dict(grad_clip=0), ValueError, "grad_clip must be None"),
    (dict(grad_clip=-1.0), ValueError, "grad_clip must be None"),
    (dict(epochs=3), TypeError, "unknown training option(s) ['epochs']"),
    (dict(config={"steps": 10}), TypeError, "config must be a dh.TrainConfig"),
])
def test_bad_training_options_are_refused(kwargs, error, words):
    with pytest.raises(error) as info:
        dh.train(dh.MLPDenoiser(), dh.NoiseSchedule("linear", 10), torch.randn(10, 2), **kwargs)
    assert words in str(info.value)


def test_labels_need_a_conditional_model():
    with pytest.raises(ValueError, match="num_classes"):
        dh.train(dh.MLPDenoiser(), dh.NoiseSchedule("linear", 10), torch.randn(10, 2), torch.zeros(10, dtype=torch.long))


def test_diffusion_loss_is_eq_14_written_out():
    s = dh.NoiseSchedule("cosine", 100)
    model = dh.MLPDenoiser(hidden_dim=16)
    x0, t, noise = torch.randn(8, 2), torch.randint(100, (8,)), torch.randn(8, 2)
    abar = s.alphas_cumprod[t][:, None]
    with torch.no_grad():
        by_hand = (noise - model(abar.sqrt() * x0 + (1 - abar).sqrt() * noise, t)).square().mean(1)
        torch.testing.assert_close(dh.diffusion_loss(model, s, x0, t, noise, reduction="none"), by_hand)
        torch.testing.assert_close(dh.diffusion_loss(model, s, x0, t, noise), by_hand.mean())


def test_the_exact_predictor_reaches_the_gaussian_optimum():
    """For data N(m, s^2) the exact predictor's expected loss is the Gaussian baseline, derived in
    closed form (dh.gaussian_baseline_loss); 200,000 draws put the mean within a few 1e-3."""
    s = dh.NoiseSchedule("linear", 1000)
    generator = torch.Generator().manual_seed(0)
    x0 = 1.0 + 0.5 * torch.randn(200_000, 1, generator=generator, dtype=torch.float64)
    per_sample = dh.diffusion_loss(dh.GaussianNoisePredictor(s, 1.0, 0.5), s, x0, generator=generator, reduction="none")
    expected = dh.gaussian_baseline_loss(s, x0)
    standard_error = per_sample.std().item() / len(per_sample) ** 0.5
    assert abs(per_sample.mean().item() - expected) < 5 * standard_error, (per_sample.mean().item(), expected)


def test_diffusion_loss_draws_from_its_generator_and_checks_the_model():
    s, model, x0 = dh.NoiseSchedule("linear", 50), dh.MLPDenoiser(hidden_dim=8), torch.randn(16, 2)
    first = dh.diffusion_loss(model, s, x0, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(123)  # the global state plays no part
    assert torch.equal(first, dh.diffusion_loss(model, s, x0, generator=torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="shaped like its input"):
        dh.diffusion_loss(lambda x, t: x[:, :1], s, x0)
    with pytest.raises(ValueError, match="reduction"):
        dh.diffusion_loss(model, s, x0, reduction="sum")


def test_training_leaves_the_global_random_state_alone():
    points = dh.make_toy_2d("moons", 200)
    s = dh.NoiseSchedule("linear", 50)
    torch.manual_seed(5)
    model = dh.MLPDenoiser(hidden_dim=16)
    copy_weights = [p.detach().clone() for p in model.parameters()]
    state = torch.random.get_rng_state()
    first = dh.train(model, s, points, steps=20, seed=3, progress=False).losses
    assert torch.equal(torch.random.get_rng_state(), state), "train() must draw only from its own generator"
    torch.rand(1000)  # whatever else the notebook draws in between
    again = dh.MLPDenoiser(hidden_dim=16)
    with torch.no_grad():
        for p, w in zip(again.parameters(), copy_weights):
            p.copy_(w)
    assert dh.train(again, s, points, steps=20, seed=3, progress=False).losses == first


@pytest.mark.parametrize("data, error, words", [
    (torch.full((8, 1, 28, 28), 255.0), ValueError, "data must be images in [-1, 1]"),
    (torch.full((8, 1, 28, 28), float("nan")), ValueError, "data hold NaN"),
    (torch.zeros(0, 1, 28, 28), ValueError, "data holds no samples"),
    (torch.zeros(8, 1, 28, 28, dtype=torch.float64), TypeError, "data is torch.float64 but the model's weights are "
     "torch.float32: convert it, e.g. data.float()"),
])
def test_bad_training_data_is_refused(data, error, words):
    with pytest.raises(error) as info:
        dh.train(dh.UNet(base_channels=8), dh.NoiseSchedule("linear", 10), data, steps=1, progress=False)
    assert words in str(info.value)


def test_images_in_zero_one_get_a_warning():
    with pytest.warns(UserWarning, match=re.escape("x * 2 - 1")):
        dh.train(dh.UNet(base_channels=8), dh.NoiseSchedule("linear", 10), torch.rand(8, 1, 28, 28), steps=1,
                 batch_size=2, progress=False)


class ExplodesAtStepThree(torch.nn.Module):
    """A 'model' whose output becomes infinite at its third call: training must stop there."""

    def __init__(self):
        super().__init__()
        self.weight, self.calls = torch.nn.Parameter(torch.ones(1)), 0

    def forward(self, x, t, y=None):
        self.calls += 1
        return x * self.weight * (float("inf") if self.calls == 3 else 1.0)


def test_a_non_finite_loss_stops_training_at_its_step():
    model = ExplodesAtStepThree()
    with pytest.raises(FloatingPointError) as info:
        dh.train(model, dh.NoiseSchedule("linear", 10), torch.randn(16, 2), steps=10, batch_size=4, ema_decay=0.0,
                 progress=False)
    assert "at step 3" in str(info.value) and "lr = " in str(info.value)
    assert torch.isfinite(model.weight).all(), "the weights are those of the step before"


@pytest.mark.parametrize("model, error, words", [
    (lambda: (dh.UNet(base_channels=8), dh.NoiseSchedule("linear", 10)), TypeError,
     "model is a tuple of 2 items, not a model: dh.load_pretrained returns (model, schedule); unpack it"),
    (lambda: (lambda x, t: x), TypeError, "model must be a torch.nn.Module with weights to train"),
])
def test_what_is_not_a_trainable_model_is_refused(model, error, words):
    with pytest.raises(error) as info:
        dh.train(model(), dh.NoiseSchedule("linear", 10), torch.rand(8, 1, 28, 28) * 2 - 1, steps=1, progress=False)
    assert words in str(info.value)


def test_ema_decay_zero_makes_the_model_its_own_average():
    """An average with decay 0 is the latest weights: ema_model is the model itself (never None),
    so sampling from result.ema_model works whatever ema_decay was."""
    model = dh.MLPDenoiser(hidden_dim=16)
    result = dh.train(model, dh.NoiseSchedule("linear", 10), torch.randn(32, 2), steps=3, batch_size=8,
                      ema_decay=0.0, progress=False)
    assert result.ema_model is model
    assert dh.ddim_sample(result.ema_model, dh.NoiseSchedule("linear", 10), torch.randn(4, 2), 2, progress=False).shape == (4, 2)


def test_a_diverging_loss_is_warned_about_once_with_the_step():
    """lr = 1 without clipping drives the loss to 1e20 and beyond, every value finite: warned at
    the first step whose loss exceeds DIVERGENCE_FACTOR times the first step's, and only there."""
    from diffusion_helpers.training import DIVERGENCE_FACTOR
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = dh.train(dh.MLPDenoiser(), dh.NoiseSchedule(), dh.make_toy_2d(), steps=200, lr=1.0, grad_clip=None,
                          progress=False)
    diverging = [w for w in caught if "the training diverges" in str(w.message)]
    assert len(diverging) == 1
    step = next(i for i, loss in enumerate(result.losses) if loss > DIVERGENCE_FACTOR * result.losses[0]) + 1
    assert f"at step {step}:" in str(diverging[0].message) and "lower the learning rate (lr = 1;" in str(diverging[0].message)
    with warnings.catch_warnings():  # a healthy run says nothing
        warnings.simplefilter("error")
        dh.train(dh.MLPDenoiser(hidden_dim=16), dh.NoiseSchedule(), dh.make_toy_2d(), steps=50, progress=False)


def test_lr_zero_warns_that_nothing_is_learned():
    with pytest.warns(UserWarning, match="nothing is learned"):
        dh.TrainConfig(lr=0.0)


def test_a_loss_that_stays_above_predicting_zero_is_warned_with_its_cause():
    """Predicting zero noise costs E[eps^2] = 1: a run whose loss stays above that after the first
    steps learns nothing useful. The issue's lr = 1.0 curve (1.0, then 89.6, then about 2: never
    100 times the first loss, so the divergence warning stays silent) is warned, naming the jump;
    a loss stuck above 1 from the start names a learning rate too low; curves near 1 or below
    say nothing."""
    from diffusion_helpers.loss_warnings import BASELINE_WINDOW, warn_if_worse_than_zero
    noise = torch.randn(300, generator=torch.Generator().manual_seed(0)).tolist()
    jumped = [1.0, 89.6] + [2.0 + 0.3 * e for e in noise[:148]]
    with pytest.warns(UserWarning, match=r"above 1, the loss of always predicting zero noise .* jumped to 89\.6 at "
                                         r"step 2: the learning rate is too high \(lr = 1; try 1e-3\)"):
        assert warn_if_worse_than_zero(jumped[:2 * BASELINE_WINDOW], lr=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not warn_if_worse_than_zero(jumped[:2 * BASELINE_WINDOW - 1], lr=1.0)  # the first steps: not judged yet
        assert not warn_if_worse_than_zero(jumped[:2 * BASELINE_WINDOW + 20], lr=1.0, warmup_steps=50)  # nor a warm-up
        at_zero = [1.0 + 0.05 * e for e in noise]  # a model that predicts zero, give or take: no better, not worse
        assert not warn_if_worse_than_zero(at_zero, lr=1e-3)
        healthy = [1.2] + [0.3 + 0.05 * e for e in noise]
        assert not warn_if_worse_than_zero(healthy, lr=1e-3)
    stuck = [1.25 + 0.05 * e for e in noise]
    with pytest.warns(UserWarning, match=r"barely fallen from the first step's .*: train for more steps, or raise "
                                         r"the learning rate \(lr = 1e-07; 1e-3 is a good start\)"):
        assert warn_if_worse_than_zero(stuck, lr=1e-7)
    with pytest.warns(UserWarning, match=r"train for more steps$"):  # lr = 1e-3 already: no advice to raise it
        assert warn_if_worse_than_zero(stuck, lr=1e-3)
    issue = [1.0, 89.6, 2.1, 1.9, 2.2, 2.0, 1.8, 2.05]  # notebook 4's 8 quick steps at lr = 1: final_loss 12.8
    with pytest.warns(UserWarning, match=r"averaged 2\.01 over steps 5 to 8, above 1.* jumped to 89\.6 at step 2"):
        assert warn_if_worse_than_zero(issue, lr=1.0, final=True)  # at the end of a short run
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not warn_if_worse_than_zero(issue, lr=1.0)  # during it, only after 2 * BASELINE_WINDOW steps
        quick = [0.999, 0.991, 0.965, 0.945, 0.919, 0.881, 0.862, 0.835]  # notebook 4's 8 quick steps at lr = 2e-3
        assert not warn_if_worse_than_zero(quick, lr=2e-3, final=True)


class ConstantOffset(torch.nn.Module):
    """Predicts the same noise, 1 in every value, whatever x_t: loss E[(eps - 1)^2] = 2."""

    def __init__(self):
        super().__init__()
        self.offset = torch.nn.Parameter(torch.ones(2))

    def forward(self, x, t, y=None):
        return self.offset.expand_as(x)


def test_train_warns_once_when_the_loss_stays_above_predicting_zero():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = dh.train(ConstantOffset(), dh.NoiseSchedule("linear", 100), dh.make_toy_2d(n=200), steps=120,
                          batch_size=64, lr=1e-7, progress=False)
    worse = [w for w in caught if "the loss of always predicting zero noise" in str(w.message)]
    assert len(worse) == 1 and result.final_loss > 1.5, [str(w.message) for w in caught]
    assert "over steps 51 to 100" in str(worse[0].message) and worse[0].filename == __file__  # the student's line
    with pytest.warns(UserWarning, match="over steps 5 to 8, above 1.*barely fallen"):  # a short run: at its end
        dh.train(ConstantOffset(), dh.NoiseSchedule("linear", 100), dh.make_toy_2d(n=200), steps=8, batch_size=64,
                 lr=1e-7, progress=False)


def test_healthy_training_as_the_notebooks_run_it_says_nothing():
    """Notebooks 3 and 6 train an MLPDenoiser for 300 and 400 steps at lr = 2e-3 in quick mode: no
    warning may fire there (the loss falls to about 0.3 within 50 steps)."""
    points, labels = dh.make_toy_classes(1500)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = dh.train(dh.MLPDenoiser(num_classes=3), dh.NoiseSchedule(), points, labels, steps=200, batch_size=256,
                          lr=2e-3, progress=False)
    assert result.final_loss < 0.5


def test_a_conditional_model_needs_labels():
    """Without labels a conditional model would learn only the null label, silently."""
    with pytest.raises(ValueError, match=r"labels are needed: this model was built with num_classes=3.*only the null label"):
        dh.train(dh.MLPDenoiser(num_classes=3), dh.NoiseSchedule("linear", 100), dh.make_toy_2d(n=100), steps=2,
                 progress=False)


@pytest.mark.parametrize("options, error, words", [
    (dict(seed=0.5), TypeError, "seed must be an integer"),
    (dict(seed=1.0), TypeError, "seed must be an integer such as 0, got the float 1.0: write 1"),
    (dict(progress="no"), TypeError, "progress must be True or False, got 'no'"),
    (dict(bf16="yes"), TypeError, "bf16 must be True, False or None"),
    (dict(callback=5), TypeError, "callback must be a function of the TrainState"),
])
def test_odd_training_options_name_the_option(options, error, words):
    with pytest.raises(error, match=re.escape(words)):
        dh.train(dh.MLPDenoiser(hidden_dim=8), dh.NoiseSchedule("linear", 10), dh.make_toy_2d(n=50), steps=1, **options)


def test_grad_norms_are_the_norms_before_clipping_and_clipping_caps_them():
    """Each step's recorded norm is that of all gradients as one vector; after clipping to c the
    gradients' norm is min(c, that norm); with grad_clip=None it is the norm itself."""
    def gradient_norm(model):
        return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]).norm().item()

    for grad_clip in (None, 0.05):
        seen = []
        for state in dh.train_steps(dh.MLPDenoiser(), dh.NoiseSchedule("linear", 100), dh.make_toy_2d(n=512),
                                    steps=12, batch_size=64, grad_clip=grad_clip, progress=False):
            seen.append((state.grad_norm, gradient_norm(state.model)))
        assert len(state.grad_norms) == 12 and [norm for norm, _ in seen] == state.grad_norms
        for norm, after in seen:
            expected = norm if grad_clip is None else min(grad_clip, norm)
            assert after == pytest.approx(expected, rel=1e-4)
        if grad_clip is not None:
            assert max(state.grad_norms) > grad_clip, "the test must clip some steps"
    result = dh.train(dh.MLPDenoiser(), dh.NoiseSchedule("linear", 100), dh.make_toy_2d(n=512), steps=5, progress=False)
    assert len(result.grad_norms) == 5 and all(norm > 0 for norm in result.grad_norms)
