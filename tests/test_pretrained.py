"""Checkpoints: round trip with metadata; corrupted, truncated and missing files are refused."""
import os

import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers import pretrained


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = dh.UNet(base_channels=16, num_classes=10)
    torch.nn.init.normal_(model.conv_out[-1].weight, std=0.1)
    schedule = dh.NoiseSchedule("cosine", 500)
    path = tmp_path / "model.pt"
    dh.save_checkpoint(path, model, schedule, data="test digits", training={"steps": 3}, final_loss=0.12)
    return path, model, schedule


def test_round_trip_keeps_weights_schedule_and_metadata(saved):
    path, model, schedule = saved
    loaded, loaded_schedule, metadata = dh.load_checkpoint(path)
    x, t, y = torch.randn(2, 1, 28, 28), torch.tensor([3, 400]), torch.tensor([1, dh.NULL_LABEL])
    torch.testing.assert_close(loaded(x, t, y), model.eval()(x, t, y))
    assert not loaded.training
    torch.testing.assert_close(loaded_schedule.alphas_cumprod, schedule.alphas_cumprod)
    assert metadata["data"] == "test digits" and metadata["training"] == {"steps": 3}
    assert metadata["final_loss"] == 0.12 and metadata["package_version"] == dh.__version__
    assert metadata["model_class"] == "UNet" and metadata["model_config"]["num_classes"] == 10


def test_half_precision_checkpoints_load_as_float32(tmp_path):
    model = dh.MLPDenoiser(hidden_dim=256)  # big enough that the weights dominate the file
    path = tmp_path / "half.pt"
    dh.save_checkpoint(path, model, dh.NoiseSchedule("linear", 10), data="points", half=True)
    loaded = dh.load_checkpoint(path)[0]
    assert loaded.input.weight.dtype == torch.float32
    torch.testing.assert_close(loaded.input.weight, model.input.weight.half().float())
    full = tmp_path / "full.pt"
    dh.save_checkpoint(full, model, dh.NoiseSchedule("linear", 10), data="points")
    assert os.path.getsize(path) < 0.7 * os.path.getsize(full)


def test_a_corrupted_checkpoint_is_refused(saved):
    path = saved[0]
    content = bytearray(path.read_bytes())
    # flip bytes inside the stored weights (the data records sit in the middle of the file)
    middle = len(content) // 2
    content[middle: middle + 4] = bytes(255 - b for b in content[middle: middle + 4])
    path.write_bytes(bytes(content))
    with pytest.raises(ValueError, match="corrupted"):
        dh.load_checkpoint(path)


def test_a_truncated_checkpoint_is_refused(saved):
    path = saved[0]
    path.write_bytes(path.read_bytes()[: os.path.getsize(path) // 3])
    with pytest.raises(ValueError, match="corrupted or truncated"):
        dh.load_checkpoint(path)


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(ValueError, match="not a diffusion_helpers checkpoint"):
        dh.load_checkpoint(path)


def test_missing_files_and_unknown_names(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.pt"):
        dh.load_checkpoint(tmp_path / "nothing.pt")
    with pytest.raises(ValueError) as info:
        dh.load_pretrained("imagenet")
    assert "'mnist'" in str(info.value) and "'mnist-cond'" in str(info.value)


def test_list_pretrained_names_every_entry_and_loading_checks_the_file_hash(saved, monkeypatch, tmp_path):
    rows = dh.list_pretrained()
    assert [row["name"] for row in rows] == ["mnist", "mnist-cond", "digit-classifier", "mnist-flow"]
    assert [row["available"] for row in rows] == [True, True, True, True]
    path = saved[0]
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", str(path.parent))
    monkeypatch.setitem(pretrained.PRETRAINED, "mnist", dict(file=path.name, sha256=pretrained.file_sha256(path),
                                                             description="test"))
    model, schedule = dh.load_pretrained("mnist")
    assert schedule.num_timesteps == 500 and not model.training
    row = dh.list_pretrained()[0]
    assert row["available"] and row["size_mb"] > 0 and row["data"] == "test digits"
    monkeypatch.setitem(pretrained.PRETRAINED, "mnist", dict(file=path.name, sha256="0" * 64, description="test"))
    with pytest.raises(ValueError, match="SHA-256"):
        dh.load_pretrained("mnist")


def test_weights_not_shipped_yet_say_so(monkeypatch, tmp_path):
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="not shipped"):
        dh.load_pretrained("mnist-cond")


def forged_checkpoint(path, edit):
    """A checkpoint altered by ``edit(payload)`` and given a matching digest: the digest cannot
    catch it, so loading must check that the weights fit the model they describe."""
    dh.save_checkpoint(path, dh.UNet(base_channels=16), dh.NoiseSchedule("linear", 10), data="test")
    payload = torch.load(path, weights_only=True)
    edit(payload)
    payload["sha256"] = dh.pretrained._digest(payload["metadata"], payload["state_dict"])
    torch.save(payload, path)
    return path


@pytest.mark.parametrize("edit, words", [
    (lambda p: p["state_dict"].pop("conv_in.weight"), "does not fit its UNet: missing weights: conv_in.weight"),
    (lambda p: p["state_dict"].__setitem__("extra.weight", torch.zeros(2)), "unexpected weights: extra.weight"),
    (lambda p: p["state_dict"].__setitem__("conv_in.bias", torch.zeros(3)),
     "wrong shapes: conv_in.bias (3,) (the model has (16,))"),
    (lambda p: p["metadata"]["model_config"].__setitem__("base_channels", 9),
     "describes a model or schedule that cannot be built: ValueError: base_channels must be even"),
    (lambda p: p["metadata"]["model_config"].__setitem__("heads", 4),
     "cannot be built: ValueError: config holds ['heads'], which UNet does not take"),
    (lambda p: p["metadata"]["schedule"].__setitem__("num_timesteps", 10**9),
     "cannot be built: ValueError: num_timesteps must be in [1, 100000]"),
    (lambda p: p["metadata"]["schedule"].pop("beta_end"), "cannot be built: ValueError: config must hold ['beta_end',"),
])
def test_a_forged_checkpoint_with_a_valid_digest_is_refused_by_name(tmp_path, edit, words):
    path = forged_checkpoint(tmp_path / "forged.pt", edit)
    with pytest.raises(ValueError) as info:
        dh.load_checkpoint(path)
    assert words in str(info.value) and str(path) in str(info.value)


def test_loading_onto_a_device_this_machine_lacks_is_refused(saved):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="'cuda' is not available on this machine"):
        dh.load_checkpoint(saved[0], device="cuda")
