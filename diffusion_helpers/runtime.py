"""Where the series runs: device choice, seeds, the switches read from the environment (quick
mode, presenter mode), and the optional packages some cells use."""
import importlib
import os
import random
import subprocess
import sys

import numpy as np
import torch

from ._checks import check_seed


def pick_device(device=None):
    """The device to use: ``device`` if given, else CUDA, then Apple MPS, then CPU. Returns a torch.device."""
    if device is not None:
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError) as error:
            raise ValueError(f"device must be 'cpu', 'cuda', 'mps' (or e.g. 'cuda:0'), got {device!r}") from error
        mps_available = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
        if (device.type == "cuda" and not torch.cuda.is_available()) or (device.type == "mps" and not mps_available):
            raise ValueError(f"device {str(device)!r} is not available on this machine: use dh.pick_device() to "
                             "choose the best one there is, or 'cpu'")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed=0):
    """Seed Python, NumPy and PyTorch (every device) so that a notebook reruns identically."""
    seed = check_seed("seed", seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def env_flag(name):
    """An on/off switch read from the environment variable ``name``: 1, true, yes, on (any case,
    spaces ignored) mean on; 0, false, no, off, empty or unset mean off; anything else is an error
    (a typo must not silently mean "off")."""
    value = os.environ.get(name, "").strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ValueError(f"the environment variable {name} must be one of {list(TRUE_WORDS)} (on) or "
                     f"{list(FALSE_WORDS[:-1])} (off), any case; got {os.environ[name]!r}")


def quick_mode():
    """True when the environment variable DIFFUSION_QUICK is on (1, true, yes, on; CI and `make
    test` set it to 1). Notebooks read it to shrink training and sampling so that the whole series
    runs in minutes on two CPU cores.
    """
    return env_flag("DIFFUSION_QUICK")


def presenter_mode():
    """True when the environment variable DIFFUSION_PRESENTER is on: figures for a lecture hall
    (larger fonts and figures; ``tools/export.py slides --presenter`` sets it)."""
    return env_flag("DIFFUSION_PRESENTER")


def on_colab():
    """True inside a Google Colab kernel (which imports google.colab before any cell runs)."""
    return "google.colab" in sys.modules


# The optional packages of the notebooks: name -> (pip requirement, what needs it). `make lab` installs
# them (pyproject's extra of the same name; tests/test_runtime.py checks that the two agree).
OPTIONAL_PACKAGES = {
    "diffusers": ("diffusers>=0.25", "the side-by-side with Hugging Face diffusers' schedulers (notebooks 4 and 5)"),
}


def optional_import(name):
    """Import an optional package, or return None with one line saying what is missing, what needs it
    and how to install it: a cell that needs it then skips its part instead of failing. On Colab
    (a throwaway runtime, where the setup cell installs the package too) it is installed with pip
    first. ``name`` is a key of OPTIONAL_PACKAGES ("diffusers").

    Example::

        diffusers = dh.optional_import("diffusers")
        if diffusers is not None:
            scheduler = diffusers.DDPMScheduler(...)
    """
    if name not in OPTIONAL_PACKAGES:
        raise ValueError(f"name must be one of the optional packages {sorted(OPTIONAL_PACKAGES)}, got {name!r}")
    requirement, needed_for = OPTIONAL_PACKAGES[name]
    try:
        return importlib.import_module(name)
    except ImportError:
        pass
    if on_colab():
        print(f"installing {requirement} (Colab) for {needed_for} ...")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", requirement], check=False)
        importlib.invalidate_caches()
        try:
            return importlib.import_module(name)
        except ImportError:
            pass
    print(f"{name} is not installed, so this cell skips {needed_for}: install it with "
          f"`pip install \"{requirement}\"` (`make lab` installs it), then rerun the cell.")
    return None
