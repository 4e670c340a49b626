"""Where the series runs: device choice, seeds, quick mode."""
import os
import random

import numpy as np
import torch


def pick_device(device=None):
    """The device to use: ``device`` if given, else CUDA, then Apple MPS, then CPU. Returns a torch.device."""
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed=0):
    """Seed Python, NumPy and PyTorch (every device) so that a notebook reruns identically."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def quick_mode():
    """True when the environment variable DIFFUSION_QUICK is set to 1 (CI and `make test` set it).

    Notebooks read it to shrink training and sampling so that the whole series runs in minutes
    on two CPU cores.
    """
    return os.environ.get("DIFFUSION_QUICK", "0").strip().lower() in ("1", "true", "yes")


def setup(seed=0, verbose=True):
    """First cell of every notebook: seed everything, pick the device, make figures readable
    (larger fonts), report quick mode. Returns the torch.device to use.
    """
    import matplotlib.pyplot as plt

    from .plots import READABLE

    plt.rcParams.update(READABLE)
    seed_everything(seed)
    device = pick_device()
    try:  # Colab draws ipywidgets 8 only through its custom widget manager
        from google.colab import output
        output.enable_custom_widget_manager()
    except ImportError:
        pass
    if verbose:
        mode = "quick mode (DIFFUSION_QUICK=1)" if quick_mode() else "full mode"
        print(f"diffusion_helpers ready: device={device}, torch {torch.__version__}, {mode}, seed {seed}")
    return device
