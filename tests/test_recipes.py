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
    assert "t0-100" in out and "sha256" in out
    assert os.path.isfile(os.path.join(tmp_path, "mnist-cond", "preview_000002.png"))


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
