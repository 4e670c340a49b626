"""diffusion_helpers: the small, tested package behind the diffusion teaching series.

    import diffusion_helpers as dh
    s = dh.NoiseSchedule("cosine", num_timesteps=1000)
    x_t, noise = s.q_sample(x0, t)
    x0 = dh.ddim_sample(model, s, torch.randn(16, 1, 28, 28), num_steps=50)
"""
__version__ = "0.1.0"

from .data import (SHAPE_NAMES, TOY_CLASS_NAMES, TOY_NAMES, augment_digits, checkerboard, load_mnist, make_shapes,
                   make_toy_2d, make_toy_classes, white_square)
from .metrics import digit_report, frechet_distance, gaussian_baseline_loss, sliced_wasserstein
from .models import DigitClassifier, MLPDenoiser, SinusoidalTimeEmbedding, UNet, build_model, count_parameters
from .pretrained import list_pretrained, load_checkpoint, load_pretrained, save_checkpoint
from .runtime import pick_device, quick_mode, seed_everything, setup
from .sampling import ddim_sample, ddim_steps, ddim_timesteps, ddpm_sample, ddpm_steps, guided_noise
from .schedules import SCHEDULE_NAMES, NoiseSchedule, make_betas
from . import exercises, plots, widgets
from .training import TrainConfig, TrainResult, TrainState, train, train_steps
