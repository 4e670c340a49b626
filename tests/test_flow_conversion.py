"""DDPM's path as a velocity field: the change of time variable, the velocity from a noise
prediction, and DDIM (eta = 0) as Euler's step in both variables, checked against dh.ddim_sample."""
import math

import pytest
import torch

import diffusion_helpers as dh

EPS64 = torch.finfo(torch.float64).eps
S = dh.NoiseSchedule("cosine", 1000)


def test_the_flow_time_of_a_noise_level_and_back():
    alpha_bar = S.alphas_cumprod_float64
    t = dh.ode_time(alpha_bar, "flow")
    assert bool((t[1:] > t[:-1]).all()) and 0 < float(t[0]) and float(t[-1]) < 1  # rising with the timestep
    # near t = 1, 1 - t keeps only the digits of sqrt(abar_999) = 1e-4: a relative error of eps / 1e-4 = 2e-12
    torch.testing.assert_close(dh.alpha_bar_from_flow_time(t), alpha_bar, rtol=1e-10, atol=0)
    assert dh.ode_time(1.0) == 0.0 and dh.ode_time(0.0) == 1.0 and dh.ode_time(0.5) == 0.5
    # DDIM's sigma is the noise-to-signal ratio e^-lambda
    for k in (0, 500, 999):
        assert dh.ode_time(S.alpha_bar(k), "sigma") == pytest.approx(math.exp(-S.half_log_snr(k)), rel=1e-12)
    with pytest.raises(ValueError, match="time_variable must be one of"):
        dh.ode_time(0.5, "lambda")


@pytest.mark.parametrize("time_variable", dh.TIME_VARIABLES)
def test_the_rescaled_ddpm_path_is_straight_in_its_time_and_the_velocity_is_its_slope(time_variable):
    """For one pair (x0, eps) DDPM's x_t, rescaled to the ODE's state, lies on a straight line in
    the time variable: finite differences between any two timesteps equal the velocity that
    velocity_from_eps makes of the true noise, eps - x0 ("flow") or eps ("sigma"), to rounding."""
    generator = torch.Generator().manual_seed(0)
    x0, noise = torch.rand(4, 3, generator=generator, dtype=torch.float64) * 2 - 1, torch.randn(4, 3, generator=generator,
                                                                                                dtype=torch.float64)
    timesteps = [0, 1, 250, 251, 700, 998, 999]
    states, times, velocities = [], [], []
    for k in timesteps:
        alpha_bar = S.alpha_bar(k)
        x_t = math.sqrt(alpha_bar) * x0 + math.sqrt(1 - alpha_bar) * noise
        states.append(dh.ode_state(x_t, alpha_bar, time_variable))
        times.append(dh.ode_time(alpha_bar, time_variable))
        velocities.append(dh.velocity_from_eps(x_t, noise, alpha_bar, time_variable))
    slope = noise - x0 if time_variable == "flow" else noise
    scale = max(s.abs().max().item() for s in states)
    for k in range(len(timesteps) - 1):
        difference = (states[k + 1] - states[k]) / (times[k + 1] - times[k])
        tolerance = 64 * EPS64 * scale / (times[k + 1] - times[k])  # a few ulps in each state, over the gap
        torch.testing.assert_close(difference, slope, rtol=0, atol=tolerance)
        torch.testing.assert_close(velocities[k], slope, rtol=0, atol=1e-9)


def test_the_exact_gaussian_noise_becomes_the_exact_gaussian_velocity():
    mean, std = 0.7, 0.4
    velocity = dh.VelocityFromNoise(dh.GaussianNoisePredictor(S, mean, std), S)
    exact = dh.GaussianVelocityPredictor(mean, std)
    z = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    for t in velocity.ode_times(8)[:-1]:
        at = torch.full((5,), t, dtype=torch.float64)
        torch.testing.assert_close(velocity(z, at), exact(z, at), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("clip_x0", [False, True])
@pytest.mark.parametrize("time_variable", dh.TIME_VARIABLES)
def test_ddim_is_euler_on_ddpm_ode_in_its_time_variable(time_variable, clip_x0):
    """DDIM (eta = 0) keeps x0_hat and eps_hat over a step and moves to the next noise level, which
    on a path linear in the time variable is one Euler step: the trajectories agree to rounding,
    a few float64 epsilons of the largest value on the way (the unclipped x0_hat at t = 999 is
    about 1e4 times the model's output, and so is the sigma variable's state x / sqrt(abar):
    sqrt(abar_999) is 1e-4)."""
    torch.manual_seed(0)
    model = dh.MLPDenoiser(hidden_dim=32).double()
    x_T = torch.randn(16, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    velocity = dh.VelocityFromNoise(model, S, time_variable, clip_x0=clip_x0)
    for num_steps in (1, 10):
        ddim, ddim_path = dh.ddim_sample(model, S, x_T, num_steps, clip_x0=clip_x0, progress=False, return_trajectory=True)
        start = dh.ode_state(x_T, S.alpha_bar(999), time_variable)
        euler, euler_path = dh.flow_euler_sample(velocity, start, num_steps, progress=False, return_trajectory=True)
        scale = max(x.abs().max().item() for x in ddim_path + euler_path)  # the largest value either one holds
        torch.testing.assert_close(euler, ddim, rtol=0, atol=64 * num_steps * EPS64 * scale)
        timesteps = dh.make_timesteps(1000, num_steps, "trailing").tolist()
        for k, state in zip(timesteps[1:], euler_path[1:-1]):  # the states between, back in DDPM's x_t
            alpha_bar = S.alpha_bar(k)
            a, b = math.sqrt(alpha_bar), math.sqrt(1 - alpha_bar)
            x_t = state * (a + b) if time_variable == "flow" else state * a
            torch.testing.assert_close(x_t, ddim_path[timesteps.index(k)], rtol=0, atol=64 * num_steps * EPS64 * scale)


def test_the_converted_model_is_sampled_by_heun_on_its_grid_and_refuses_times_between_levels():
    model = dh.MLPDenoiser(hidden_dim=16)
    velocity = dh.VelocityFromNoise(model, S)
    times = velocity.ode_times(5)
    assert len(times) == 6 and times[-1] == 0.0 and times[0] == pytest.approx(dh.ode_time(S.alpha_bar(999)))
    x_T = dh.ode_state(torch.randn(3, 2), S.alpha_bar(999))
    cost = dh.measure_cost(lambda m: dh.flow_heun_sample(dh.VelocityFromNoise(m, S), x_T, 5, progress=False), model,
                           repeats=1)
    assert cost.model_calls == 9 and torch.isfinite(cost.result).all()
    with pytest.raises(ValueError, match="none of the schedule's 1000 noise levels"):
        dh.flow_euler_sample(velocity, x_T, times=[0.5, 0.0], progress=False)
    with pytest.raises(TypeError, match="already takes continuous time"):
        dh.VelocityFromNoise(dh.MLPDenoiser(continuous_time=True), S)
    with pytest.raises(TypeError, match="schedule must be a NoiseSchedule"):
        dh.VelocityFromNoise(model, "cosine")
    trained = dh.MLPDenoiser(hidden_dim=16)
    trained.trained_schedule = dh.NoiseSchedule("linear", 1000).config()
    with pytest.warns(UserWarning, match="learned NoiseSchedule\\('linear'"):
        dh.VelocityFromNoise(trained, S)
