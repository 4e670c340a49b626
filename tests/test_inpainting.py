"""Inpainting (RePaint's baseline): the known pixels are the real image at the end and the forward
process's marginal on the way, the unknown ones come from the sampler; bad masks are refused."""
import inspect
import math

import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers.samplers import SHARED_PARAMETERS


def setup_run(batch=6, size=8, seed=0):
    schedule = dh.NoiseSchedule("cosine", 100)
    model = dh.GaussianNoisePredictor(schedule, mean=0.2, std=0.5)  # exact: independent pixels N(0.2, 0.5^2)
    generator = torch.Generator().manual_seed(seed)
    known = (0.6 * torch.randn(batch, 1, size, size, generator=generator)).clamp(-1, 1)
    x_T = torch.randn(batch, 1, size, size, generator=generator)
    return schedule, model, known, x_T


def top_half(size=8):
    mask = torch.zeros(size, size)
    mask[: size // 2] = 1
    return mask


def test_inpaint_sample_has_the_shared_parameters_then_its_own():
    for function, shared in ((dh.inpaint_sample, SHARED_PARAMETERS),
                             (dh.inpaint_steps, [n for n in SHARED_PARAMETERS if n != "return_trajectory"])):
        parameters = list(inspect.signature(function).parameters.values())
        assert [p.name for p in parameters] == list(shared) + ["known", "mask", "eta", "resample"]
        assert set(p.kind for p in parameters[4:]) == {inspect.Parameter.KEYWORD_ONLY}
        assert inspect.signature(function).parameters["spacing"].default == dh.DEFAULT_SPACINGS["ddim"]


@pytest.mark.parametrize("eta, resample", [(1.0, 1), (0.0, 1), (1.0, 3)])
def test_the_known_pixels_end_as_the_real_image_exactly(eta, resample):
    schedule, model, known, x_T = setup_run()
    mask = top_half()
    filled = dh.inpaint_sample(model, schedule, x_T, 10, known=known, mask=mask, eta=eta, resample=resample,
                               generator=torch.Generator().manual_seed(1), clip_x0=False, progress=False)
    assert torch.equal(filled[:, :, :4], known[:, :, :4])
    assert not torch.equal(filled[:, :, 4:], known[:, :, 4:])  # the unknown half is the sampler's


def test_a_mask_of_all_known_returns_the_image_and_all_unknown_is_plain_ddim():
    schedule, model, known, x_T = setup_run()
    everything = dh.inpaint_sample(model, schedule, x_T, 10, known=known, mask=torch.ones(8, 8), progress=False)
    assert torch.equal(everything, known)
    nothing = dh.inpaint_sample(model, schedule, x_T, 10, known=known, mask=torch.zeros(8, 8), eta=0.0, clip_x0=False,
                                progress=False)
    assert torch.equal(nothing, dh.ddim_sample(model, schedule, x_T, 10, eta=0.0, clip_x0=False, progress=False))


def test_the_known_pixels_follow_the_forward_marginal_on_the_way():
    """After each step to t', the known pixels are q(x_t' | x_0): mean sqrt(abar_t') x_0, std
    sqrt(1 - abar_t'); over 4,000 runs the sample mean lies within 5 standard errors of it."""
    schedule, model, _, _ = setup_run()
    count = 4000
    known = torch.full((1, 1, 2, 2), 0.8)
    x_T = torch.randn(count, 1, 2, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    states = list(dh.inpaint_steps(model, schedule, x_T, 5, known=known.double(), mask=mask, clip_x0=False,
                                   generator=torch.Generator().manual_seed(3), progress=False))
    grid = dh.make_timesteps(100, 5).tolist()[1:]
    for state, t_prev in zip(states, grid):
        abar = schedule.alpha_bar(t_prev)
        values = state.x[:, 0, 0, 0]
        error = math.sqrt(1 - abar) / math.sqrt(count)
        assert abs(values.mean().item() - math.sqrt(abar) * 0.8) < 5 * error, t_prev
        assert abs(values.std().item() - math.sqrt(1 - abar)) < 5 * math.sqrt(1 - abar) / math.sqrt(2 * count), t_prev


@pytest.mark.parametrize("resample", [1, 3])
def test_independent_pixels_are_filled_from_their_own_distribution(resample):
    """For data with independent pixels N(0.2, 0.5^2) the known pixels tell nothing about the
    unknown ones, so the exact predictor fills them from N(0.2, 0.5^2): mean and std within 5
    standard errors over 3,000 images x 2 pixels (DDPM's steps, eta = 1, all T = 1000 of them).
    With resampling too: noising back to t with q(x_t | x_t') keeps every step's marginal. (DDPM's
    own discretisation shrinks the std a little, as its variance beta-tilde leaves out the spread
    of x0_hat: by about 0.003 at T = 1000, 0.006 with resampling, both well inside 5 standard
    errors, 0.023; at T = 100 by 0.02 and 0.03, which is why this test takes T = 1000.)"""
    schedule = dh.NoiseSchedule("cosine", 1000)
    model = dh.GaussianNoisePredictor(schedule, mean=0.2, std=0.5)
    x_T = torch.randn(3000, 1, 2, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    mask = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    filled = dh.inpaint_sample(model, schedule, x_T, 1000, known=torch.full((1, 1, 2, 2), -0.9, dtype=torch.float64),
                               mask=mask, clip_x0=False, generator=torch.Generator().manual_seed(5), progress=False,
                               resample=resample)
    unknown = filled[:, 0, 1].flatten()
    n = unknown.numel()
    assert abs(unknown.mean().item() - 0.2) < 5 * 0.5 / math.sqrt(n)
    assert abs(unknown.std().item() - 0.5) < 5 * 0.5 / math.sqrt(2 * n)


def test_eta_sets_the_fresh_noise_of_the_unknown_pixels():
    """The exact Gaussian predictor treats each pixel on its own, so with eta = 0 the unknown pixels
    are a deterministic function of x_T (the known pixels' fresh noise cannot reach them), and with
    eta > 0 two generators give two fillings."""
    schedule, model, known, x_T = setup_run()

    def fill(eta, seed):
        return dh.inpaint_sample(model, schedule, x_T, 10, known=known, mask=top_half(), eta=eta, clip_x0=False,
                                 generator=torch.Generator().manual_seed(seed), progress=False)[:, :, 4:]
    assert torch.equal(fill(0.0, 1), fill(0.0, 2))
    assert not torch.allclose(fill(0.5, 1), fill(0.5, 2))


def test_one_mask_an_image_and_one_image_under_every_noise():
    schedule, model, known, x_T = setup_run()
    masks = torch.zeros(6, 1, 8, 8)
    for row in range(6):
        masks[row, :, row] = 1  # row `row` of image `row` known
    filled = dh.inpaint_sample(model, schedule, x_T, 5, known=known, mask=masks, progress=False)
    for row in range(6):
        assert torch.equal(filled[row, :, row], known[row, :, row])
    one = dh.inpaint_sample(model, schedule, x_T, 5, known=known[:1], mask=top_half(), progress=False)
    assert torch.equal(one[:, :, :4], known[:1, :, :4].expand(6, -1, -1, -1))


def test_resampling_costs_the_model_calls_it_says():
    schedule, model, known, x_T = setup_run()
    calls = []

    def counting(x, t, y=None):
        calls.append(int(t[0]))
        return model(x, t)
    for num_steps, resample in ((10, 1), (10, 3), (4, 2)):
        calls.clear()
        dh.inpaint_sample(counting, schedule, x_T, num_steps, known=known, mask=top_half(), resample=resample,
                          progress=False)
        assert len(calls) == num_steps + (resample - 1) * (num_steps - 1)
        grid = dh.make_timesteps(100, num_steps).tolist()
        assert calls == [t for t in grid[:-1] for _ in range(resample)] + [grid[-1]]


@pytest.mark.parametrize("mask, error, words", [
    ([[1, 0]], TypeError, "mask must be a torch.Tensor of 0 (unknown"),
    (torch.ones(7, 8), ValueError, "mask must broadcast to x_T's shape (6, 1, 8, 8)"),
    (torch.ones(2, 1, 8, 8), ValueError, "mask must broadcast"),
    (torch.ones(1, 6, 1, 8, 8), ValueError, "mask must broadcast"),
    (torch.ones(0), ValueError, "mask must broadcast"),
    (torch.full((8, 8), 0.5), ValueError, "mask must hold only 0 (unknown"),
    (torch.full((8, 8), float("nan")), ValueError, "mask must hold only 0"),
    (2 * torch.ones(8, 8, dtype=torch.long), ValueError, "e.g. 2"),
])
def test_bad_masks_are_refused_naming_the_mask(mask, error, words):
    schedule, model, known, x_T = setup_run()
    with pytest.raises(error) as info:
        dh.inpaint_sample(model, schedule, x_T, 5, known=known, mask=mask, progress=False)
    assert words in str(info.value)


@pytest.mark.parametrize("options, error, words", [
    ({"known": torch.zeros(6, 1, 8, 7)}, ValueError, "known must have x_T's shape (6, 1, 8, 8) or batch 1"),
    ({"known": torch.zeros(3, 1, 8, 8)}, ValueError, "known must have x_T's shape"),
    ({"known": torch.full((6, 1, 8, 8), 200.0)}, ValueError, "known must be images in [-1, 1]"),
    ({"known": torch.full((6, 1, 8, 8), float("nan"))}, ValueError, "known holds NaN"),
    ({"resample": 0}, ValueError, "resample must be in [1, inf]"),
    ({"eta": 1.5}, ValueError, "eta must be in [0.0, 1.0]"),
])
def test_bad_known_images_and_options_are_refused_before_any_step(options, error, words):
    schedule, model, known, x_T = setup_run()
    calls = []

    def counting(x, t, y=None):
        calls.append(1)
        return model(x, t)
    arguments = {"known": known, "mask": top_half()} | options
    with pytest.raises(error) as info:
        dh.inpaint_steps(counting, schedule, x_T, 5, progress=False, **arguments)
    assert words in str(info.value) and not calls


def test_known_and_mask_are_required():
    schedule, model, known, x_T = setup_run()
    with pytest.raises(TypeError, match="mask"):
        dh.inpaint_sample(model, schedule, x_T, 5, known=known)


def test_seam_jump_measures_the_step_across_the_masks_edge():
    """An image that is -1 above row 4 and 1 from row 4 on, with the top half known: every pair
    across the edge differs by 2; an image that is smooth across it: by its slope."""
    mask = top_half()
    step = torch.full((2, 1, 8, 8), -1.0)
    step[:, :, 4:] = 1.0
    torch.testing.assert_close(dh.seam_jump(step, mask), torch.full((2,), 2.0, dtype=torch.float64))
    ramp = torch.linspace(-0.7, 0.7, 8).reshape(1, 1, 8, 1).expand(3, 1, 8, 8)
    torch.testing.assert_close(dh.seam_jump(ramp, mask), torch.full((3,), 0.2, dtype=torch.float64))
    box = torch.zeros(8, 8)
    box[2:5, 3:6] = 1  # a 3x3 box: 12 pairs across its edge
    image = torch.full((1, 1, 8, 8), -0.5)
    image[0, 0, 2:5, 3:6] = 0.0
    torch.testing.assert_close(dh.seam_jump(image, box), torch.tensor([0.5], dtype=torch.float64))
    with pytest.raises(ValueError, match="mask must hold both known and unknown pixels"):
        dh.seam_jump(image, torch.ones(8, 8))
    with pytest.raises(ValueError, match="mask must broadcast"):
        dh.seam_jump(image, torch.ones(7, 8))


def test_the_inpainting_figure_draws_the_seam_on_every_filled_image(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    known = torch.rand(1, 1, 8, 8) * 2 - 1
    rows = {"baseline": torch.rand(4, 1, 8, 8) * 2 - 1, "resampled": torch.rand(4, 1, 8, 8) * 2 - 1}
    figure = dh.plots.show_inpainting(known, top_half(), rows, title="filled")
    assert figure._suptitle.get_text() == "filled"
    drawn = [ax for ax in figure.axes if ax.images]
    assert len(drawn) == 2 + 8  # the real digit, what is given, and 2 rows of 4
    assert sum(bool(ax.collections) for ax in drawn) == 1 + 8, "the seam on what is given and on every filled image"
    assert [ax.get_ylabel() for ax in figure.axes if ax.get_ylabel()] == ["baseline", "resampled"]
    figure.savefig(tmp_path / "inpainting.png")
    plt.close(figure)
    with pytest.raises(ValueError, match="every row must be images"):
        dh.plots.show_inpainting(known, top_half(), {"a": torch.zeros(4, 1, 8, 8), "b": torch.zeros(3, 1, 8, 8)})
    with pytest.raises(ValueError, match="mask must be a tensor of the image's height and width"):
        dh.plots.show_inpainting(known, torch.ones(1, 8, 8), rows)
