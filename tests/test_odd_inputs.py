"""Odd types and zero sizes given to the public functions, as a student gives them: each is refused
at the package's edge with an error that names the argument and says what is allowed, never a raw
IndexError, AttributeError, ZeroDivisionError or RuntimeError from deep inside (each row below
ended in one of those, or passed without a word, before the check that now catches it)."""
import numpy as np
import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers import plots

SCHEDULE = dh.NoiseSchedule("linear", 100)
IMAGES = torch.zeros(4, 1, 28, 28)
PAIR = (dh.MLPDenoiser(hidden_dim=8), SCHEDULE)  # what dh.load_pretrained returns, not unpacked


def train(**options):
    return dh.train(dh.MLPDenoiser(hidden_dim=8), SCHEDULE, torch.randn(20, 2), steps=1, progress=False, **options)


CASES = [
    # a tuple where a model is expected
    ("count_parameters(tuple)", lambda: dh.count_parameters(PAIR), TypeError, "unpack it: model, schedule ="),
    ("diffusion_loss(schedule=tuple)", lambda: dh.diffusion_loss(PAIR[0], PAIR, torch.zeros(4, 2)), TypeError,
     "schedule must be a NoiseSchedule, got tuple"),
    ("GaussianNoisePredictor(tuple)", lambda: dh.GaussianNoisePredictor(PAIR), TypeError,
     "schedule must be a NoiseSchedule, got tuple"),
    ("digit_reference(tuple)", lambda: dh.digit_reference(PAIR, IMAGES), TypeError, "unpack it"),
    # empty collections and zero sizes
    ("from_betas([])", lambda: dh.NoiseSchedule.from_betas([]), ValueError, "at least one beta"),
    ("show_images(nrow=0)", lambda: plots.show_images(IMAGES, nrow=0), ValueError, "nrow must be in [1, inf], got 0"),
    ("plot_training_dashboard(nrow=0)", lambda: plots.plot_training_dashboard([1.0], IMAGES, nrow=0), ValueError,
     "nrow must be in [1, inf]"),
    ("plot_losses(smooth=0)", lambda: plots.plot_losses([1.0, 0.5], smooth=0), ValueError, "smooth must be in [1, inf]"),
    ("show_image_grid({})", lambda: plots.show_image_grid({}), ValueError, "rows is empty"),
    ("plot_lines({})", lambda: plots.plot_lines({}, "x"), ValueError, "panels is empty"),
    ("scatter_points({})", lambda: plots.scatter_points({}), ValueError, "clouds is empty"),
    ("plot_paths([])", lambda: plots.plot_paths([]), ValueError, "trajectory must be a non-empty list"),
    ("diffusion_loss(empty x0)", lambda: dh.diffusion_loss(PAIR[0], SCHEDULE, torch.zeros(0, 2)), ValueError,
     "x0 holds no samples"),
    ("augment_digits(empty)", lambda: dh.augment_digits(IMAGES[:0]), ValueError, "B >= 1"),
    ("white_square(channels=0)", lambda: dh.white_square(channels=0), ValueError, "channels must be in [1, inf]"),
    ("digit_report(batch_size=0)", lambda: dh.digit_report(IMAGES, dh.DigitClassifier(), batch_size=0), ValueError,
     "batch_size must be in [1, inf]"),
    # a list of names where one name is expected
    ("load_pretrained(['mnist'])", lambda: dh.load_pretrained(["mnist"]), ValueError, "got ['mnist']; give one name"),
    ("make_toy_2d(['moons', 'spiral'])", lambda: dh.make_toy_2d(["moons", "spiral"]), ValueError, "give one name"),
    ("build_model(['UNet'])", lambda: dh.build_model(["UNet"], {}), ValueError, "model class must be one of"),
    ("SAMPLERS['DDIM']", lambda: dh.SAMPLERS["DDIM"], KeyError, "no sampler named 'DDIM': the names are"),
    # a NumPy array (or a list) where a tensor is expected
    ("q_sample(numpy)", lambda: SCHEDULE.q_sample(np.zeros((2, 2), dtype=np.float32), 5), TypeError,
     "x0 must be a torch.Tensor, got ndarray: convert it with torch.as_tensor(x0, dtype=torch.float32)"),
    ("augment_digits(numpy)", lambda: dh.augment_digits(np.zeros((2, 1, 28, 28))), TypeError,
     "images must be a torch.Tensor"),
    ("show_image_grid(numpy row)", lambda: plots.show_image_grid({"a": np.zeros((2, 1, 28, 28))}), ValueError,
     "rows['a'] must be a tensor of images (K, C, H, W), got ndarray"),
    ("plot_histograms(tensor panel)", lambda: plots.plot_histograms({"a": torch.zeros(5)}), TypeError,
     "panels['a'] must be a dict"),
    ("class_diversity(list labels)", lambda: dh.class_diversity(torch.randn(4, 2), [0, 0, 1, 1]), TypeError,
     "labels must be an integer tensor"),
    ("SinusoidalTimeEmbedding(list)", lambda: dh.SinusoidalTimeEmbedding(8)([1, 2]), ValueError,
     "t must be a 1-D tensor of timesteps"),
    ("plot_losses(TrainResult)", lambda: plots.plot_losses(dh.TrainResult([1.0, 0.5])), TypeError,
     "pass result.losses"),
    # a float seed
    ("seed_everything(0.5)", lambda: dh.seed_everything(0.5), TypeError, "seed must be an integer"),
    ("setup(seed=1.0)", lambda: dh.setup(seed=1.0, verbose=False), TypeError, "got the float 1.0: write 1"),
    ("make_toy_2d(seed=0.5)", lambda: dh.make_toy_2d(seed=0.5), TypeError, "seed must be an integer"),
    ("make_shapes(seed=1.5)", lambda: dh.make_shapes(seed=1.5), TypeError, "seed must be an integer"),
    ("train(seed=0.5)", lambda: train(seed=0.5), TypeError, "seed must be an integer"),
    ("frechet_interval(seed=0.5)", lambda: dh.frechet_interval(torch.randn(9, 2), torch.randn(9, 2), seed=0.5),
     TypeError, "seed must be an integer"),
    # a directory (or nothing) as a checkpoint path
    ("load_checkpoint(dir)", lambda: dh.load_checkpoint("."), IsADirectoryError, "is a folder: give the path of a file"),
    ("save_checkpoint(dir)", lambda: dh.save_checkpoint(".", PAIR[0], SCHEDULE, "x"), IsADirectoryError, "is a folder"),
    ("load_checkpoint(None)", lambda: dh.load_checkpoint(None), TypeError, "path must be a file path"),
    ("save_checkpoint(training=[...])", lambda: dh.save_checkpoint("never.pt", PAIR[0], SCHEDULE, "x", training=[1]),
     TypeError, "training must be a dict"),
    # a U-Net whose channels do not divide into its attention heads, and other impossible U-Nets
    ("UNet(base_channels=10, channel_mults=(1,))", lambda: dh.UNet(base_channels=10, channel_mults=(1,)), ValueError,
     "must divide into the 4 attention heads"),
    ("UNet(channel_mults=())", lambda: dh.UNet(channel_mults=()), TypeError, "channel_mults must be a non-empty tuple"),
    ("UNet(channel_mults=2)", lambda: dh.UNet(channel_mults=2), TypeError, "channel_mults must be a non-empty tuple"),
    ("build_model(config=None)", lambda: dh.build_model("UNet", None), TypeError, "config must be a dict"),
    ("build_model(unknown option)", lambda: dh.build_model("UNet", {"foo": 1}), ValueError,
     "config holds ['foo'], which UNet does not take"),
    # flags given as words, and other types that would silently mean something else
    ("ddim_sample(progress='no')", lambda: dh.ddim_sample(PAIR[0], SCHEDULE, torch.randn(2, 2), 2, progress="no"),
     TypeError, "progress must be True or False, got 'no'"),
    ("load_mnist(offline='no')", lambda: dh.load_mnist(offline="no"), TypeError, "offline must be True or False"),
    ("augment_digits(generator=0)", lambda: dh.augment_digits(IMAGES, generator=0), TypeError,
     "generator must be a torch.Generator"),
    ("augment_digits(scale=1.0)", lambda: dh.augment_digits(IMAGES, scale=1.0), TypeError, "scale must be a pair"),
    ("measure_cost(model, run)", lambda: dh.measure_cost(PAIR[0], lambda m: None), TypeError, "got the model first"),
    ("dpm_solver_step(previous=tensor)", lambda: dh.dpm_solver_step(SCHEDULE, torch.zeros(2, 2), 5, 4, torch.zeros(2, 2),
                                                                     previous=torch.zeros(2, 2)),
     TypeError, "previous must be None or the pair (t_before, x0_hat_before)"),
    ("schedule.to('cuda' without CUDA)", lambda: SCHEDULE.to("cuda") if not torch.cuda.is_available() else
     SCHEDULE.to("gpu"), ValueError, "device"),
    ("mean_estimate(None)", lambda: dh.mean_estimate(None), TypeError, "values must be numbers"),
]


@pytest.mark.parametrize("label, call, error, words", CASES, ids=[case[0] for case in CASES])
def test_an_odd_input_is_named_at_the_edge(label, call, error, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # "." is a folder; nothing is written anywhere else
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value), str(info.value)
    frame = info.traceback[-1]  # raised by the package's own check, not by torch, NumPy or Python deep inside
    assert "diffusion_helpers" in str(frame.path) and "raise" in str(frame.statement), (frame.path, frame.statement)
