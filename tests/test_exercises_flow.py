"""Notebook 7's exercise checks: the right answers pass, and each usual slip gets its own hint."""
import pytest
import torch

from diffusion_helpers import exercises


def run(check, function, capsys, *more):
    ok = check(function, *more)
    return ok, capsys.readouterr().out


def loss_with(mix=lambda x0, noise, t: (1 - t) * x0 + t * noise, target=lambda x0, noise: noise - x0,
              time=lambda t: t, reduce=lambda error: error.square().mean()):
    """A flow-matching loss answer, with one of its pieces swapped for a slip."""
    def answer(model, x0, t, noise):
        s = t.reshape(-1, *([1] * (x0.dim() - 1)))
        return reduce(model(mix(x0, noise, s), time(t)) - target(x0, noise))
    return answer


@pytest.mark.parametrize("data_shape", [(2,), (1, 8, 8)])
def test_the_right_flow_matching_loss_passes_for_points_and_images(data_shape, capsys):
    ok, out = run(exercises.check_flow_matching_loss, loss_with(), capsys, data_shape)
    assert ok and "Correct" in out
    ok, out = run(exercises.check_flow_matching_loss, loss_with(), capsys, data_shape)
    assert ok


@pytest.mark.parametrize("answer, words", [
    (loss_with(target=lambda x0, noise: x0 - noise), "the sign of the velocity"),
    (loss_with(mix=lambda x0, noise, t: t * x0 + (1 - t) * noise), "t is reversed"),
    (loss_with(mix=lambda x0, noise, t: t * x0 + (1 - t) * noise, target=lambda x0, noise: x0 - noise),
     "Lipman et al. 2023's direction"),
    (loss_with(time=lambda t: 1000 * t), "did you multiply t by 1000?"),
    (loss_with(time=lambda t: (1000 * t).long()), "integer timesteps belong to DDPM"),
    (loss_with(target=lambda x0, noise: noise), "not the noise itself"),
    (loss_with(mix=lambda x0, noise, t: x0), "not the clean x0"),
    (loss_with(mix=lambda x0, noise, t: (1 - t).sqrt() * x0 + t.sqrt() * noise), "no square roots"),
    (loss_with(reduce=lambda error: error.square().sum()), "sum of squares"),
    (loss_with(reduce=lambda error: error.square().flatten(1).mean(1)), "one loss a sample"),
    (lambda model, x0, t, noise: (model((1 - t) * x0 + t * noise, t) - (noise - x0)).square().mean(),
     "reshape it to (B, 1)"),
    (lambda model, x0, t, noise: loss_with()(model, x0, t, torch.randn_like(noise)), "draws its own random numbers"),
])
def test_each_slip_in_the_flow_matching_loss_gets_its_hint(answer, words, capsys):
    ok, out = run(exercises.check_flow_matching_loss, answer, capsys)
    assert not ok and words in out, out


def step_with(direction=1.0, at=lambda t, t_next: t, scale=1.0):
    def answer(model, x, t, t_next):
        return x + direction * (t_next - t) * model(x, scale * at(t, t_next))
    return answer


def test_the_right_euler_step_passes_with_a_float_or_a_tensor_time(capsys):
    ok, out = run(exercises.check_euler_step, step_with(), capsys)
    assert ok and "Correct" in out
    tensor_time = lambda model, x, t, t_next: x + (t_next - t) * model(x, torch.full((x.shape[0],), t))  # noqa: E731
    assert run(exercises.check_euler_step, tensor_time, capsys, (1, 8, 8))[0]


@pytest.mark.parametrize("answer, words", [
    (step_with(direction=-1.0), "you stepped the wrong way"),
    (step_with(at=lambda t, t_next: t_next), "where you are, v(x, t), not at t_next"),
    (step_with(at=lambda t, t_next: 1 - t), "not 1 - t"),
    (step_with(scale=1000.0), "did you multiply t by 1000?"),
    (lambda model, x, t, t_next: x + model(x, t), "multiply the velocity by the step"),
    (lambda model, x, t, t_next: x - t * model(x, t), "a jump all the way to t = 0"),
])
def test_each_slip_in_the_euler_step_gets_its_hint(answer, words, capsys):
    ok, out = run(exercises.check_euler_step, answer, capsys)
    assert not ok and words in out, out


def test_an_answer_that_calls_the_package_proves_nothing(capsys):
    import diffusion_helpers as dh
    ok, out = run(exercises.check_flow_matching_loss, lambda model, x0, t, noise: dh.flow_matching_loss(model, x0, t, noise),
                  capsys)
    assert not ok and "calls the package's own" in out
    ok, out = run(exercises.check_euler_step, lambda model, x, t, t_next: dh.euler_step(x, t, t_next, model(x, t)), capsys)
    assert not ok and "calls the package's own" in out
