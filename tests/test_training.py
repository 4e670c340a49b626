"""The one training loop: it learns, it is reproducible, and it handles labels, EMA and budgets."""
import pytest
import torch

import diffusion_helpers as dh


def evaluation_loss(model, schedule, points, seed=0, n=20_000):
    """The loss (eq. 14) on one fixed large batch of (x_0, t, eps)."""
    generator = torch.Generator().manual_seed(seed)
    x0 = points[torch.randint(len(points), (n,), generator=generator)]
    t = torch.randint(schedule.num_timesteps, (n,), generator=generator)
    x_t, noise = schedule.q_sample(x0, t, torch.randn(x0.shape, generator=generator))
    with torch.no_grad():
        return torch.nn.functional.mse_loss(model(x_t, t), noise).item()


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
    dropped = torch.cat(seen_labels).eq(model.null_label).float().mean().item()
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


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(steps=0), ValueError, "steps"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(label_dropout=1.5), ValueError, "label_dropout"),
    (dict(ema_decay=-0.1), ValueError, "ema_decay"),
    (dict(learning_rate=0.1), TypeError, "learning_rate"),
])
def test_bad_training_options_are_refused(kwargs, error, words):
    with pytest.raises(error) as info:
        dh.train(dh.MLPDenoiser(), dh.NoiseSchedule("linear", 10), torch.randn(10, 2), **kwargs)
    assert words in str(info.value)


def test_labels_need_a_conditional_model():
    with pytest.raises(ValueError, match="num_classes"):
        dh.train(dh.MLPDenoiser(), dh.NoiseSchedule("linear", 10), torch.randn(10, 2), torch.zeros(10, dtype=torch.long))
