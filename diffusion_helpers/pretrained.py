"""Checkpoints: save and load a model with its metadata, verified by a SHA-256 digest; the
shipped pretrained weights.

A checkpoint is a torch.save file holding {"metadata", "state_dict", "sha256"}; the digest covers
the metadata and every tensor's bytes, so a corrupted or truncated file is refused.
"""
import hashlib
import json
import os

import torch

from ._checks import check_choice, check_mapping, check_number, check_path
from ._version import __version__
from .models import build_model
from .runtime import pick_device
from .schedules import NoiseSchedule

FORMAT = "diffusion_helpers-checkpoint-1"
WEIGHTS_DIR = os.path.join(os.path.dirname(__file__), "weights")

# The shipped checkpoints. "sha256" is the digest of the whole file; None until the file ships.
PRETRAINED = {
    "mnist": dict(file="mnist.pt", sha256="04a03cae2a8769307966820aa6494e013dc9d04fa5d9399f376751e2fb41d5f5",
                  description="unconditional U-Net for 28x28 MNIST digits (DDPM, cosine schedule, T=1000)"),
    "mnist-cond": dict(file="mnist-cond.pt", sha256="955aa05638e0212253ff10135bcc4d4a8dd11294bcc82bf49932b0524615b760",
                       description="class-conditional U-Net for MNIST with a null label (classifier-free guidance)"),
    "digit-classifier": dict(file="digit-classifier.pt", sha256="954889b98e0d0710bf39aadafd4b06030f975b280beb93ce89bc46d73f78731d",
                             description="small CNN that recognises digits, to judge samples (dh.metrics)"),
    # trained by `python -m diffusion_helpers.recipes mnist-flow` in four runs, each continuing the last with
    # --init (15,177 steps in 220 min on one CPU thread, the last 85 min at lr 5e-4 decaying to 0; its metadata
    # holds the whole budget); its schedule is None (no noise schedule)
    "mnist-flow": dict(file="mnist-flow.pt", sha256="339dfd7d8e899c406144178e53697ca30351fee5fd07384acedabed1ee4cf651",
                       description="unconditional flow-matching U-Net for MNIST (velocity, continuous time t in [0, 1])"),
}


def _digest(metadata, state_dict):
    sha = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode())
    for key in sorted(state_dict):
        tensor = state_dict[key].detach().cpu().contiguous()
        sha.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        sha.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()


def save_checkpoint(path, model, schedule, data, training=None, final_loss=None, half=False):
    """Save ``model`` (an MLPDenoiser or UNet) with what it takes to rebuild and judge it.

    Args:
        path: file to write (parent folders are created).
        model: the trained model; its class name and ``model.config`` are stored.
        schedule: the NoiseSchedule it was trained with (None for a classifier).
        data: a short description of the training data, e.g. "MNIST train, 60,000 digits".
        training: the training budget and options, a dict of plain values (steps, minutes, ...).
        final_loss: the loss at the end of training.
        half: store floating-point weights in float16 (half the size; loading restores float32).
    Returns the metadata dict that was stored.
    """
    path = check_path("path", path, writing=True)
    if not hasattr(model, "config"):
        raise TypeError(f"model must be a diffusion_helpers model with a .config, got {type(model).__name__}")
    if schedule is not None and not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule or None, got {type(schedule).__name__}")
    training = dict(check_mapping("training", training, '{"steps": 500, "lr": 1e-3}', allow_empty=True)) if training else {}
    final_loss = None if final_loss is None else check_number("final_loss", final_loss)
    try:
        json.dumps(training)
    except TypeError as error:
        raise TypeError(f"training must hold plain values (numbers, strings, lists, dicts): {error}; "
                        "convert tensors with .item() or .tolist()") from None
    metadata = {"format": FORMAT, "model_class": type(model).__name__, "model_config": model.config,
                "schedule": None if schedule is None else schedule.config(), "data": str(data), "training": training,
                "final_loss": final_loss,
                "package_version": __version__, "torch_version": str(torch.__version__)}
    state_dict = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
    if half:
        state_dict = {key: value.half() if value.is_floating_point() else value for key, value in state_dict.items()}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save({"metadata": metadata, "state_dict": state_dict, "sha256": _digest(metadata, state_dict)}, path)
    return metadata


def load_checkpoint(path, device="cpu"):
    """Load a checkpoint written by ``save_checkpoint``.

    Returns (model in eval mode on ``device``, NoiseSchedule or None, metadata dict).
    Raises FileNotFoundError if ``path`` does not exist and ValueError if the file is not a
    checkpoint, is truncated, or its digest does not match (corrupted).
    """
    path, device = check_path("path", path), pick_device(device)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"checkpoint {path} is corrupted or truncated and cannot be read ({type(error).__name__})") from None
    if not isinstance(payload, dict) or set(payload) != {"metadata", "state_dict", "sha256"} \
            or payload["metadata"].get("format") != FORMAT:
        raise ValueError(f"{path} is not a diffusion_helpers checkpoint (format {FORMAT})")
    metadata, state_dict = payload["metadata"], payload["state_dict"]
    if _digest(metadata, state_dict) != payload["sha256"]:
        raise ValueError(f"checkpoint {path} is corrupted: its SHA-256 digest does not match its contents")
    try:
        model = build_model(metadata["model_class"], metadata["model_config"])
        schedule = None if metadata["schedule"] is None else NoiseSchedule.from_config(metadata["schedule"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"checkpoint {path} describes a model or schedule that cannot be built: "
                         f"{type(error).__name__}: {error}") from None
    expected = model.state_dict()
    missing, unexpected = expected.keys() - state_dict.keys(), state_dict.keys() - expected.keys()
    wrong_shapes = [f"{key} {tuple(state_dict[key].shape)} (the model has {tuple(value.shape)})"
                    for key, value in expected.items() if key in state_dict and state_dict[key].shape != value.shape]
    if missing or unexpected or wrong_shapes:
        raise ValueError(f"checkpoint {path} does not fit its {metadata['model_class']}: "
                         + "; ".join(f"{what}: {', '.join(sorted(keys)[:5])}{' ...' if len(keys) > 5 else ''}"
                                     for what, keys in (("missing weights", missing), ("unexpected weights", unexpected),
                                                        ("wrong shapes", wrong_shapes)) if keys))
    model.load_state_dict(state_dict)
    if schedule is not None:
        model.trained_schedule = metadata["schedule"]  # the samplers warn when given another (dh.model_checks)
    return model.eval().to(device), schedule, metadata


def file_sha256(path):
    """SHA-256 of a file's bytes, as hex."""
    sha = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def list_pretrained():
    """The shipped checkpoints: a list of dicts with name, description, available, size_mb, and,
    when the file ships, what data and budget trained it and its final loss."""
    rows = []
    for name, entry in PRETRAINED.items():
        path = os.path.join(WEIGHTS_DIR, entry["file"])
        row = {"name": name, "description": entry["description"], "available": os.path.isfile(path), "size_mb": None}
        if row["available"]:
            row["size_mb"] = round(os.path.getsize(path) / 1e6, 2)
            metadata = load_checkpoint(path)[2]
            row.update(data=metadata["data"], training=metadata["training"], final_loss=metadata["final_loss"])
        rows.append(row)
    return rows


def load_pretrained(name, device="cpu"):
    """Load a shipped checkpoint: ``model, schedule = load_pretrained("mnist")``.

    names: "mnist" (unconditional), "mnist-cond" (class-conditional with a null label),
    "digit-classifier" and "mnist-flow" (a flow-matching velocity model; both have schedule None).
    The file's SHA-256 is checked against the one recorded when it was shipped.
    Returns (model in eval mode on ``device``, NoiseSchedule or None).
    """
    check_choice("name (of a shipped checkpoint)", name, PRETRAINED)
    entry = PRETRAINED[name]
    path = os.path.join(WEIGHTS_DIR, entry["file"])
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"the weights for {name!r} are not shipped in this version ({path} is missing); "
            "train your own with dh.train and save them with dh.save_checkpoint")
    if entry["sha256"] is not None and file_sha256(path) != entry["sha256"]:
        raise ValueError(f"{path} does not match the SHA-256 recorded for {name!r}: the file is corrupted or replaced")
    model, schedule, _ = load_checkpoint(path, device)
    return model, schedule
