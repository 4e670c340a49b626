"""Classifier-free guidance: the formula, one batched model call a step, sweeps of scales, the null label."""
import warnings

import pytest
import torch
from conftest import TwoGaussianPredictor, standard_errors

import diffusion_helpers as dh

N = 4000


class Recorder:
    """A conditional 'model' whose two predictions are known: 1 for the null label, 3 + y otherwise."""
    num_classes = 4

    def __init__(self):
        self.batch_sizes = []

    def __call__(self, x, t, y=None):
        self.batch_sizes.append(x.shape[0])
        if y is None:
            return torch.ones_like(x)
        y = y.reshape(-1, *([1] * (x.dim() - 1))).to(x.dtype)
        return torch.where(y == dh.NULL_LABEL, torch.ones_like(x), 3.0 + y + 0 * x)


def test_guided_noise_is_the_formula_in_one_batched_call():
    model, x, y = Recorder(), torch.zeros(3, 2), torch.tensor([0, 1, 2])
    eps = dh.guided_noise(model, x, 5, y, 2.5)
    assert model.batch_sizes == [6], "conditional and null rows go through the model as one batch"
    conditional = (3.0 + y.double())[:, None].expand(3, 2)
    torch.testing.assert_close(eps.double(), 1.0 + 2.5 * (conditional - 1.0))


def test_ours_is_ho_and_salimans_w_plus_one():
    """Ho & Salimans eq. 6: eps = (1 + w) eps(y) - w eps(null); ours with guidance_scale = w + 1."""
    model, x, y = Recorder(), torch.zeros(3, 2), torch.tensor([0, 1, 3])
    eps_conditional, eps_null = model(x, 0, y), model(x, 0, None)
    for w in [0.0, 0.5, 2.0, 6.5]:
        theirs = (1 + w) * eps_conditional - w * eps_null
        torch.testing.assert_close(dh.guided_noise(model, x, 0, y, guidance_scale=w + 1), theirs)


def test_scales_zero_and_one_take_one_plain_call():
    model, x, y = Recorder(), torch.zeros(3, 2), torch.tensor([0, 1, 2])
    assert dh.guided_noise(model, x, 0, y, 0.0).eq(1.0).all()       # unconditional: the null label
    assert torch.equal(dh.guided_noise(model, x, 0, y, 1.0), model(x, 0, y))
    assert model.batch_sizes == [3, 3, 3]


def test_null_label_rows_are_unconditional_at_any_scale():
    model, x = Recorder(), torch.zeros(2, 2)
    eps = dh.guided_noise(model, x, 0, torch.tensor([2, dh.NULL_LABEL]), 4.0)
    assert eps[1].eq(1.0).all() and eps[0].eq(1.0 + 4.0 * 4.0).all()


def test_a_sweep_of_scales_in_one_batch_equals_one_run_per_scale():
    s = dh.NoiseSchedule("linear", 1000)
    model = TwoGaussianPredictor(s)
    scales = [0.0, 1.0, 2.0, 5.0]
    x_T = torch.randn(50, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.ones(50, dtype=torch.long)
    sweep = dh.ddim_sample(model, s, x_T.repeat(4, 1), 20, y=y.repeat(4),
                           guidance_scale=torch.tensor(scales).repeat_interleave(50).double(), progress=False)
    for i, scale in enumerate(scales):
        alone = dh.ddim_sample(model, s, x_T, 20, y=y, guidance_scale=scale, progress=False)
        torch.testing.assert_close(sweep[50 * i:50 * (i + 1)], alone, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("sampler, steps", [("ddpm", 100), ("ddim", 10), ("dpm", 7), ("unipc", 6)])
def test_one_model_call_per_guided_step(sampler, steps):
    s = dh.NoiseSchedule("linear", 100)
    model = TwoGaussianPredictor(s)
    x_T, y = torch.randn(8, 1), torch.tensor([0, 1] * 4)
    if sampler == "ddpm":
        dh.ddpm_sample(model, s, x_T, y=y, guidance_scale=3.0, progress=False)
    elif sampler == "ddim":
        dh.ddim_sample(model, s, x_T, steps, y=y, guidance_scale=3.0, progress=False)
    elif sampler == "dpm":
        dh.dpm_solver_sample(model, s, x_T, steps, y=y, guidance_scale=3.0, progress=False)
    else:
        dh.unipc_sample(model, s, x_T, steps, y=y, guidance_scale=3.0, progress=False)
    assert model.calls == steps


def check_gaussian(samples, mean, std, slack=0.01):
    se_mean, se_std = standard_errors(samples.numel(), std)
    assert abs(samples.mean().item() - mean) < 5 * se_mean + slack, samples.mean().item()
    assert abs(samples.std().item() - std) < 5 * se_std + slack, samples.std().item()


def test_guidance_scale_zero_gives_the_mixture_and_one_gives_the_class():
    s = dh.NoiseSchedule("linear", 1000)
    model = TwoGaussianPredictor(s, m=2.0, s=0.5)
    x_T = torch.randn(N, 1, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    y = torch.ones(N, dtype=torch.long)
    mixture = dh.ddpm_sample(model, s, x_T, y=y, guidance_scale=0.0, generator=torch.Generator().manual_seed(10),
                             progress=False)
    right = mixture[mixture > 0]
    # each half of the mixture holds a share 1/2: binomial standard error sqrt(1/4 / N)
    assert abs(right.numel() / N - 0.5) < 5 * (0.25 / N) ** 0.5
    check_gaussian(right, mean=2.0, std=0.5)
    check_gaussian(mixture[mixture < 0], mean=-2.0, std=0.5)
    conditional = dh.ddpm_sample(model, s, x_T, y=y, guidance_scale=1.0, generator=torch.Generator().manual_seed(10),
                                 progress=False)
    check_gaussian(conditional, mean=2.0, std=0.5)


def test_the_shipped_conditional_u_net_guides_in_one_batch():
    model, s = dh.load_pretrained("mnist-cond")
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    y, scales = torch.tensor([3, 3, 7, 7]), torch.tensor([0.0, 2.0, 1.0, 5.0])
    with torch.no_grad():
        eps = dh.guided_noise(model, x, 500, y, scales)
        t = torch.full((4,), 500)
        eps_null, eps_conditional = model(x, t), model(x, t, y)
    torch.testing.assert_close(eps, eps_null + scales[:, None, None, None] * (eps_conditional - eps_null),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("y, scale, error, words", [
    (torch.tensor([0, 4]), 2.0, ValueError, "NULL_LABEL"),         # 4 = num_classes is not a null label
    (torch.tensor([0, -3]), 2.0, ValueError, "[0, 3]"),
    (torch.tensor([[0], [1]]), 2.0, ValueError, "(2,)"),
    (torch.tensor([0.0, 1.0]), 2.0, TypeError, "integer"),
    (None, 2.0, ValueError, "needs class labels"),
    (torch.tensor([0, 1]), torch.tensor([1.0, 2.0, 3.0]), ValueError, "(2,)"),
    (torch.tensor([0, 1]), torch.tensor([1, 2]), ValueError, "float"),
    (torch.tensor([0, 1]), torch.tensor([1.0, -2.0]), ValueError, ">= 0"),
    (torch.tensor([0, 1]), torch.tensor([1.0, float("nan")]), ValueError, "finite"),
    (torch.tensor([0, 1]), float("inf"), ValueError, "finite"),
    (torch.tensor([0, 1]), "3", TypeError, "guidance_scale"),
])
def test_bad_labels_and_scales_are_refused(y, scale, error, words):
    model = Recorder()
    with pytest.raises(error) as info:
        dh.guided_noise(model, torch.zeros(2, 2), 0, y, scale)
    assert words in str(info.value)
    assert not model.batch_sizes


class TimeRecorder(Recorder):
    """A Recorder whose prediction also depends on x and t, and that logs (t, batch size) a call."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __call__(self, x, t, y=None):
        self.calls.append((int(t[0]), x.shape[0]))
        return 0.1 * x * (1 + t.reshape(-1, *([1] * (x.dim() - 1))) / 100) + super().__call__(x, t, y)


def manual_interval_ddim(model, s, x_T, timesteps, y, scale, interval):
    """The definition, step by step: guidance_scale inside [t_low, t_high], 1 (plain conditional) outside."""
    x, falling = x_T, list(timesteps)
    for t, t_prev in zip(falling, falling[1:] + [-1]):
        step_scale = scale if interval[0] <= t <= interval[1] else 1.0
        x, _ = dh.ddim_step(s, x, t, t_prev, dh.guided_noise(model, x, t, y, step_scale))
    return x


@pytest.mark.parametrize("interval", [(0, 99), (30, 70), (0, 40), (60, 99), (50, 50)])
def test_guidance_interval_guides_only_inside_it(interval):
    s, model = dh.NoiseSchedule("linear", 100), TimeRecorder()
    x_T, y = torch.randn(3, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64), torch.tensor([0, 1, 2])
    timesteps = dh.make_timesteps(100, 10)
    got = dh.ddim_sample(model, s, x_T, timesteps=timesteps, y=y, guidance_scale=4.0, guidance_interval=interval,
                         progress=False)
    inside = [t for t in timesteps.tolist() if interval[0] <= t <= interval[1]]
    assert model.calls == [(t, 6 if t in inside else 3) for t in timesteps.tolist()], "2B rows inside, B outside"
    expected = manual_interval_ddim(TimeRecorder(), s, x_T, timesteps.tolist(), y, 4.0, interval)
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    if interval == (0, 99):  # the whole range is plain guidance
        everywhere = dh.ddim_sample(TimeRecorder(), s, x_T, timesteps=timesteps, y=y, guidance_scale=4.0, progress=False)
        torch.testing.assert_close(got, everywhere, rtol=0, atol=0)


@pytest.mark.parametrize("sampler", [dh.ddpm_sample, dh.dpm_solver_sample, dh.unipc_sample])
def test_every_sampler_takes_a_guidance_interval(sampler):
    s, model = dh.NoiseSchedule("linear", 100), TimeRecorder()
    x_T, y = torch.randn(3, 2, generator=torch.Generator().manual_seed(4)), torch.tensor([0, 1, 2])
    sampler(model, s, x_T, timesteps=[90, 60, 30, 10], y=y, guidance_scale=3.0, guidance_interval=(20, 70),
            progress=False)
    assert model.calls == [(90, 3), (60, 6), (30, 6), (10, 3)]


@pytest.mark.parametrize("interval, error, words", [
    ((10,), TypeError, "pair (t_low, t_high)"),
    ("10-50", TypeError, "pair (t_low, t_high)"),
    ((50, 10), ValueError, "t_low <= t_high"),
    ((0, 100), ValueError, "guidance_interval[1] must be in [0, 99]"),
    ((-1, 50), ValueError, "guidance_interval[0] must be in [0, 99]"),
    ((0.2, 0.8), TypeError, "not noise levels"),
    ((500.5, 999), TypeError, "not noise levels"),
])
def test_bad_guidance_intervals_are_refused(interval, error, words):
    s, model = dh.NoiseSchedule("linear", 100), TimeRecorder()
    with pytest.raises(error) as info:
        dh.ddim_sample(model, s, torch.randn(2, 2), 10, y=torch.tensor([0, 1]), guidance_scale=2.0,
                       guidance_interval=interval, progress=False)
    assert words in str(info.value)
    assert model.calls == [], "refused before any model call"


def test_a_guidance_scale_far_beyond_any_use_is_warned_about():
    """A scale of a million gives noise estimates near 1e6 and no samples: warned above
    MAX_SENSIBLE_SCALE (20, twice notebook 6's largest), the warning pointing at the caller's
    line; the scales the notebooks use say nothing."""
    from diffusion_helpers.guidance import MAX_SENSIBLE_SCALE
    model, x = Recorder(), torch.zeros(2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for scale in (0.0, 1.0, 7.5, 10.0, MAX_SENSIBLE_SCALE):
            dh.guided_noise(model, x, 0, torch.tensor([0, 1]), scale)
    for scale in (1e6, torch.tensor([3.0, 1e6])):
        with pytest.warns(UserWarning, match=r"guidance_scale 1e\+06 is far beyond guidance's useful range") as caught:
            dh.guided_noise(model, x, 0, torch.tensor([0, 1]), scale)
        assert caught[0].filename == __file__
    with pytest.warns(UserWarning, match="far beyond"):
        dh.ddim_sample(model, dh.NoiseSchedule("linear", 100), torch.randn(2, 2), 2, y=torch.tensor([0, 1]),
                       guidance_scale=50.0, progress=False)
