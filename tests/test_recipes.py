"""The training command of the shipped checkpoints runs end to end and writes a loadable checkpoint."""
import os

import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers import recipes


def test_reproduce_writes_a_checkpoint_with_its_budget_and_a_preview(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIFFUSION_OFFLINE", "1")
    path = recipes.reproduce("mnist-cond", minutes=None, steps=2, out_dir=str(tmp_path), report_every=1)
    model, schedule, metadata = dh.load_checkpoint(path)
    assert metadata["training"]["steps"] == 2 and metadata["training"]["label_dropout"] == 0.15
    assert model.config["num_classes"] == 10 and schedule.num_timesteps == 1000
    out = capsys.readouterr().out
    assert "t0-100" in out and "sha256" in out and "preview: confident" in out and "accuracy" in out
    assert os.path.isfile(os.path.join(tmp_path, "mnist-cond", "preview_000002.png"))


def test_a_run_continues_from_a_checkpoint_and_adds_up_its_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFUSION_OFFLINE", "1")
    first = recipes.reproduce("mnist", minutes=None, steps=2, out_dir=str(tmp_path / "a"), report_every=2,
                              num_mid_blocks=2)
    # lr = 0: the weights cannot move, so the continued (and grown) checkpoint must hold exactly the
    # first one's weights, beside two extra middle blocks
    with pytest.warns(UserWarning, match="nothing is learned"):
        second = recipes.reproduce("mnist", minutes=None, steps=3, out_dir=str(tmp_path / "b"), report_every=3,
                                   init=first, lr=0.0, lr_schedule="cosine", num_mid_blocks=4)
    (model_a, _, _), (model_b, _, metadata) = dh.load_checkpoint(first), dh.load_checkpoint(second)
    weights_a, weights_b = model_a.state_dict(), model_b.state_dict()
    assert all(torch.equal(weights_a[key], weights_b[key]) for key in weights_a)
    assert model_b.config["num_mid_blocks"] == 4 and "--num-mid-blocks 4" in metadata["training"]["command"]
    training = metadata["training"]
    assert training["init"]["steps"] == 2 and training["total_steps"] == 5 and training["lr_schedule"] == "cosine"
    assert "--init" in training["command"] and "--lr-schedule cosine" in training["command"]
    with pytest.raises(ValueError, match="model config"):
        recipes.reproduce("mnist-cond", steps=1, out_dir=str(tmp_path / "c"), init=first)
    with pytest.raises(ValueError, match="overwritten"):
        recipes.reproduce("mnist", steps=1, out_dir=str(tmp_path / "a"), init=first)


def test_a_grown_unet_starts_as_the_smaller_one_and_its_new_blocks_learn():
    torch.manual_seed(0)
    small = dh.UNet(base_channels=16)
    torch.nn.init.normal_(small.conv_out[-1].weight, std=0.1)  # undo the zero init: outputs to compare
    grown = recipes.grow_from(dh.UNet(base_channels=16, num_mid_blocks=4), small)
    x, t = torch.randn(4, 1, 28, 28), torch.tensor([3, 200, 600, 999])
    assert torch.equal(grown(x, t), small(x, t))  # the two extra middle blocks are the identity
    torch.nn.functional.mse_loss(grown(x, t), x).backward()
    assert grown.mid_extra[1][1].conv2.weight.grad.abs().sum() > 0  # ... and receive gradient
    for config in (dict(num_mid_blocks=2, base_channels=32), dict(num_mid_blocks=2, num_classes=10)):
        with pytest.raises(ValueError, match="only num_mid_blocks may grow"):
            recipes.grow_from(dh.UNet(**config), small)
    for start in (grown, dh.DigitClassifier()):
        with pytest.raises(ValueError, match="only num_mid_blocks may grow"):
            recipes.grow_from(dh.UNet(base_channels=16), start)


def test_loss_by_band_reports_every_band():
    model = dh.UNet(base_channels=16)
    images = torch.rand(8, 1, 28, 28) * 2 - 1
    losses = recipes.loss_by_band(model, dh.NoiseSchedule("cosine", 1000), images, None)
    assert len(losses) == len(recipes.BANDS)
    # a fresh U-Net predicts zero noise, so each band's loss is E[eps^2] = 1 up to sampling error
    assert all(abs(loss - 1) < 0.1 for loss in losses)


def test_unknown_recipe_is_refused():
    with pytest.raises(ValueError, match="mnist"):
        recipes.reproduce("cifar")


def test_the_command_line_passes_every_training_option_to_the_recipe(monkeypatch):
    calls = []
    monkeypatch.setattr(recipes, "reproduce", lambda *args, **kwargs: calls.append((args, kwargs)))
    monkeypatch.setattr("sys.argv", ["recipes", "mnist", "--minutes", "7", "--init", "a.pt", "--lr", "3e-4",
                                     "--lr-schedule", "cosine", "--warmup-steps", "20", "--loss-weighting", "min_snr",
                                     "--batch-size", "256", "--ema-decay", "0.9995", "--num-mid-blocks", "2"])
    recipes.main()
    (args, kwargs), = calls
    assert args[:2] == ("mnist", 7.0) and kwargs.pop("init") == "a.pt" and kwargs.pop("num_mid_blocks") == 2
    assert kwargs == dict(lr=3e-4, lr_schedule="cosine", warmup_steps=20, loss_weighting="min_snr",
                          batch_size=256, ema_decay=0.9995)


def test_the_mnist_flow_recipe_trains_previews_and_writes_a_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIFFUSION_OFFLINE", "1")
    path = recipes.reproduce("mnist-flow", minutes=None, steps=2, out_dir=str(tmp_path), report_every=1)
    model, schedule, metadata = dh.load_checkpoint(path)
    assert schedule is None and model.continuous_time and model.config["num_mid_blocks"] == 4
    assert metadata["training"]["objective"] == "flow_matching" and metadata["training"]["steps"] == 2
    assert model.config == dh.UNet(**recipes.RECIPES["mnist-flow"]["model"]).config
    out = capsys.readouterr().out
    assert "t0-0.1:" in out and "steps/s" in out and "preview: confident" in out and "sha256" in out
    assert os.path.isfile(os.path.join(tmp_path, "mnist-flow", "preview_000002.png"))
    x_T = torch.randn(2, 1, 28, 28)
    assert dh.flow_euler_sample(model, x_T, 2, progress=False).shape == x_T.shape
    shipped, shipped_schedule = dh.load_pretrained("mnist-flow")  # the shipped one: the same recipe, trained longer
    assert shipped.config == model.config and shipped_schedule is None
