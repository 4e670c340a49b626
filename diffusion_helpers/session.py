"""The first cell of every notebook: one call that readies a session."""
import torch

from .plots import use_style
from .runtime import on_colab, pick_device, presenter_mode, quick_mode, seed_everything


def setup(seed=0, verbose=True):
    """First cell of every notebook: seed everything, pick the device, make figures readable
    (larger fonts; larger still in presenter mode), on Colab turn on the widget manager that
    ipywidgets 8 needs there, report quick mode. Returns the torch.device.
    """
    use_style(presenter=presenter_mode())
    if on_colab():
        from google.colab import output

        output.enable_custom_widget_manager()  # Colab draws ipywidgets 8's sliders only with it
    seed_everything(seed)
    device = pick_device()
    if verbose:
        mode = "quick mode (DIFFUSION_QUICK=1)" if quick_mode() else "full mode"
        print(f"diffusion_helpers ready: device={device}, torch {torch.__version__}, {mode}, seed {seed}")
    return device
