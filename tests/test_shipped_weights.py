"""The checkpoints that ship inside the package: present, verified, and working offline."""
import os
import shutil

import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers import pretrained

SHIPPED = [name for name, entry in pretrained.PRETRAINED.items() if entry["sha256"] is not None]


def test_every_recorded_checkpoint_is_in_the_package():
    assert set(SHIPPED) == {"mnist", "mnist-cond", "digit-classifier", "mnist-flow"}
    for name in SHIPPED:
        path = os.path.join(pretrained.WEIGHTS_DIR, pretrained.PRETRAINED[name]["file"])
        assert os.path.isfile(path), f"{name}: {path} is missing"
        assert os.path.getsize(path) < 5e6, f"{name} should stay a few MB"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoints_load_in_eval_mode_and_run(name):
    model, schedule = dh.load_pretrained(name)
    assert not model.training and next(model.parameters()).device.type == "cpu"
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        if name == "digit-classifier":
            assert schedule is None and model(x).shape == (4, 10)
        elif model.config.get("continuous_time"):  # a flow-matching velocity model: t in [0, 1], no schedule
            assert schedule is None and model(x, torch.tensor([0.0, 0.01, 0.5, 1.0])).shape == x.shape
        else:
            y = torch.tensor([0, 3, 7, dh.NULL_LABEL]) if model.config["num_classes"] else None
            assert model(x, torch.tensor([0, 10, 500, 999]), y).shape == x.shape
            assert schedule.num_timesteps == 1000


@pytest.mark.parametrize("name", ["mnist", "mnist-cond"])
def test_shipped_u_nets_are_the_ones_their_recipes_build(name):
    """`python -m diffusion_helpers.recipes NAME` must train the architecture that ships."""
    from diffusion_helpers.recipes import RECIPES
    model, _ = dh.load_pretrained(name)
    recipe = RECIPES[name]
    assert model.config == dh.UNet(**recipe["model"], num_classes=recipe["num_classes"]).config


def test_an_altered_shipped_file_is_refused(tmp_path, monkeypatch):
    for name in SHIPPED:
        shutil.copy(os.path.join(pretrained.WEIGHTS_DIR, pretrained.PRETRAINED[name]["file"]), tmp_path)
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", str(tmp_path))
    path = tmp_path / "mnist-cond.pt"
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(ValueError, match="SHA-256"):
        dh.load_pretrained("mnist-cond")
    path.write_bytes(bytes(content[: len(content) // 2]))
    with pytest.raises(ValueError, match="SHA-256"):
        dh.load_pretrained("mnist-cond")
    path.unlink()
    with pytest.raises(FileNotFoundError, match="mnist-cond"):
        dh.load_pretrained("mnist-cond")


def test_the_classifier_recognises_real_digits():
    classifier, _ = dh.load_pretrained("digit-classifier")
    images, labels = dh.load_mnist(train=False, offline=True)  # the test split: the recipe never trained on it
    report = dh.digit_report(images, classifier, asked_labels=labels)
    assert report["accuracy"] > 0.97 and report["confident"] > 0.95, report


@pytest.mark.parametrize("name", ["mnist", "mnist-cond", "mnist-flow"])
def test_shipped_models_draw_digits_the_classifier_recognises(name, tmp_path):
    """A guard against shipping a broken or swapped file: 100 fixed-seed samples (DDIM, 20 steps).
    Pure noise or an untrained model gets almost none recognised; the bars are far below the
    benchmark's figures (1,000 samples, 50 steps), so only a real regression fails them."""
    from diffusion_helpers.recipes import preview
    model, schedule = dh.load_pretrained(name)
    classifier, _ = dh.load_pretrained("digit-classifier")
    conditional = model.config["num_classes"] is not None
    report = preview(model, schedule, conditional, str(tmp_path / "grid.png"), classifier)
    assert report["confident"] > 0.6 and report["entropy"] > 2.0, report
    if conditional:
        assert report["accuracy"] > 0.9, report
