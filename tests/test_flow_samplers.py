"""The flow samplers: exact where the maths says so, of the order the maths says, one shared
signature, and model calls counted as dh.measure_cost reads them."""
import inspect

import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers.samplers import FLOW_SHARED_PARAMETERS

EPS64 = torch.finfo(torch.float64).eps


def test_one_euler_step_along_the_true_conditional_velocity_recovers_x0_exactly():
    generator = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(8, 2, generator=generator, dtype=torch.float64), torch.randn(8, 2, generator=generator,
                                                                                         dtype=torch.float64)

    def oracle(x_t, t):  # the velocity of the straight path through each row's pair
        return noise - x0
    torch.testing.assert_close(dh.flow_euler_sample(oracle, noise, 1, progress=False), x0, rtol=0, atol=4 * EPS64)
    torch.testing.assert_close(dh.euler_step(noise, 1.0, 0.0, noise - x0), x0, rtol=0, atol=4 * EPS64)
    # a constant velocity makes every grid and Heun exact too
    for sample in dh.FLOW_SAMPLERS.values():
        torch.testing.assert_close(sample(oracle, noise, 7, progress=False), x0, rtol=0, atol=64 * EPS64)


def test_euler_is_first_order_and_heun_second_on_the_exact_gaussian_flow():
    """Against the exact flow of Gaussian data, doubling the steps halves Euler's error and
    quarters Heun's (2^p for a method of order p; 1.98 and 4.10 from 40 to 80 steps here)."""
    predictor = dh.GaussianVelocityPredictor(1.5, 0.5)
    x_T = torch.randn(64, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    exact = predictor.flow(x_T, 1.0, 0.0)
    for name, order in (("euler", 1), ("heun", 2)):
        errors = [(dh.FLOW_SAMPLERS[name](predictor, x_T, n, progress=False) - exact).abs().max().item() for n in (40, 80)]
        assert 0.9 * 2**order < errors[0] / errors[1] < 1.1 * 2**order, (name, errors)


def test_heun_step_is_the_average_of_the_slopes_at_both_ends():
    x, v, v_next = (torch.randn(3, 2, generator=torch.Generator().manual_seed(k)) for k in range(3))
    torch.testing.assert_close(dh.heun_step(x, 0.8, 0.5, v, v_next), x - 0.3 * (v + v_next) / 2)
    torch.testing.assert_close(dh.euler_step(x, 0.8, 0.5, v), x - 0.3 * v)
    with pytest.raises(ValueError, match=r"velocity must have the shape of x \(3, 2\)"):  # no silent broadcasting
        dh.euler_step(x, 0.8, 0.5, v[:, :1])
    with pytest.raises(TypeError, match="velocity_next must be the model's velocity"):
        dh.heun_step(x, 0.8, 0.5, v, None)


@pytest.mark.parametrize("name", ["euler", "heun"])
def test_every_flow_sampler_has_the_shared_parameters_and_agrees_with_its_steps(name):
    sample, steps = dh.FLOW_SAMPLERS[name], dh.FLOW_SAMPLER_STEPS[name]
    assert [p.name for p in inspect.signature(sample).parameters.values()] == list(FLOW_SHARED_PARAMETERS)
    assert [p.name for p in inspect.signature(steps).parameters.values()] == list(FLOW_SHARED_PARAMETERS[:-1])
    predictor, x_T = dh.GaussianVelocityPredictor(0.5, 0.8), torch.randn(6, 2, dtype=torch.float64)
    x0, trajectory = sample(predictor, x_T, 5, progress=False, return_trajectory=True)
    states = list(steps(predictor, x_T, 5, progress=False))
    assert len(trajectory) == 6 and trajectory[0] is x_T and torch.equal(trajectory[-1], x0)
    assert [state.t for state in states] == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2])
    assert torch.equal(states[-1].x, x0)
    # x0_hat = x - t v, the clean data the velocity at t implies
    v = predictor(x_T, torch.ones(6, dtype=torch.float64))
    torch.testing.assert_close(states[0].x0_hat, x_T - v)
    assert set(dh.FLOW_SAMPLERS) == set(dh.FLOW_SAMPLER_STEPS) == {"euler", "heun"}
    assert set(dh.SAMPLERS) == {"ddpm", "ddim", "dpm_solver", "unipc"}  # the DDPM family is left as it was


def test_model_calls_are_counted_euler_one_a_step_heun_two_but_the_last():
    model, x_T = dh.MLPDenoiser(continuous_time=True), torch.randn(4, 2)
    for n in (1, 5, 10):
        assert dh.measure_cost(lambda m: dh.flow_euler_sample(m, x_T, n, progress=False), model, repeats=1).model_calls == n
        assert dh.measure_cost(lambda m: dh.flow_heun_sample(m, x_T, n, progress=False), model, repeats=1).model_calls \
            == 2 * n - 1


def test_guidance_mixes_the_velocities_in_one_batched_call():
    torch.manual_seed(0)
    model = dh.MLPDenoiser(num_classes=3, continuous_time=True).double()
    x_T, y = torch.randn(4, 2, dtype=torch.float64), torch.tensor([0, 1, 2, 1])
    t = torch.ones(4, dtype=torch.float64)
    with torch.no_grad():
        v_y, v_null = model(x_T, t, y), model(x_T, t, torch.full((4,), dh.NULL_LABEL))
    guided = dh.flow_euler_sample(model, x_T, 1, y=y, guidance_scale=3.0, progress=False)
    torch.testing.assert_close(guided, x_T - (v_null + 3.0 * (v_y - v_null)), rtol=1e-12, atol=1e-12)
    cost = dh.measure_cost(lambda m: dh.flow_euler_sample(m, x_T, 4, y=y, guidance_scale=3.0, progress=False), model,
                           repeats=1)
    assert cost.model_calls == 4 and cost.rows == 4 * 8


def test_the_flow_samplers_accept_a_grid_and_refuse_what_they_cannot_integrate():
    predictor, x_T = dh.GaussianVelocityPredictor(), torch.randn(3, 2, dtype=torch.float64)
    torch.testing.assert_close(dh.flow_euler_sample(predictor, x_T, times=[1.0, 0.5, 0.0], progress=False),
                               dh.flow_euler_sample(predictor, x_T, 2, progress=False), rtol=0, atol=0)
    assert dh.flow_times(4) == [1.0, 0.75, 0.5, 0.25, 0.0]
    with pytest.raises(TypeError, match="VelocityFromNoise"):
        dh.flow_euler_sample(dh.MLPDenoiser(), torch.randn(3, 2), progress=False)
    with pytest.raises(ValueError, match="reversed"):
        dh.flow_euler_sample(predictor, x_T, times=[0.0, 0.5, 1.0], progress=False)
    with pytest.raises(ValueError, match="not both"):
        dh.flow_heun_sample(predictor, x_T, 3, times=[1.0, 0.0], progress=False)
    with pytest.raises(ValueError, match="NaN"):
        dh.flow_euler_sample(predictor, torch.full((3, 2), float("nan"), dtype=torch.float64), progress=False)
    with pytest.raises(KeyError, match="the names are"):
        dh.FLOW_SAMPLERS["midpoint"]
    with pytest.raises(ValueError, match=r"t must lie in \[0, 1\]"):  # a grid beyond 1 meets the model's own check
        dh.flow_euler_sample(dh.MLPDenoiser(continuous_time=True), torch.randn(3, 2), times=[999.0, 0.0], progress=False)

    def nan_model(x, t):
        return torch.full_like(x, float("nan"))
    with pytest.raises(ValueError, match="velocity at t=1 holds NaN"):
        dh.flow_euler_sample(nan_model, torch.randn(3, 2), progress=False)
