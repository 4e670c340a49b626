"""The exercise checks accept the right answer and name the usual mistakes precisely."""
import functools
import math
import sys
import time

import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers import exercises


def run(check, function, capsys, *more):
    ok = check(function, *more)
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


def test_training_loss_check(capsys):
    def right(model, x0, t, noise, abar):
        a = abar[t].reshape(-1, 1, 1, 1)
        return ((noise - model(a.sqrt() * x0 + (1 - a).sqrt() * noise, t)) ** 2).mean()
    assert run(exercises.check_training_loss, right, capsys)[0]

    def no_roots(model, x0, t, noise, abar):
        a = abar[t].reshape(-1, 1, 1, 1)
        return ((noise - model(a * x0 + (1 - a) * noise, t)) ** 2).mean()
    ok, out = run(exercises.check_training_loss, no_roots, capsys)
    assert not ok and "square roots" in out

    def target_x0(model, x0, t, noise, abar):
        a = abar[t].reshape(-1, 1, 1, 1)
        return ((x0 - model(a.sqrt() * x0 + (1 - a).sqrt() * noise, t)) ** 2).mean()
    ok, out = run(exercises.check_training_loss, target_x0, capsys)
    assert not ok and "not with x0" in out
    ok, out = run(exercises.check_training_loss, lambda model, x0, t, noise, abar: ((noise - model(x0, t)) ** 2).mean(), capsys)
    assert not ok and "noisy x_t" in out
    ok, out = run(exercises.check_training_loss, lambda model, x0, t, noise, abar: ((noise - model(x0, t)) ** 2).mean((1, 2, 3)), capsys)
    assert not ok and "one number" in out
    ok, out = run(exercises.check_training_loss, lambda model, x0, t, noise, abar: abar[t] * x0, capsys)
    assert not ok and "reshape" in out


def test_ddpm_step_check(capsys):
    def right(x_t, t, eps, noise, betas, abar):
        alpha, beta = 1 - betas[t], betas[t]
        abar_prev = abar[t - 1] if t > 0 else torch.tensor(1.0, dtype=abar.dtype)
        mean = (x_t - beta / (1 - abar[t]).sqrt() * eps) / alpha.sqrt()
        return mean + ((1 - abar_prev) / (1 - abar[t]) * beta).sqrt() * noise
    ok, out = run(exercises.check_ddpm_step, right, capsys)
    assert ok and "Correct" in out

    def sigma_beta(x_t, t, eps, noise, betas, abar):
        return (x_t - betas[t] / (1 - abar[t]).sqrt() * eps) / (1 - betas[t]).sqrt() + betas[t].sqrt() * noise
    ok, out = run(exercises.check_ddpm_step, sigma_beta, capsys)
    assert not ok and "other valid choice" in out

    def wraps_around(x_t, t, eps, noise, betas, abar):
        mean = (x_t - betas[t] / (1 - abar[t]).sqrt() * eps) / (1 - betas[t]).sqrt()
        return mean + ((1 - abar[t - 1]) / (1 - abar[t]) * betas[t]).sqrt() * noise
    ok, out = run(exercises.check_ddpm_step, wraps_around, capsys)
    assert not ok and "t = 0" in out and "wraps around" in out

    def abar_prefactor(x_t, t, eps, noise, betas, abar):
        abar_prev = abar[t - 1] if t > 0 else torch.tensor(1.0, dtype=abar.dtype)
        return (x_t - betas[t] / (1 - abar[t]).sqrt() * eps) / abar[t].sqrt() \
            + ((1 - abar_prev) / (1 - abar[t]) * betas[t]).sqrt() * noise
    ok, out = run(exercises.check_ddpm_step, abar_prefactor, capsys)
    assert not ok and "not by sqrt(alpha-bar_t)" in out
    ok, out = run(exercises.check_ddpm_step, lambda x_t, t, eps, noise, betas, abar: x_t[:1], capsys)
    assert not ok and "shape" in out


def ddim_update(x_t, eps, abar_t, abar_prev, eta, noise, sigma_factors=2, subtract_sigma=True):
    """A student's DDIM step (Song et al. 2021, eq. 12 and 16), written from the paper; the two
    options make the usual mistakes."""
    x0_hat = (x_t - math.sqrt(1 - abar_t) * eps) / math.sqrt(abar_t)
    sigma = eta * math.sqrt((1 - abar_prev) / (1 - abar_t))
    if sigma_factors == 2:
        sigma *= math.sqrt(1 - abar_t / abar_prev)
    direction = math.sqrt(max(1 - abar_prev - (sigma**2 if subtract_sigma else 0), 0))
    return math.sqrt(abar_prev) * x0_hat + direction * eps + sigma * noise


def test_ddim_step_check(capsys):
    ok, out = run(exercises.check_ddim_step, ddim_update, capsys)
    assert ok and "Correct" in out
    ok, out = run(exercises.check_ddim_step, functools.partial(ddim_update, sigma_factors=1), capsys)
    assert not ok and "two factors" in out
    ok, out = run(exercises.check_ddim_step, functools.partial(ddim_update, subtract_sigma=False), capsys)
    assert not ok and "subtract sigma^2" in out
    ok, out = run(exercises.check_ddim_step, lambda x_t, eps, a, a_prev, eta, noise:
                  ddim_update(x_t, eps, a, a_prev, 0.0, noise), capsys)
    assert not ok and "adds sigma z" in out
    ok, out = run(exercises.check_ddim_step, lambda x_t, eps, a, a_prev, eta, noise:
                  (x_t - math.sqrt(1 - a) * eps) / math.sqrt(a), capsys)
    assert not ok and "that is x0_hat" in out
    ok, out = run(exercises.check_ddim_step, lambda *args: None, capsys)
    assert not ok and "return" in out


def test_guided_noise_check(capsys):
    ok, out = run(exercises.check_guided_noise, lambda c, n, s: n + s * (c - n), capsys)
    assert ok and "Correct" in out
    ok, out = run(exercises.check_guided_noise, lambda c, n, s: (1 + s) * c - s * n, capsys)
    assert not ok and "Ho & Salimans" in out
    ok, out = run(exercises.check_guided_noise, lambda c, n, s: n - s * (c - n), capsys)
    assert not ok and "not the reverse" in out
    ok, out = run(exercises.check_guided_noise, lambda c, n, s: c + s * (c - n), capsys)
    assert not ok and "starting from eps_conditional" in out
    ok, out = run(exercises.check_guided_noise, lambda c, n, s: s * c, capsys)
    assert not ok and "mixes both" in out
    ok, out = run(exercises.check_guided_noise, lambda c, n, s: n + s * (c - n) + 1e-3, capsys)
    assert not ok and "differs" in out
    for wrong in (lambda c, n, s: c + s * (n - c), lambda c, n, s: c + s * c):  # right only where a hint would be
        ok, out = run(exercises.check_guided_noise, wrong, capsys)
        assert not ok and "Ho & Salimans" not in out and "differs" in out


def test_guidance_choice_check(capsys):
    table = {0.0: {"accuracy": 0.2, "diversity": 9.0}, 1.0: {"accuracy": 0.9, "diversity": 8.0},
             2.0: {"accuracy": 0.995, "diversity": 7.0}, 3.0: {"accuracy": 1.0, "diversity": 5.0}}
    ok, out = run(exercises.check_guidance_choice, 2.0, capsys, table)
    assert ok and "s = 2 at every step" in out
    ok, out = run(exercises.check_guidance_choice, 3.0, capsys, table)
    assert not ok and "s = 2 at every step also reaches" in out
    ok, out = run(exercises.check_guidance_choice, 1.0, capsys, table)
    assert not ok and "below 99%" in out
    ok, out = run(exercises.check_guidance_choice, 2.5, capsys, table)
    assert not ok and "not a row of your table" in out and "s = 3 at every step" in out
    ok, out = run(exercises.check_guidance_choice, torch.tensor(2.0), capsys, table)
    assert ok, "a scale given as a tensor is read as its number"
    ok, out = run(exercises.check_guidance_choice, None, capsys, table)
    assert not ok and "my_scale" in out
    # no scale reaches 99%: the most accurate one is the answer
    short = {s: dict(r, accuracy=r["accuracy"] * 0.9) for s, r in table.items()}
    ok, out = run(exercises.check_guidance_choice, 3.0, capsys, short)
    assert ok and "no row" in out
    ok, out = run(exercises.check_guidance_choice, 1.0, capsys, short)
    assert not ok and "s = 3 at every step comes closer" in out and "diversity" not in out
    ok, out = run(exercises.check_guidance_choice, 2.0, capsys, {2.0: {"accuracy": 1.0}})
    assert not ok and "asked_labels" in out


def test_guidance_choice_check_weighs_intervals_too(capsys):
    """Rows keyed (interval, scale): an interval row that reaches 99% with more diversity wins over
    every step, and the interval must be named to choose it."""
    rows = {(None, 2.0): {"accuracy": 0.98, "diversity": 7.0}, (None, 3.0): {"accuracy": 1.0, "diversity": 5.0},
            ((170, 880), 3.0): {"accuracy": 0.995, "diversity": 6.0}, ((500, 999), 3.0): {"accuracy": 0.99, "diversity": 5.5}}
    ok, out = run(lambda answer, table: exercises.check_guidance_choice(answer, table, my_interval=(170, 880)), 3.0,
                  capsys, rows)
    assert ok and "s = 3 at t in [170, 880]" in out
    ok, out = run(lambda answer, table: exercises.check_guidance_choice(answer, table, my_interval=[170, 880]), 3.0,
                  capsys, rows)
    assert ok, "an interval given as a list is read as its pair"
    ok, out = run(exercises.check_guidance_choice, 3.0, capsys, rows)  # every step at s = 3: less diversity
    assert not ok and "s = 3 at t in [170, 880] also reaches 99% (99.5%)" in out and "5.00 for s = 3 at every step" in out
    ok, out = run(lambda answer, table: exercises.check_guidance_choice(answer, table, my_interval=(500, 999)), 2.0,
                  capsys, rows)
    assert not ok and "not a row" in out and "s = 3 at t in [500, 999]" in out
    ok, out = run(lambda answer, table: exercises.check_guidance_choice(answer, table, my_interval="noisy"), 3.0,
                  capsys, rows)
    assert not ok and "my_interval" in out and "'noisy'" in out
    ok, out = run(exercises.check_guidance_choice, 2.0, capsys, rows)
    assert not ok and "98.0%, below 99%" in out


def test_ddim_step_check_names_two_more_mistakes(capsys):
    def without_root(x_t, eps, a, a_prev, eta, noise):
        sigma = eta * math.sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev))
        x0_hat = (x_t - math.sqrt(1 - a) * eps) / math.sqrt(a)
        return math.sqrt(a_prev) * x0_hat + (1 - a_prev - sigma**2) * eps + sigma * noise

    def sigma_without_eta(x_t, eps, a, a_prev, eta, noise):
        return ddim_update(x_t, eps, a, a_prev, 1.0, noise)
    ok, out = run(exercises.check_ddim_step, without_root, capsys)
    assert not ok and "square root of 1 - abar_prev - sigma^2" in out
    ok, out = run(exercises.check_ddim_step, sigma_without_eta, capsys)
    assert not ok and "multiply by eta" in out


def right_q_sample(x0, t, noise, abar):
    a = abar[t].reshape(-1, 1, 1, 1)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def mutates_x0(x0, t, noise, abar):
    a = abar[t].reshape(-1, 1, 1, 1)
    return x0.mul_(a.sqrt()).add_((1 - a).sqrt() * noise)  # right values, but the caller's x0 is changed


def calls_the_package(x0, t, noise, abar):
    betas = 1 - abar / torch.cat([abar.new_ones(1), abar[:-1]])
    return dh.NoiseSchedule.from_betas(betas).q_sample(x0, t, noise)[0]


COSINE = dh.NoiseSchedule("cosine", 1000)


def loops_forever(*args):
    while True:
        pass


def loops_forever_on_one_line(*args):
    while True: pass  # noqa: E701 - one line on purpose: such a loop makes no "line" trace events


def loops_forever_catching_everything(*args):
    while True:
        try:
            pass
        except Exception:
            pass


@pytest.mark.parametrize("check, answer, words", [
    (exercises.check_q_sample, mutates_x0, "your function changed its input `x0` in place"),
    (exercises.check_q_sample, calls_the_package, "your function calls the package's own"),
    (exercises.check_exponential_schedule, exercises.exponential_betas_reference,
     "that is the package's own exponential_betas_reference"),
    (exercises.check_ddim_step, lambda x_t, eps_hat, a, a_prev, eta, noise: dh.ddim_step(
        COSINE, x_t, 500, 300, eps_hat, eta=eta, noise=noise)[0],
     "calls the package's own ddim_step (diffusion_helpers.sampling)"),
    (exercises.check_q_sample, lambda x0, t, noise, abar: x0 * float("nan"),
     "returned NaN or inf at 256 of 256 places (first at index (0, 0, 0, 0))"),
    (exercises.check_q_sample, lambda x0, t, noise, abar: right_q_sample(x0, t, noise, abar).to("meta"), "'meta' device"),
    (exercises.check_q_sample, lambda x0, t, noise, abar: right_q_sample(x0, t, noise, abar).long(),
     "returned dtype torch.int64"),
    (exercises.check_q_sample, loops_forever, "was stopped: an endless loop?"),
    (exercises.check_q_sample, loops_forever_catching_everything, "was stopped: an endless loop?"),
    (exercises.check_q_sample, loops_forever_on_one_line, "was stopped: an endless loop?"),
    (exercises.check_ddim_step, loops_forever_on_one_line, "was stopped: an endless loop?"),
    (exercises.check_q_sample, lambda *args: sys.exit(1), "your function raised SystemExit"),
    (exercises.check_q_sample, torch.zeros(4, 1, 8, 8), "pass your function itself"),
    (exercises.check_guided_noise, lambda conditional, null, scale: dh.guided_noise(
        lambda x, t: conditional, conditional, 0), "calls the package's own guided_noise"),
    (exercises.check_q_sample, calls_the_package, "calls the package's own NoiseSchedule.from_betas"),
])
def test_checks_refuse_answers_that_cheat_break_or_hang(check, answer, words, capsys, monkeypatch):
    """None of these may be called correct, and none may crash or hang the check."""
    monkeypatch.setattr(exercises._core, "TIME_LIMIT_SECONDS", 1.0)
    start = time.monotonic()
    ok, out = run(check, answer, capsys)
    assert ok is False and words in out, out
    assert time.monotonic() - start < 10


def test_the_watch_is_lifted_after_the_check(capsys):
    """The check restores whatever trace function ran before (a debugger's, coverage's)."""
    def tracer(frame, event, arg):
        return None
    before = sys.gettrace()
    sys.settrace(tracer)
    try:
        run(exercises.check_q_sample, right_q_sample, capsys)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(before)


def test_a_right_answer_on_another_device_or_in_float32_is_correct(capsys):
    ok, out = run(exercises.check_q_sample, lambda *args: right_q_sample(*args).float(), capsys)
    assert ok, out
    if torch.cuda.is_available():
        ok, out = run(exercises.check_q_sample, lambda *args: right_q_sample(*args).cuda(), capsys)
        assert ok, out


@pytest.mark.parametrize("check, answer, words", [
    (exercises.check_q_sample, lambda x0, t, noise, abar: x0, "t = tensor([0, 10, 500, 999])"),
    (exercises.check_exponential_schedule, lambda T, start, end: torch.zeros(T), "num_timesteps=1000, beta_start=0.0001"),
    (exercises.check_alphas_cumprod, lambda betas: betas, "NoiseSchedule('linear', 200).betas"),
    (functools.partial(exercises.check_training_loss, data_shape=(2,)), lambda model, x0, t, noise, abar: x0.sum(),
     "x0 and noise of shape (6, 2)"),
    (exercises.check_ddpm_step, lambda x_t, t, eps_hat, noise, betas, abar: x_t, "t = 999 (an int)"),
    (exercises.check_guided_noise, lambda conditional, null, scale: null, "guidance_scale = 0.0, 1.0, 2.0 and 7.5"),
])
def test_a_wrong_answer_is_told_what_the_check_gave_it(check, answer, words, capsys):
    ok, out = run(check, answer, capsys)
    assert not ok and "(The check called your function with" in out and words in out, out


def points_loss(model, x0, t, noise, abar, reshape=True):
    a = abar[t].reshape(-1, 1) if reshape else abar[t]
    x_t = a.sqrt() * x0 + (1 - a).sqrt() * noise
    return ((noise - model(x_t, t)) ** 2).mean()


def points_ddpm_step(x_t, t, eps_hat, noise, betas, abar):
    abar_prev = abar[t - 1] if t > 0 else torch.tensor(1.0, dtype=abar.dtype)
    mean = (x_t - betas[t] / (1 - abar[t]).sqrt() * eps_hat) / (1 - betas[t]).sqrt()
    return mean + ((1 - abar_prev) / (1 - abar[t]) * betas[t]).sqrt() * noise


def test_the_loss_and_step_checks_take_points_as_notebook_3_does(capsys):
    ok, out = run(functools.partial(exercises.check_training_loss, data_shape=(2,)), points_loss, capsys)
    assert ok, out
    ok, out = run(functools.partial(exercises.check_ddpm_step, data_shape=(2,)), points_ddpm_step, capsys)
    assert ok, out
    ok, out = run(functools.partial(exercises.check_training_loss, data_shape=(2,)),
                  functools.partial(points_loss, reshape=False), capsys)
    assert not ok and "(B, 1)" in out, out


@pytest.mark.parametrize("check, answer, words", [
    (functools.partial(exercises.check_training_loss, data_shape=(2,)),
     lambda model, x0, t, noise, abar: 2 * points_loss(model, x0, t, noise, abar), "average over the values too"),
    (functools.partial(exercises.check_ddpm_step, data_shape=(2,)),
     lambda x_t, t, eps_hat, noise, betas, abar: points_ddpm_step(x_t, t, eps_hat, 0 * noise, betas, abar),
     "also adds fresh noise sigma_t z"),
    (functools.partial(exercises.check_ddpm_step, data_shape=(2,)),
     lambda x_t, t, eps_hat, noise, betas, abar: points_ddpm_step(x_t, t, eps_hat, noise, betas, abar)
     + (x_t - betas[t] / (1 - abar[t]).sqrt() * eps_hat) * (1 / (1 - betas[t]) - 1 / (1 - betas[t]).sqrt()),
     "not by alpha_t"),
])
def test_the_mistakes_a_newcomer_made_get_their_own_hint(check, answer, words, capsys):
    ok, out = run(check, answer, capsys)
    assert not ok and words in out, out


def test_a_one_line_endless_loop_is_stopped_from_any_thread_and_leaves_no_timer_behind(capsys, monkeypatch):
    """The time limit does not wait for line events: in the main thread a SIGALRM timer stops
    `while True: pass` (and gives an outer timer back what is left of it), in another thread a
    watchdog does (what Windows and checks run from threads get)."""
    import signal
    import threading
    monkeypatch.setattr(exercises._core, "TIME_LIMIT_SECONDS", 0.5)
    fired = []
    old = signal.signal(signal.SIGALRM, lambda *args: fired.append("outer"))
    signal.setitimer(signal.ITIMER_REAL, 3.0)  # an outer timer, as a test runner's time limit
    try:
        start = time.monotonic()
        ok, out = run(exercises.check_q_sample, loops_forever_on_one_line, capsys)
        assert ok is False and "was stopped: an endless loop?" in out and time.monotonic() - start < 3
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 1.5 < left < 2.6 and not fired  # the outer timer runs on with what it had left
        outcomes = []
        worker = threading.Thread(target=lambda: outcomes.append(exercises.check_q_sample(loops_forever_on_one_line)))
        worker.start()
        worker.join(timeout=10)
        assert outcomes == [False] and "was stopped" in capsys.readouterr().out
        assert run(exercises.check_q_sample, right_q_sample, capsys)[0]  # and the next answer runs in peace
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def own_noise_ddim(x_t, eps, abar_t, abar_prev, eta, noise):
    return ddim_update(x_t, eps, abar_t, abar_prev, eta, torch.randn_like(noise))


def seeded_noise_ddim(x_t, eps, abar_t, abar_prev, eta, noise):
    return ddim_update(x_t, eps, abar_t, abar_prev, eta, torch.randn(noise.shape, dtype=noise.dtype,
                                                                     generator=torch.Generator().manual_seed(0)))


@pytest.mark.parametrize("check, answer, words", [
    (exercises.check_ddim_step, own_noise_ddim, "at t=500 -> 300, eta=1.0: your function gives a different answer each "
     "time it is called with the same arguments: it draws its own random numbers"),
    (exercises.check_ddim_step, seeded_noise_ddim, "gives the same answer for another `noise`: it does not use the "
     "`noise` argument"),
    (exercises.check_ddpm_step, lambda x_t, t, eps, noise, betas, abar: right_ddpm(x_t, t, eps, torch.randn_like(noise),
                                                                                    betas, abar),
     "at t=999: your function gives a different answer each time"),
    (exercises.check_q_sample, lambda x0, t, noise, abar: right_q_sample(
        x0, t, torch.randn(noise.shape, dtype=noise.dtype, generator=torch.Generator().manual_seed(0)), abar),
     "it does not use the `noise` argument"),
    (exercises.check_training_loss, lambda model, x0, t, noise, abar: right_loss(
        model, x0, torch.randint(1000, t.shape), noise, abar), "Use the `noise` and `t` arguments that the check passes"),
])
def test_an_answer_that_draws_its_own_noise_is_told_so(check, answer, words, capsys):
    """Not only "differs at 256 places": the check names the slip."""
    ok, out = run(check, answer, capsys)
    assert ok is False and words in out, out


def right_ddpm(x_t, t, eps, noise, betas, abar):
    alpha, beta = 1 - betas[t], betas[t]
    abar_prev = abar[t - 1] if t > 0 else torch.tensor(1.0, dtype=abar.dtype)
    mean = (x_t - beta / (1 - abar[t]).sqrt() * eps) / alpha.sqrt()
    return mean + ((1 - abar_prev) / (1 - abar[t]) * beta).sqrt() * noise


def right_loss(model, x0, t, noise, abar):
    a = abar[t].reshape(-1, *[1] * (x0.dim() - 1))
    return ((noise - model(a.sqrt() * x0 + (1 - a).sqrt() * noise, t)) ** 2).mean()


def test_guidance_choice_check_reads_the_diversity_within_its_noise(capsys):
    """Where the reports carry the diversity's uncertainty (dh.digit_report's estimates), a row that
    reaches 99% with a diversity within the noise of the best one is right too (the full run's s = 3
    at every step, 26.07, against s = 3 at t >= 500, 26.69); one beyond the noise is not."""
    def row(accuracy, diversity, error):
        return {"accuracy": accuracy, "diversity": diversity,
                "estimates": {"diversity": dh.Estimate(diversity, error, diversity - 1.96 * error, diversity + 1.96 * error)}}
    rows = {(None, 3.0): row(0.996, 26.07, 0.3), ((500, 999), 3.0): row(0.994, 26.69, 0.3)}
    ok, out = run(exercises.check_guidance_choice, 3.0, capsys, rows)
    assert ok and "within the noise of the most diverse row" in out and "s = 3 at t in [500, 999]" in out
    apart = {(None, 3.0): row(0.996, 24.0, 0.3), ((500, 999), 3.0): row(0.994, 26.69, 0.3)}
    ok, out = run(exercises.check_guidance_choice, 3.0, capsys, apart)
    assert not ok and "keeps more diversity (26.69 against 24.00 for s = 3 at every step, beyond the noise)" in out


def test_diversity_jackknife_error_matches_the_spread_over_repeats():
    """class_diversity's jackknife error against the standard deviation of the diversity over 200
    independent draws (3 classes of 50 Gaussian features): equal within the sampling error of a
    standard deviation from 200 draws (about 5%) and the jackknife's small upward bias."""
    import statistics
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(3).repeat_interleave(50)
    values, errors = [], []
    for _ in range(200):
        features = torch.randn(150, 16, generator=generator) * torch.linspace(0.5, 2, 16)
        estimate = dh.class_diversity(features, labels, standard_error=True)
        assert estimate.low < estimate.value < estimate.high
        values.append(estimate.value)
        errors.append(estimate.error)
    assert 0.8 < statistics.stdev(values) / statistics.mean(errors) < 1.25
    assert dh.class_diversity(features, labels) == estimate.value
    two = dh.class_diversity(torch.randn(4, 2), torch.tensor([0, 0, 1, 1]), standard_error=True)
    assert math.isnan(two.error), "two samples a class leave none to leave out"


def right_drop_labels(labels, probability, generator):
    drop = torch.rand(len(labels), generator=generator) < probability
    return torch.where(drop, dh.NULL_LABEL, labels)


def dropped_in_place(labels, probability, generator):
    labels[torch.rand(len(labels), generator=generator) < probability] = dh.NULL_LABEL
    return labels


def drop_labels_to(value):
    return lambda labels, p, generator: torch.where(torch.rand(len(labels), generator=generator) < p, value, labels)


def drop_with_a_seed_of_its_own(labels, probability, generator):
    return right_drop_labels(labels, probability, torch.Generator().manual_seed(0))


def drop_a_fixed_count(labels, probability, generator):
    out = labels.clone()
    out[torch.randperm(len(labels), generator=generator)[:round(probability * len(labels))]] = dh.NULL_LABEL
    return out


@pytest.mark.parametrize("answer, words", [
    (drop_labels_to(0), "your dropped labels became 0: that is the digit zero"),
    (drop_labels_to(10), "became 10 = num_classes: that is the row of the class-embedding table"),
    (drop_labels_to(99), "some labels became [99], neither their own class nor dh.NULL_LABEL"),
    (lambda labels, p, generator: torch.where(torch.rand(len(labels), generator=generator) < p, labels, dh.NULL_LABEL),
     "which is 1 - probability"),
    (lambda labels, p, generator: torch.where(torch.rand(len(labels), generator=generator) < p / 2, dh.NULL_LABEL, labels),
     f"within 15.0% ± {4 * math.sqrt(0.15 * 0.85 / 10_000) + 0.5 / 10_000:.1%} (4 binomial standard errors)"),
    (drop_with_a_seed_of_its_own, "drops the same labels every time it is called"),
    (lambda labels, p, generator: torch.where(torch.arange(len(labels)) < p * len(labels), dh.NULL_LABEL, labels),
     "drops the same labels every time it is called"),
    (lambda labels, p, generator: right_drop_labels(labels, p, None), "it draws from torch's global generator"),
    (drop_a_fixed_count, "you drop exactly 1,500 labels every time"),
    (lambda labels, p, generator: torch.where(torch.rand(len(labels), generator=generator) > 1 - p, dh.NULL_LABEL, labels),
     "but not the labels that dh.drop_labels drops with the same generator"),
    (dropped_in_place, "your function changed its input `labels` in place"),
    (lambda labels, p, generator: torch.rand(len(labels), generator=generator) < p, "that is the mask of the labels to drop"),
    (lambda labels, p, generator: right_drop_labels(labels, p, generator).float(), "labels are integers (torch.long)"),
    (lambda labels, p, generator: right_drop_labels(labels, p, generator)[:-1], "your labels have shape (9999,)"),
    (lambda labels, p, generator: None, "did you forget `return`?"),
    (lambda labels, p, generator: dh.drop_labels(labels, p, generator), "calls the package's own drop_labels"),
    (dh.drop_labels, "that is the package's own drop_labels"),
])
def test_label_dropout_check_names_each_slip(answer, words, capsys):
    ok, out = run(exercises.check_label_dropout, answer, capsys)
    assert ok is False and words in out and "(The check called your function with labels = 10,000" in out, out


def test_label_dropout_check_passes_the_right_answer_on_any_device(capsys):
    ok, out = run(exercises.check_label_dropout, right_drop_labels, capsys)
    assert ok and "Correct" in out and "expected 1,500 ± 36" in out, out
    ok, out = run(exercises.check_label_dropout, lambda *args: right_drop_labels(*args).to(torch.int32), capsys)
    assert ok, out
    if torch.cuda.is_available():
        ok, out = run(exercises.check_label_dropout, lambda *args: right_drop_labels(*args).cuda(), capsys)
        assert ok, out


def test_every_check_logs_its_result_where_the_environment_names_a_file(tmp_path, monkeypatch, capsys):
    """tools/grade.py reads results from this log, never from printed text: one JSON line a check
    call, the message the student saw (after "Correct!" or "Not yet:"); no file without the variable."""
    import inspect
    import json
    log = tmp_path / "checks.jsonl"
    monkeypatch.delenv(exercises.CHECK_LOG_VARIABLE, raising=False)
    assert exercises.check_alphas_cumprod(lambda betas: torch.cumprod(1 - betas, 0)) and not log.exists()
    monkeypatch.setenv(exercises.CHECK_LOG_VARIABLE, str(log))
    assert exercises.check_alphas_cumprod(lambda betas: torch.cumprod(1 - betas, 0))
    assert not exercises.check_alphas_cumprod(lambda betas: 1 - betas)
    assert not exercises.check_guided_noise(lambda eps_conditional, eps_null, scale: None)
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("✅", "❌"))]
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(line["exercise"], line["passed"]) for line in lines] == [
        ("alphas_cumprod", True), ("alphas_cumprod", False), ("guided_noise", False)]
    assert lines[1]["message"].startswith("those are the alphas, 1 - beta_t") and "(The check called" in lines[1]["message"]
    assert [line["message"].splitlines()[0] for line in lines] == [
        line.split(": ", 1)[1] if line.startswith("❌") else line.split("Correct! ", 1)[1] for line in printed[-3:]]
    checks = [name for name in exercises.__all__ if name.startswith("check_")]
    assert all(inspect.unwrap(getattr(exercises, name)) is not getattr(exercises, name) for name in checks), \
        "every public check is decorated with logged_check, so that it logs"
