"""The package's shape: one sampler signature, pure multistep steps, checks once a run, no upward imports."""
import ast
import inspect
import pathlib
import sys

import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers.samplers import SHARED_PARAMETERS

PACKAGE = pathlib.Path(dh.__file__).parent
ISFINITE = torch.isfinite
OWN_OPTIONS = {"ddpm": ["variance"], "ddim": ["eta"], "dpm_solver": [], "unipc": []}


def parameters(function):
    return list(inspect.signature(function).parameters.values())


@pytest.mark.parametrize("name", list(dh.SAMPLERS))
def test_every_sampler_has_the_shared_parameters_in_order(name):
    sample, steps = dh.SAMPLERS[name], dh.SAMPLER_STEPS[name]
    assert [p.name for p in parameters(sample)] == list(SHARED_PARAMETERS) + OWN_OPTIONS[name]
    assert [p.name for p in parameters(steps)] == [n for n in SHARED_PARAMETERS if n != "return_trajectory"] + OWN_OPTIONS[name]
    for function in (sample, steps):  # the first four positional, the rest keyword-only
        kinds = [p.kind for p in parameters(function)]
        assert kinds[:4] == [inspect.Parameter.POSITIONAL_OR_KEYWORD] * 4
        assert set(kinds[4:]) == {inspect.Parameter.KEYWORD_ONLY}
    assert set(dh.SAMPLERS) == set(dh.SAMPLER_STEPS) == {"ddpm", "ddim", "dpm_solver", "unipc"}


@pytest.mark.parametrize("name", list(dh.SAMPLERS))
def test_every_sampler_takes_its_default_grid_from_one_named_constant(name):
    """dh.DEFAULT_SPACINGS is the one home of the default grids: the signatures read it, the sampler
    benchmark prints it beside the measured best, and the README's table names it."""
    assert set(dh.DEFAULT_SPACINGS) == set(dh.SAMPLERS) and set(dh.DEFAULT_SPACINGS.values()) <= set(dh.SPACINGS)
    for function in (dh.SAMPLERS[name], dh.SAMPLER_STEPS[name]):
        assert inspect.signature(function).parameters["spacing"].default == dh.DEFAULT_SPACINGS[name]
    benchmark = (PACKAGE.parent / "benchmarks" / "sampler_benchmark.py").read_text()
    assert "dh.DEFAULT_SPACINGS[name]" in benchmark and "dh.SPACINGS" in benchmark
    readme = (PACKAGE.parent / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| where to stop"))
    title = {"ddpm": "DDPM", "ddim": "DDIM", "dpm_solver": "DPM-Solver++", "unipc": "UniPC"}[name]
    assert "dh.DEFAULT_SPACINGS" in row and f'{title} "{dh.DEFAULT_SPACINGS[name]}"' in row, row


def test_the_samplers_agree_with_their_steps_and_take_num_steps_by_position():
    s = dh.NoiseSchedule("cosine", 100)
    model, x_T = dh.GaussianNoisePredictor(s, 1.0, 0.5), torch.randn(16, 2, dtype=torch.float64)
    for name, sample in dh.SAMPLERS.items():
        generator = torch.Generator().manual_seed(0)
        x0 = sample(model, s, x_T, 7, generator=generator, progress=False)
        states = list(dh.SAMPLER_STEPS[name](model, s, x_T, 7, generator=torch.Generator().manual_seed(0),
                                             progress=False))
        assert len(states) == 7 and torch.equal(states[-1].x, x0), name


def test_a_generator_draws_the_noise_of_ddim_with_eta_and_is_ignored_by_the_ode_solvers():
    s = dh.NoiseSchedule("linear", 50)
    model, x_T = dh.GaussianNoisePredictor(s, 0.0, 1.0), torch.randn(8, 2)
    for name in ("dpm_solver", "unipc"):  # deterministic: a generator changes nothing
        assert torch.equal(dh.SAMPLERS[name](model, s, x_T, 5, generator=torch.Generator().manual_seed(1), progress=False),
                           dh.SAMPLERS[name](model, s, x_T, 5, progress=False))
    run = [dh.SAMPLERS["ddim"](model, s, x_T, 5, eta=1.0, generator=torch.Generator().manual_seed(seed), progress=False)
           for seed in (1, 1, 2)]
    assert torch.equal(run[0], run[1]) and not torch.equal(run[0], run[2])


def snapshot(value):
    return tuple(snapshot(v) for v in value) if isinstance(value, tuple) else \
        value.clone() if isinstance(value, torch.Tensor) else value


def same(a, b):
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(u, v) for u, v in zip(a, b))
    return torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b


def test_the_multistep_steps_are_pure():
    """Called twice on the same inputs a step gives the same output, and it never changes the
    previous predictions it was given (they are passed in and returned, as k-diffusion's old_denoised)."""
    s = dh.NoiseSchedule("cosine", 100)
    x, eps, x0_before = (torch.randn(4, 3, generator=torch.Generator().manual_seed(k), dtype=torch.float64)
                         for k in range(3))
    previous = (80, x0_before)
    kept, x_kept, eps_kept = snapshot(previous), x.clone(), eps.clone()
    first = dh.dpm_solver_step(s, x, 60, 30, eps, previous=previous)
    assert same(first, dh.dpm_solver_step(s, x, 60, 30, eps, previous=previous))
    assert same(previous, kept) and torch.equal(x, x_kept) and torch.equal(eps, eps_kept)

    # UniPC: three steps threaded by hand through the memory each returns
    memory, point = (), x
    for t, t_prev in [(90, 60), (60, 30), (30, 10)]:
        kept = snapshot(memory)
        result = dh.unipc_step(s, point, t, t_prev, eps, previous=memory)
        assert same(result, dh.unipc_step(s, point, t, t_prev, eps, previous=memory))
        assert same(memory, kept), "unipc_step changed the memory it was given"
        assert isinstance(result[2], tuple) and len(result[2]) == min(len(memory) + 1, 2)
        point, _, memory = result
    assert [entry[0] for entry in memory] == [60, 30]


def test_unipc_step_threaded_by_hand_is_the_sampler():
    s = dh.NoiseSchedule("cosine", 200)
    model, x_T = dh.GaussianNoisePredictor(s, 1.0, 0.5), torch.randn(32, 1, dtype=torch.float64)
    grid = dh.make_timesteps(200, 6, dh.DEFAULT_SPACINGS["unipc"], s).tolist()
    x, memory = x_T, ()
    for t, t_prev in zip(grid, grid[1:] + [-1]):
        x, _, memory = dh.unipc_step(s, x, t, t_prev, model(x, torch.full((32,), t)), previous=memory)
    torch.testing.assert_close(x, dh.unipc_sample(model, s, x_T, 6, progress=False), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("call, error, words", [
    (lambda s, x: dh.unipc_step(s, x, 50, 20, x, previous=[(60, x, x)]), TypeError, "previous"),
    (lambda s, x: dh.unipc_step(s, x, 50, 20, x, previous=((40, x, x),)), ValueError, "fall"),
    (lambda s, x: dh.unipc_step(s, x, 50, 20, x, previous=((60, x, x.long()),)), TypeError, "x0_hat"),
    (lambda s, x: dh.unipc_correct(s, x, 60, 60, x, x), ValueError, "differ"),
])
def test_bad_unipc_step_input_is_refused(call, error, words):
    with pytest.raises(error) as info:
        call(dh.NoiseSchedule("linear", 100), torch.randn(3, 2))
    assert words in str(info.value)


def package_files():
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_imports_from_the_package_init():
    """Every module imports only modules below or beside it: no ``from .. import``, no ``from . import
    name`` of a name that an __init__ defines, no ``import diffusion_helpers`` inside the package."""
    upward = []
    for path in package_files():
        relative = path.relative_to(PACKAGE.parent)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level == 0 and (node.module or "").split(".")[0] == "diffusion_helpers":
                    upward.append(f"{relative}: from {node.module} import ...")
                elif node.level >= 2 and node.module is None:
                    upward.append(f"{relative}: from {'.' * node.level} import ...")
                elif node.level >= 1 and node.module is None:
                    folder = path.parent
                    for level in range(node.level - 1):
                        folder = folder.parent
                    for alias in node.names:
                        if not ((folder / f"{alias.name}.py").exists() or (folder / alias.name / "__init__.py").exists()):
                            upward.append(f"{relative}: from {'.' * node.level} import {alias.name}")
            elif isinstance(node, ast.Import):
                upward += [f"{relative}: import {a.name}" for a in node.names if a.name.split(".")[0] == "diffusion_helpers"]
    assert not upward, upward


def test_all_lists_the_public_surface():
    assert len(dh.__all__) == len(set(dh.__all__))
    assert [name for name in dh.__all__ if not hasattr(dh, name)] == []
    for name in ("SAMPLERS", "SAMPLER_STEPS", "NULL_LABEL", "ddim_sample", "unipc_step", "setup", "plots"):
        assert name in dh.__all__
    from diffusion_helpers import _version, conditioning, pretrained
    assert dh.__version__ == _version.__version__ and dh.NULL_LABEL is conditioning.NULL_LABEL == -1
    assert pretrained.__version__ is _version.__version__


def count_calls(monkeypatch, run):
    """Run ``run()`` and count the calls of every check function, alpha_bar and torch.isfinite."""
    counts = {}

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_filename.startswith(str(PACKAGE)):
            name = frame.f_code.co_name
            # check_prediction_shape stays at every step: it reads the output's shape, no wait for the device
            if (name.startswith("check_") and name != "check_prediction_shape") or name in ("alpha_bar", "half_log_snr", "_one_timestep"):
                counts[name] = counts.get(name, 0) + 1

    def counted_isfinite(*args, **kwargs):
        counts["torch.isfinite"] = counts.get("torch.isfinite", 0) + 1
        return ISFINITE(*args, **kwargs)
    monkeypatch.setattr(torch, "isfinite", counted_isfinite)
    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return counts


@pytest.mark.parametrize("name", list(dh.SAMPLERS))
def test_the_checks_run_once_a_run_not_once_a_step(monkeypatch, name):
    """A 10-step and a 40-step run make the same number of check calls: the checks of a whole run
    happen once, before the loop, and the loop's steps run unchecked."""
    s = dh.NoiseSchedule("cosine", 100)
    model, x_T = dh.GaussianNoisePredictor(s, 0.0, 1.0), torch.randn(4, 1, 8, 8)
    options = {"eta": 0.5, "generator": torch.Generator().manual_seed(0)} if name == "ddim" else {}

    def run(num_steps):
        return lambda: dh.SAMPLERS[name](model, s, x_T, num_steps, progress=False, **options)
    few, many = count_calls(monkeypatch, run(10)), count_calls(monkeypatch, run(40))
    assert few == many, (few, many)
    assert "check_step" not in few and few.get("torch.isfinite", 0) <= 3, few  # ("logsnr", "karras" grids ask alpha_bar T times, once)


def test_a_public_step_on_its_own_still_checks_its_inputs(monkeypatch):
    s = dh.NoiseSchedule("cosine", 100)
    x = torch.randn(3, 2)
    counts = count_calls(monkeypatch, lambda: dh.dpm_solver_step(s, x, 50, 20, x, previous=(80, x)))
    assert counts.get("check_step") == 1
    with pytest.raises(ValueError, match="eps_hat"):
        dh.unipc_step(s, x, 50, 20, x[:1])


def test_a_prediction_that_turns_nan_after_the_first_step_is_named_at_the_end():
    s = dh.NoiseSchedule("linear", 100)

    def model(x, t):
        return torch.zeros_like(x) if int(t[0]) == 99 else torch.full_like(x, float("nan"))
    for sample in dh.SAMPLERS.values():
        with pytest.raises(ValueError, match="NaN"):
            sample(model, s, torch.randn(4, 2), 5, progress=False)


def test_the_sampler_dropdown_offers_the_names_of_dh_samplers():
    choice = dh.widgets.sampler_dropdown()
    assert list(choice.options) == list(dh.SAMPLERS) and choice.value == "ddim"
    assert dh.SAMPLERS[dh.widgets.sampler_dropdown(value="unipc", names=["ddim", "unipc"]).value] is dh.unipc_sample
    with pytest.raises(ValueError, match="sampler names must be among"):
        dh.widgets.sampler_dropdown(names=["DDIM"])
