"""DPM-Solver++(2M) against diffusers, and DDIM / DPM-Solver++ against the exact probability-flow ODE."""
import pytest
import torch
from diffusers import DPMSolverMultistepScheduler, UniPCMultistepScheduler

import diffusion_helpers as dh


@pytest.mark.parametrize("schedule_name, theirs_name", [("linear", "linear"), ("cosine", "squaredcos_cap_v2")])
@pytest.mark.parametrize("num_steps", [5, 10, 20])
@pytest.mark.parametrize("spacing", ["karras", "logsnr", "trailing"])
def test_dpm_solver_equals_diffusers_dpm_solver_plus_plus_2m(schedule_name, theirs_name, num_steps, spacing):
    """diffusers run on our grid ("karras", the solver's default, "logsnr" or "trailing")."""
    s = dh.NoiseSchedule(schedule_name, 1000)
    timesteps = dh.make_timesteps(1000, num_steps, spacing, s)
    theirs = DPMSolverMultistepScheduler(num_train_timesteps=1000, beta_schedule=theirs_name, solver_order=2,
                                         algorithm_type="dpmsolver++", solver_type="midpoint", lower_order_final=True,
                                         final_sigmas_type="zero")
    theirs.alphas_cumprod = torch.cumprod(1 - s.betas.double(), 0)  # our betas, in float64
    theirs.set_timesteps(timesteps=timesteps.tolist())
    model = dh.GaussianNoisePredictor(s, 1.0, 0.5)
    x_T = torch.randn(500, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ours, trajectory = dh.dpm_solver_sample(model, s, x_T, num_steps, spacing=spacing, return_trajectory=True,
                                            progress=False)
    x = x_T
    for i, t in enumerate(theirs.timesteps):
        x = theirs.step(model(x, t.repeat(len(x))), t, x).prev_sample
        # diffusers keeps its sigmas in float32: relative errors ~1e-7 in each step's coefficients
        torch.testing.assert_close(trajectory[i + 1], x, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours, x, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("schedule_name, theirs_name", [("linear", "linear"), ("cosine", "squaredcos_cap_v2")])
@pytest.mark.parametrize("num_steps", [5, 10, 20])
def test_unipc_equals_diffusers_unipc(schedule_name, theirs_name, num_steps):
    """UniPC with B(h) = e^h - 1 ("bh2"), order 2, data prediction, the corrector at every step, on
    the "trailing" grid (diffusers' UniPC takes no other integer grid)."""
    s = dh.NoiseSchedule(schedule_name, 1000)
    theirs = UniPCMultistepScheduler(num_train_timesteps=1000, beta_schedule=theirs_name, solver_order=2,
                                     solver_type="bh2", predict_x0=True, lower_order_final=True,
                                     timestep_spacing="trailing", final_sigmas_type="zero")
    theirs.alphas_cumprod = torch.cumprod(1 - s.betas.double(), 0)  # our betas, in float64
    theirs.set_timesteps(num_steps)
    assert theirs.timesteps.tolist() == dh.make_timesteps(1000, num_steps).tolist()
    model = dh.GaussianNoisePredictor(s, 1.0, 0.5)
    x_T = torch.randn(500, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = x_T
    for t in theirs.timesteps:
        x = theirs.step(model(x, t.repeat(len(x))), t, x).prev_sample
    # diffusers keeps its sigmas in float32: relative errors ~1e-7 in each step's coefficients
    torch.testing.assert_close(dh.unipc_sample(model, s, x_T, num_steps, spacing="trailing", progress=False), x,
                               rtol=1e-5, atol=1e-5)


def test_the_first_and_last_steps_are_ddim():
    s = dh.NoiseSchedule("cosine", 100)
    x, eps = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    for t, t_prev in [(99, 60), (10, -1)]:
        torch.testing.assert_close(dh.dpm_solver_step(s, x, t, t_prev, eps), dh.ddim_step(s, x, t, t_prev, eps))
    assert not torch.allclose(dh.dpm_solver_step(s, x, 60, 30, eps, previous=(99, x))[0],
                              dh.ddim_step(s, x, 60, 30, eps)[0])


def ode_errors(sampler, schedule, model, x_T, num_steps):
    """Largest error, against the exact flow, after ``num_steps`` steps from t=900 to t=100. The
    grid stays inside (0, T-1), away from the ends where alpha-bar reaches 1 or almost 0, so the
    error is the solver's own."""
    return model.solver_error(sampler, schedule, x_T, torch.linspace(900, 100, num_steps + 1).round().long())


def test_ddim_converges_at_first_order_dpm_solver_at_second_and_unipc_at_third():
    """Halving the step size divides DDIM's error by 2, DPM-Solver++(2M)'s by 4 (Lu et al. 2022,
    theorem 3.2 / 4.1) and UniPC's by 8 (its corrector adds an order, Zhao et al. 2023, theorem 3.1),
    on Gaussian data whose probability-flow ODE is solved exactly."""
    s = dh.NoiseSchedule("cosine", 1000)
    model = dh.GaussianNoisePredictor(s, 1.0, 0.5)
    x_T = torch.linspace(-3, 3, 601, dtype=torch.float64)[:, None]
    ddim = [ode_errors(dh.ddim_sample, s, model, x_T, n) for n in (25, 50, 100)]
    dpm = [ode_errors(dh.dpm_solver_sample, s, model, x_T, n) for n in (25, 50, 100)]
    for coarse, fine in zip(ddim, ddim[1:]):
        assert 1.8 < coarse / fine < 2.2, ddim   # order 1: ratio 2
    for coarse, fine in zip(dpm, dpm[1:]):
        assert 3.3 < coarse / fine < 4.5, dpm    # order 2: ratio 4
    assert dpm[1] < ddim[1] / 10, (ddim, dpm)
    unipc = [ode_errors(dh.unipc_sample, s, model, x_T, n) for n in (25, 50, 100)]
    for coarse, fine in zip(unipc, unipc[1:]):
        assert 6.0 < coarse / fine < 9.0, unipc  # order 3: ratio 8 (6.5 and 7.3 here, still approaching)
    assert unipc[2] < dpm[2] / 2, (dpm, unipc)


@pytest.mark.parametrize("call, error, words", [
    (lambda s, x: dh.dpm_solver_step(s, x, 50, 20, x, previous=(40, x)), ValueError, "fall"),
    (lambda s, x: dh.dpm_solver_step(s, x, 50, 20, x, previous=(80, x.long())), TypeError, "x0_hat_before"),
    (lambda s, x: dh.dpm_solver_sample(lambda x, t: x, s, x, 0), ValueError, "num_steps"),
])
def test_bad_solver_input_is_refused(call, error, words):
    with pytest.raises(error) as info:
        call(dh.NoiseSchedule("linear", 100), torch.randn(3, 2))
    assert words in str(info.value)
