"""The exercise checks accept the right answer and name the usual mistakes precisely."""
import torch

from diffusion_helpers import exercises


def run(check, function, capsys):
    ok = check(function)
    return ok, capsys.readouterr().out


def test_exponential_schedule_check(capsys):
    ok, out = run(exercises.check_exponential_schedule,
                  lambda T, start, end: torch.exp(torch.linspace(torch.log(torch.tensor(start)), torch.log(torch.tensor(end)), T)), capsys)
    assert ok and "Correct" in out
    ok, out = run(exercises.check_exponential_schedule, lambda T, start, end: torch.linspace(start, end, T), capsys)
    assert not ok and "linear schedule" in out
    t_over_T = lambda T, start, end: start * (end / start) ** (torch.arange(T) / T)  # noqa: E731
    ok, out = run(exercises.check_exponential_schedule, t_over_T, capsys)
    assert not ok and "t / (T - 1)" in out
    ok, out = run(exercises.check_exponential_schedule, lambda T, start, end: torch.ones(T - 1), capsys)
    assert not ok and "shape (999,)" in out and "(1000,)" in out
    ok, out = run(exercises.check_exponential_schedule, lambda T, start, end: None, capsys)
    assert not ok and "return" in out
    ok, out = run(exercises.check_exponential_schedule, lambda T, start, end: 1 / 0, capsys)
    assert not ok and "ZeroDivisionError" in out


def test_alphas_cumprod_check(capsys):
    ok, out = run(exercises.check_alphas_cumprod, lambda betas: torch.cumprod(1 - betas, 0), capsys)
    assert ok
    ok, out = run(exercises.check_alphas_cumprod, lambda betas: 1 - betas, capsys)
    assert not ok and "running product" in out
    wrong = lambda betas: torch.cat([torch.cumprod(1 - betas, 0)[:-1], torch.zeros(1)])  # noqa: E731
    ok, out = run(exercises.check_alphas_cumprod, wrong, capsys)
    assert not ok and "t=199" in out and "expected" in out
    ok, out = run(exercises.check_alphas_cumprod, lambda betas: torch.prod(1 - betas), capsys)
    assert not ok and "cumprod" in out


def test_q_sample_check(capsys):
    def right(x0, t, noise, abar):
        a = abar[t].reshape(-1, 1, 1, 1)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def no_square_roots(x0, t, noise, abar):
        a = abar[t].reshape(-1, 1, 1, 1)
        return a * x0 + (1 - a) * noise

    assert run(exercises.check_q_sample, right, capsys)[0]
    ok, out = run(exercises.check_q_sample, no_square_roots, capsys)
    assert not ok and "square roots" in out
    def no_reshape(x0, t, noise, abar):
        return abar[t].sqrt() * x0 + (1 - abar[t]).sqrt() * noise

    ok, out = run(exercises.check_q_sample, no_reshape, capsys)
    assert not ok and "reshape it to (B, 1, 1, 1)" in out

    def fresh_noise(x0, t, noise, abar):
        return right(x0, t, torch.randn_like(noise), abar)

    ok, out = run(exercises.check_q_sample, fresh_noise, capsys)
    assert not ok and "`noise` argument" in out

    def paper_index(x0, t, noise, abar):
        return right(x0, t - 1, noise, abar)

    ok, out = run(exercises.check_q_sample, paper_index, capsys)
    assert not ok and "alphas_cumprod[t - 1]" in out
    ok, out = run(exercises.check_q_sample, lambda x0, t, noise, abar: (right(x0, t, noise, abar), noise), capsys)
    assert not ok and "tuple" in out
    ok, out = run(exercises.check_q_sample, lambda x0, t, noise, abar: x0[:, :, :4], capsys)
    assert not ok and "shape" in out and "broadcasts" in out
    assert not ok
