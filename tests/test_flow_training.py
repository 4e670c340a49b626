"""dh.train with objective="flow_matching": it learns a 2D toy set, refuses the mismatched pairs,
and warns against the right baseline."""
import warnings

import pytest
import torch

import diffusion_helpers as dh


def test_a_few_hundred_flow_matching_steps_learn_a_2d_toy():
    """Euler with 20 steps from a velocity MLP trained for 300 steps lands much closer to the moons
    than the noise it starts from: the sliced Wasserstein distance to the data falls below half the
    noise's (0.34 for the standardised moons; the floor, two samples of the data, is about 0.01)."""
    points = dh.make_toy_2d("moons", 2000)
    torch.manual_seed(0)
    model = dh.MLPDenoiser(continuous_time=True)
    result = dh.train(model, None, points, steps=300, batch_size=256, lr=2e-3, progress=False, objective="flow_matching")
    assert result.steps == 300 and result.final_loss < result.losses[0]
    noise = torch.randn(2000, 2, generator=torch.Generator().manual_seed(1))
    samples = dh.flow_euler_sample(result.ema_model, noise, 20, progress=False)
    distance, noise_distance = dh.sliced_wasserstein(samples, points), dh.sliced_wasserstein(noise, points)
    assert distance < 0.5 * noise_distance, (distance, noise_distance)


def test_flow_matching_training_is_reproducible_and_leaves_the_diffusion_objective_alone():
    points = dh.make_toy_2d("spiral", 300)
    runs = []
    for _ in range(2):
        torch.manual_seed(5)
        runs.append(dh.train(dh.MLPDenoiser(hidden_dim=16, continuous_time=True), None, points, steps=20, seed=3,
                             progress=False, objective="flow_matching").losses)
    assert runs[0] == runs[1]
    assert dh.TrainConfig().objective == "diffusion"


@pytest.mark.parametrize("model, schedule, options, error, words", [
    (dh.MLPDenoiser(continuous_time=True), dh.NoiseSchedule("linear", 10), dict(objective="flow_matching"), TypeError,
     "schedule must be None with objective='flow_matching'"),
    (dh.MLPDenoiser(continuous_time=True), None, dict(), TypeError, "None only with objective='flow_matching'"),
    (dh.MLPDenoiser(continuous_time=True), dh.NoiseSchedule("linear", 10), dict(), TypeError,
     r"a velocity model\): train it with"),
    (dh.MLPDenoiser(continuous_time=True), None, dict(objective="flow_matching", loss_weighting="min_snr"), ValueError,
     "flow matching has no schedule"),
    (dh.MLPDenoiser(continuous_time=True), None, dict(objective="velocity"), ValueError, "objective must be one of"),
])
def test_mismatched_objective_schedule_and_model_are_refused(model, schedule, options, error, words):
    with pytest.raises(error, match=words):
        list(dh.train_steps(model, schedule, torch.randn(10, 2), steps=1, progress=False, **options))


def test_a_ddpm_model_is_refused_by_flow_matching_at_its_first_step():
    with pytest.raises(TypeError, match="continuous_time=True"):
        dh.train(dh.MLPDenoiser(), None, torch.randn(10, 2), steps=1, progress=False, objective="flow_matching")


class ConstantVelocity(torch.nn.Module):
    """Predicts v = 1 in every value, whatever x_t and t: loss E[(eps - x0 - 1)^2] = 2 + E[x0^2] for
    data of mean 0, one more than zero velocity's 1 + E[x0^2]."""

    def __init__(self):
        super().__init__()
        self.offset = torch.nn.Parameter(torch.ones(2))

    def forward(self, x, t, y=None):
        return self.offset.expand_as(x)


def test_a_flow_model_worse_than_zero_velocity_is_warned_against_that_baseline():
    """The baseline of flow matching is the loss of predicting zero velocity, 1 + E[x0^2] (2 for
    the standardised toy sets), not DDPM's 1: the warning names it, and a healthy run says nothing."""
    points = dh.make_toy_2d(n=200)
    baseline = 1 + points.double().square().mean().item()
    with pytest.warns(UserWarning, match=rf"above {baseline:.3g}, the loss of always predicting zero velocity"):
        dh.train(ConstantVelocity(), None, points, steps=8, batch_size=64, lr=1e-7, progress=False,
                 objective="flow_matching")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = dh.train(dh.MLPDenoiser(hidden_dim=64, continuous_time=True), None, points, steps=120, batch_size=128,
                          lr=2e-3, progress=False, objective="flow_matching")
    assert result.final_loss < baseline
