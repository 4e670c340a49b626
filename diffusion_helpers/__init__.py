"""diffusion_helpers: the small, tested package behind the diffusion teaching series.

    import diffusion_helpers as dh
    s = dh.NoiseSchedule("cosine", num_timesteps=1000)
    x_t, noise = s.q_sample(x0, t)
    model, s = dh.load_pretrained("mnist")
    digits = dh.ddim_sample(model, s, torch.randn(16, 1, 28, 28), num_steps=50)   # in [-1, 1]
    digits = dh.SAMPLERS["unipc"](model, s, torch.randn(16, 1, 28, 28), 10)     # any sampler by name

Images are in [-1, 1] everywhere: data, samples, metrics. Guidance scales are ours: 1 is plain
conditional (Ho & Salimans' w is ours minus 1). ``__all__`` lists the public surface; every module
imports only from modules below it, never from this file.
"""
from ._version import __version__
from .conditioning import NULL_LABEL, drop_labels
from .data import (SHAPE_NAMES, TOY_CLASS_NAMES, TOY_NAMES, augment_digits, checkerboard, load_mnist, make_shapes,
                   make_toy_2d, make_toy_classes, toy_class_outlines, white_square)
from .exact import GaussianNoisePredictor, GaussianVelocityPredictor
from .flow_conversion import (TIME_VARIABLES, VelocityFromNoise, alpha_bar_from_flow_time, ode_state, ode_time,
                              velocity_from_eps)
from .flow_matching import (conditional_velocity, flow_matching_loss, linear_path, path_straightness,
                            path_straightness_estimate,
                            x0_hat_from_velocity)
from .flow_samplers import (euler_step, flow_euler_sample, flow_euler_steps, flow_heun_sample, flow_heun_steps,
                            flow_times, heun_step)
from .guidance import guided_noise
from .inpainting import inpaint_sample, inpaint_steps, seam_jump
from .latents import ddim_invert, slerp
from .loop import SamplerState
from .cost import Cost, measure_cost
from .metrics import (DigitReference, class_diversity, digit_reference, digit_report, frechet_distance,
                      gaussian_baseline_loss, sliced_wasserstein)
from .metrics_shapes import shape_fit, shape_report
from .models import DigitClassifier, MLPDenoiser, SinusoidalTimeEmbedding, UNet, build_model, count_parameters
from .pretrained import list_pretrained, load_checkpoint, load_pretrained, save_checkpoint
from .references import Reference, load_reference, missing_reference_note, record
from .claims import check_claims
from . import references
from .runtime import optional_import, pick_device, presenter_mode, quick_mode, seed_everything
from .samplers import FLOW_SAMPLER_STEPS, FLOW_SAMPLERS, SAMPLER_STEPS, SAMPLERS
from .sampling import ddim_sample, ddim_step, ddim_steps, ddpm_sample, ddpm_step, ddpm_steps
from .schedules import SCHEDULE_NAMES, NoiseSchedule, make_betas
from .session import setup
from .solvers import (dpm_solver_sample, dpm_solver_step, dpm_solver_steps, unipc_correct, unipc_sample, unipc_step,
                      unipc_steps)
from .timesteps import DEFAULT_SPACINGS, SPACINGS, make_timesteps, matching_timesteps
from .uncertainty import Estimate, compare, distance_interval, frechet_interval, mean_estimate, ordering, share_estimate
from . import exercises, plots, widgets
from .losses import diffusion_loss, variational_bound_weights
from .training import TrainConfig, TrainResult, TrainState, train, train_steps

__all__ = [
    # schedules and the forward process
    "NoiseSchedule", "SCHEDULE_NAMES", "make_betas",
    # models and conditioning
    "MLPDenoiser", "UNet", "DigitClassifier", "SinusoidalTimeEmbedding", "build_model", "count_parameters", "NULL_LABEL",
    "drop_labels",
    # steps, time grids and samplers
    "ddpm_step", "ddim_step", "dpm_solver_step", "unipc_step", "unipc_correct", "make_timesteps",
    "matching_timesteps", "SPACINGS", "DEFAULT_SPACINGS",
    "SAMPLERS", "SAMPLER_STEPS", "SamplerState", "ddpm_sample", "ddim_sample", "dpm_solver_sample", "unipc_sample",
    "ddpm_steps", "ddim_steps", "dpm_solver_steps", "unipc_steps",
    # latents, inpainting, guidance, the exact predictors
    "ddim_invert", "slerp", "inpaint_sample", "inpaint_steps", "seam_jump", "guided_noise", "GaussianNoisePredictor",
    "GaussianVelocityPredictor",
    # flow matching: the straight path, its loss, DDPM's path as a velocity field, the ODE samplers
    "linear_path", "conditional_velocity", "x0_hat_from_velocity", "flow_matching_loss", "path_straightness",
    "path_straightness_estimate",
    "VelocityFromNoise", "velocity_from_eps", "ode_time", "ode_state", "alpha_bar_from_flow_time", "TIME_VARIABLES",
    "euler_step", "heun_step", "flow_times", "flow_euler_sample", "flow_heun_sample", "flow_euler_steps",
    "flow_heun_steps", "FLOW_SAMPLERS", "FLOW_SAMPLER_STEPS",
    # training
    "diffusion_loss", "variational_bound_weights", "train", "train_steps", "TrainConfig", "TrainResult", "TrainState",
    # data
    "load_mnist", "make_toy_2d", "make_toy_classes", "toy_class_outlines", "make_shapes", "augment_digits", "checkerboard", "white_square",
    "TOY_NAMES", "TOY_CLASS_NAMES", "SHAPE_NAMES",
    # checkpoints
    "load_pretrained", "list_pretrained", "load_checkpoint", "save_checkpoint",
    # reference runs: full-mode numbers shipped beside a student's own
    "load_reference", "missing_reference_note", "record", "Reference", "check_claims", "references",
    # metrics
    "digit_report", "frechet_distance", "sliced_wasserstein", "class_diversity", "gaussian_baseline_loss",
    "digit_reference", "DigitReference", "shape_report", "shape_fit",
    # measured values: their uncertainty, and what a run costs
    "Estimate", "share_estimate", "frechet_interval", "distance_interval", "mean_estimate", "compare", "ordering", "measure_cost", "Cost",
    # the session
    "setup", "pick_device", "seed_everything", "quick_mode", "presenter_mode", "optional_import",
    # submodules the notebooks use by name
    "exercises", "plots", "widgets",
]
