"""diffusion_helpers: the small, tested package behind the diffusion teaching series.

    import diffusion_helpers as dh
    s = dh.NoiseSchedule("cosine", num_timesteps=1000)
    x_t, noise = s.q_sample(x0, t)
    model, s = dh.load_pretrained("mnist")
    digits = dh.ddim_sample(model, s, torch.randn(16, 1, 28, 28), num_steps=50)   # in [-1, 1]

Images are in [-1, 1] everywhere: data, samples, metrics. Guidance scales are ours: 1 is plain
conditional (Ho & Salimans' w is ours minus 1).
"""
__version__ = "0.1.0"

from ._checks import NULL_LABEL
from .data import (SHAPE_NAMES, TOY_CLASS_NAMES, TOY_NAMES, augment_digits, checkerboard, load_mnist, make_shapes,
                   make_toy_2d, make_toy_classes, white_square)
from .exact import GaussianNoisePredictor
from .guidance import guided_noise
from .latents import ddim_invert, slerp
from .metrics import class_diversity, digit_report, frechet_distance, gaussian_baseline_loss, sliced_wasserstein
from .models import DigitClassifier, MLPDenoiser, SinusoidalTimeEmbedding, UNet, build_model, count_parameters
from .pretrained import list_pretrained, load_checkpoint, load_pretrained, save_checkpoint
from .runtime import pick_device, presenter_mode, quick_mode, seed_everything, setup
from .sampling import (SPACINGS, SamplerState, ddim_sample, ddim_step, ddim_steps, ddpm_sample, ddpm_step, ddpm_steps,
                       make_timesteps)
from .schedules import SCHEDULE_NAMES, NoiseSchedule, make_betas
from .solvers import dpm_solver_sample, dpm_solver_step, dpm_solver_steps, unipc_correct, unipc_sample, unipc_steps
from . import exercises, plots, widgets
from .losses import diffusion_loss
from .training import TrainConfig, TrainResult, TrainState, train, train_steps
