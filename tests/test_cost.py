"""dh.measure_cost: model calls counted (not assumed), seconds the median of repeated runs."""
import time

import pytest
import torch

import diffusion_helpers as dh


def tiny_setup(num_classes=None):
    torch.manual_seed(0)
    model = dh.UNet(base_channels=8, num_classes=num_classes).eval()
    return model, dh.NoiseSchedule("cosine", 1000), torch.randn(3, 1, 28, 28)


@pytest.mark.parametrize("name", sorted(dh.SAMPLERS))
def test_every_sampler_calls_the_model_once_a_step(name):
    """DDPM and DDIM: one call a step. DPM-Solver++(2M) and UniPC are multistep (solvers.py:
    "No extra model calls"; UniC "reuses the model call the next step makes anyway"): n steps,
    n calls as well."""
    model, schedule, x_T = tiny_setup()
    for num_steps in (1, 4, 7):
        cost = dh.measure_cost(lambda m: dh.SAMPLERS[name](m, schedule, x_T, num_steps, progress=False), model,
                               repeats=1)
        assert (cost.model_calls, cost.rows) == (num_steps, num_steps * len(x_T))
        assert cost.result.shape == x_T.shape


def test_guided_steps_are_one_call_of_twice_the_rows():
    model, schedule, x_T = tiny_setup(num_classes=10)
    y = torch.tensor([1, 2, 3])

    def calls(**options):
        cost = dh.measure_cost(lambda m: dh.ddim_sample(m, schedule, x_T, 10, y=y, progress=False, **options), model,
                               repeats=1)
        return cost.model_calls, cost.rows

    assert calls(guidance_scale=1.0) == (10, 30)   # plain conditional: one call of B rows
    assert calls(guidance_scale=0.0) == (10, 30)   # unconditional: the null label only
    assert calls(guidance_scale=3.0) == (10, 60)   # guided: conditional and null rows in one batch of 2B
    # guided only at t in [500, 999]: the trailing grid 999, 899, ..., 99 has 5 such steps
    assert calls(guidance_scale=3.0, guidance_interval=(500, 999)) == (10, 5 * 6 + 5 * 3)


def test_seconds_are_the_median_of_the_repeats_with_their_spread():
    durations = iter([0.60, 0.02, 0.30, 0.10])  # a warm-up run, then three timed runs

    def run(model):
        time.sleep(next(durations))
        return model(torch.zeros(2, 1))

    # a sleep never ends early but may end late on a busy machine: each bound is the sleep itself below and
    # the next longer sleep above (so 80 ms of lateness is tolerated, and no other order passes)
    cost = dh.measure_cost(run, lambda x: x, repeats=3, warmup=1)
    assert cost.model_calls == 1 and cost.rows == 2 and cost.repeats == 3
    assert 0.10 <= cost.seconds < 0.30  # the median: the slow warm-up (0.60) is not counted
    assert 0.02 <= cost.low < 0.10 and 0.30 <= cost.high < 0.60
    assert cost.low <= cost.seconds <= cost.high and cost.value == cost.seconds
    assert "s [" in f"{cost}"


def test_the_counting_model_passes_for_the_model():
    model, schedule, _ = tiny_setup(num_classes=10)
    counter = dh.cost.CountingModel(model)
    assert counter.num_classes == 10 and counter.data_range == model.data_range
    assert next(counter.parameters()) is next(model.parameters())


@pytest.mark.parametrize("kwargs, error, words", [
    ({"run": None}, TypeError, "run must be a function of the model"),
    ({"repeats": 0}, ValueError, "repeats must be in [1, inf]"),
    ({"warmup": -1}, ValueError, "warmup must be in [0, inf]"),
    ({"model": "unet"}, TypeError, "model must be a model"),
])
def test_bad_arguments_are_named(kwargs, error, words):
    arguments = {"run": lambda m: m(torch.zeros(1)), "model": lambda x: x, **kwargs}
    with pytest.raises(error) as info:
        dh.measure_cost(**arguments)
    assert words in str(info.value)


def test_a_mean_carries_its_standard_error():
    values = torch.tensor([1.0, 2.0, 3.0, 4.0])
    estimate = dh.mean_estimate(values)
    assert estimate.value == 2.5 and abs(estimate.error - (5 / 3) ** 0.5 / 2) < 1e-12  # s = sqrt(5/3), N = 4
    assert estimate.low < 2.5 < estimate.high
    with pytest.raises(ValueError, match="at least 2 measurements"):
        dh.mean_estimate([1.0])
    with pytest.raises(ValueError, match="of which 1 NaN or inf"):
        dh.mean_estimate([float("nan"), 1.0])


def test_a_distance_interval_contains_the_distance_and_separates_far_clouds():
    generator = torch.Generator().manual_seed(0)
    real = torch.randn(500, 2, generator=generator)
    near = torch.randn(500, 2, generator=generator)
    far = torch.randn(500, 2, generator=generator) + 3.0
    close, distant = (dh.distance_interval(dh.sliced_wasserstein, cloud, real, resamples=30) for cloud in (near, far))
    assert close.low <= close.value <= close.high and distant.low <= distant.value <= distant.high
    assert dh.compare(close, distant) == "A < B"  # a 3-sigma shift is far beyond the resampling noise
    with pytest.raises(ValueError, match="at least 2 points each, got 0 and 500"):
        dh.distance_interval(dh.sliced_wasserstein, torch.zeros(0, 2), real)
    with pytest.raises(TypeError, match="distance must be a function"):
        dh.distance_interval("sliced", near, real)
