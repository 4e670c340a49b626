"""One training loop for every notebook: it minimises ``diffusion_loss`` (losses.py), the simple
DDPM loss (Ho et al. 2020, eq. 14), or with objective="flow_matching" ``flow_matching_loss``
(flow_matching.py), with AdamW, an EMA of the weights and a budget.

``train_steps`` yields after every optimiser step (for live plots); ``train`` runs it to the end.
"""
import copy
import math
import time
import warnings
from dataclasses import dataclass, field, fields, replace

import torch
from tqdm.auto import tqdm

from ._checks import (check_bool, check_choice, check_float_tensor, check_image_range, check_int, check_number,
                      check_seed, warn)
from .conditioning import _drop_labels, check_labels
from .flow_matching import flow_matching_loss, zero_velocity_loss
from .loss_warnings import DIVERGENCE_FACTOR, ZERO_PREDICTION_LOSS, warn_if_diverging, warn_if_worse_than_zero  # noqa: F401
from .losses import LOSS_WEIGHTINGS, diffusion_loss, loss_weights
from .model_checks import check_model, check_model_input, model_num_classes
from .runtime import pick_device
from .schedules import NoiseSchedule


LR_SCHEDULES = ("constant", "cosine")
OBJECTIVES = ("diffusion", "flow_matching")  # what is learned: the noise (eq. 14), or the velocity eps - x0


@dataclass
class TrainConfig:
    """Options of the training loop (``dh.train``), with textbook defaults.

    Give options to ``dh.train`` as keywords (``dh.train(model, s, data, steps=500, lr=2e-3)``), or
    build one config and reuse it (``config = dh.TrainConfig(steps=500)``; ``dh.train(model, s,
    data, config=config)``); keywords override the config's fields. Every value is checked when
    the config is made: a wrong name or an impossible value is an error that names it.
    The ones to try first: steps or minutes (the budget), batch_size, lr, ema_decay.

    Fields: steps (optimiser steps, 2000; an upper bound when minutes is set), minutes (a
    wall-clock budget, None), batch_size (128), lr (AdamW's learning rate, 1e-3), lr_schedule
    ("constant" or "cosine", decaying to 0 over the budget), warmup_steps (0), loss_weighting
    ("uniform", eq. 14, or "min_snr", Hang et al. 2023) and min_snr_gamma (5), weight_decay (0),
    grad_clip (gradient-norm clipping, 1.0; None for none), ema_decay (0.999; 0 for no average),
    label_dropout (share of labels replaced by the null label, 0.1), device (None: the best
    available), seed (0), bf16 (None: on where the GPU supports it), progress (a tqdm bar, True),
    objective ("diffusion": ``diffusion_loss`` with a NoiseSchedule; "flow_matching":
    ``flow_matching_loss`` of a continuous-time model, t ~ Uniform[0, 1], with schedule None).
    """
    steps: int = 2000              # optimiser steps to run (an upper bound when minutes is set)
    minutes: float = None          # wall-clock budget; None: no time limit
    batch_size: int = 128          # samples per step
    lr: float = 1e-3               # AdamW learning rate (the peak, with a schedule)
    lr_schedule: str = "constant"  # "constant", or "cosine": decay to 0 over the budget (steps or minutes)
    warmup_steps: int = 0          # linear warm-up from 0 to lr over these first steps
    loss_weighting: str = "uniform"  # "uniform" (eq. 14), or "min_snr": weight min(SNR, gamma) / SNR
    min_snr_gamma: float = 5.0     # gamma of "min_snr" (Hang et al. 2023 use 5)
    weight_decay: float = 0.0      # AdamW weight decay
    grad_clip: float = 1.0         # clip the gradient norm to this; None: no clipping
    ema_decay: float = 0.999       # EMA of the weights (with warm-up); 0: no average (ema_model is the model)
    label_dropout: float = 0.1     # share of labels replaced by the null label (guidance training)
    device: str = None             # "cuda", "mps", "cpu"; None: the best available
    seed: int = 0                  # seeds batches, timesteps and noise
    bf16: bool = None              # bfloat16 autocast; None: on where the GPU supports it
    progress: bool = True          # show a tqdm bar with the loss
    objective: str = "diffusion"   # "diffusion" (predict the noise) or "flow_matching" (predict the velocity)

    def __post_init__(self):
        check_int("steps", self.steps, low=1)
        if self.minutes is not None:
            check_number("minutes", self.minutes, low=0.0)
        check_int("batch_size", self.batch_size, low=1)
        check_number("lr", self.lr, low=0.0)
        if self.lr == 0:  # may be meant (a check that training leaves the weights alone), so only a warning
            warn("lr = 0: the weights will not change and nothing is learned; try lr=1e-3")
        if self.grad_clip is not None and not (isinstance(self.grad_clip, (int, float)) and self.grad_clip > 0):
            raise ValueError(f"grad_clip must be None (no clipping) or a number > 0 such as 1.0, got {self.grad_clip!r}")
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_int("warmup_steps", self.warmup_steps, low=0)
        check_choice("loss_weighting", self.loss_weighting, LOSS_WEIGHTINGS)
        check_number("min_snr_gamma", self.min_snr_gamma, low=0.0)
        check_number("ema_decay", self.ema_decay, low=0.0, high=1.0)
        check_number("label_dropout", self.label_dropout, low=0.0, high=1.0)
        check_seed("seed", self.seed)
        check_bool("bf16", self.bf16, allow_none=True)
        check_bool("progress", self.progress)
        check_choice("objective", self.objective, OBJECTIVES)
        if self.objective == "flow_matching" and self.loss_weighting != "uniform":
            raise ValueError(f"loss_weighting {self.loss_weighting!r} weighs DDPM's timesteps by their SNR; "
                             "flow matching has no schedule: use loss_weighting='uniform'")


@dataclass
class TrainState:
    """What ``train_steps`` yields after each step."""
    step: int                      # optimiser steps done (1, 2, ...)
    loss: float                    # this step's loss
    model: torch.nn.Module         # the model being trained
    ema_model: torch.nn.Module     # the EMA of its weights (the model itself if ema_decay == 0)
    seconds: float                 # time since the start
    losses: list                   # the loss of every step so far (for live curves)
    lr: float = None               # the learning rate this step used
    grad_norm: float = None        # this step's gradient norm, before clipping
    grad_norms: list = None        # the gradient norm of every step so far, before clipping


@dataclass
class TrainResult:
    """What ``train`` returns."""
    losses: list = field(default_factory=list)   # the loss of every step
    ema_model: torch.nn.Module = None             # EMA weights (the model if ema_decay == 0): sample with these
    steps: int = 0                                # steps run
    seconds: float = 0.0                          # wall-clock time
    grad_norms: list = field(default_factory=list)  # the gradient norm of every step, before clipping

    @property
    def final_loss(self):
        """Mean loss over the last 100 steps (or fewer)."""
        tail = self.losses[-100:]
        return sum(tail) / max(len(tail), 1)


def _check_data(data, labels, model):
    check_model("model", model)
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module with weights to train (e.g. dh.UNet()), got {type(model).__name__}")
    check_float_tensor("data", data, min_dim=2)
    if data.shape[0] == 0:
        raise ValueError(f"data holds no samples (shape {tuple(data.shape)})")
    check_model_input(model, data, "data", device=False)  # data moves to the training device itself
    if not bool(torch.isfinite(data).all()):
        raise ValueError("data hold NaN or inf values: every training sample must be finite")
    if getattr(model, "data_range", None) == (-1, 1):  # an image model: the series' range
        check_image_range("data", data)
    if labels is None:
        if model_num_classes(model) is not None:
            raise ValueError(f"labels are needed: this model was built with num_classes={model_num_classes(model)}, a "
                             "conditional model, and without labels it would learn only the null label (\"no class\"). "
                             "Give the class of every sample, labels (N,) in [0, num_classes) (a share label_dropout "
                             "of them become the null label), or build the model without num_classes")
        return
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be None or an integer tensor (N,), got {type(labels).__name__}")
    if model_num_classes(model) is None:
        raise ValueError("labels were given but the model has no class embedding: build it with num_classes")
    check_labels(labels, data.shape[0], model_num_classes(model), name="labels")


def learning_rate(config, step, seconds):
    """The learning rate at ``step`` (1, 2, ...) after ``seconds``: linear warm-up over
    ``warmup_steps``, then constant, or cosine decay (Loshchilov & Hutter 2017, eq. 5, eta_min = 0)

        lr_t = lr * (1 + cos(pi * progress)) / 2,

    where progress in [0, 1] is the share of the budget used: of the steps, or of the minutes when
    that is further along (so a wall-clock budget also ends at lr = 0)."""
    warmup = min(1.0, step / config.warmup_steps) if config.warmup_steps else 1.0
    if config.lr_schedule == "constant":
        return config.lr * warmup
    elif config.lr_schedule == "cosine":
        progress = step / config.steps
        if config.minutes:
            progress = max(progress, seconds / (60 * config.minutes))
        return config.lr * warmup * (1 + math.cos(math.pi * min(progress, 1.0))) / 2
    else:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {config.lr_schedule!r}")


def _update_ema(ema_model, model, decay):
    with torch.no_grad():
        for ema_p, p in zip(ema_model.parameters(), model.parameters()):
            ema_p.lerp_(p, 1 - decay)
        for ema_b, b in zip(ema_model.buffers(), model.buffers()):
            ema_b.copy_(b)


def train_steps(model, schedule, data, labels=None, config=None, **options):
    """Train ``model`` to predict the noise (eq. 14), yielding a TrainState after every step.

    Args:
        model: an MLPDenoiser, UNet or any module model(x_t, t[, y]) -> eps.
        schedule: the NoiseSchedule of the forward process (None with objective="flow_matching").
        data: clean training data (N, ...) in the model's range, e.g. images in [-1, 1].
        labels: class labels (N,) in [0, num_classes) for a conditional model, else None. A share
            ``label_dropout`` is replaced by NULL_LABEL ("no class"), so that one model learns
            both p(x | y) and p(x), which classifier-free guidance needs.
    The batches, timesteps, noise and dropped labels come from one torch.Generator seeded with
    ``config.seed``: the global random state is left alone.
        config: a TrainConfig; ``options`` override its fields (e.g. steps=500).
    """
    if config is not None and not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a dh.TrainConfig, e.g. dh.TrainConfig(steps=500), got "
                        f"{type(config).__name__}; or leave it out and give options as keywords: steps=500")
    unknown = sorted(set(options) - {f.name for f in fields(TrainConfig)})
    if unknown:
        raise TypeError(f"unknown training option(s) {unknown}: the options are "
                        f"{[f.name for f in fields(TrainConfig)]}")
    config = replace(config or TrainConfig(), **options)
    if config.objective == "flow_matching":
        if schedule is not None:
            raise TypeError(f"schedule must be None with objective='flow_matching': its path x_t = (1 - t) x0 + t eps "
                            f"has no noise schedule; got {type(schedule).__name__}. Call "
                            "dh.train(model, None, data, objective='flow_matching')")
    elif not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}"
                        + (" (None only with objective='flow_matching')" if schedule is None else ""))
    elif getattr(model, "continuous_time", False):
        raise TypeError("model takes continuous time t in [0, 1] (a velocity model): train it with "
                        "dh.train(model, None, data, objective='flow_matching')")
    _check_data(data, labels, model)
    return _train_generator(model, schedule, data, labels, config)


def _train_generator(model, schedule, data, labels, config):
    device = pick_device(config.device)
    generator = torch.Generator().manual_seed(config.seed)  # all of the loop's randomness, on the CPU
    model.to(device).train()
    flow = config.objective == "flow_matching"
    baseline = (zero_velocity_loss(data), "zero velocity (1 + E[x0^2])") if flow else (ZERO_PREDICTION_LOSS,)
    data = data.to(device)
    labels = None if labels is None else labels.to(device)
    if not flow:
        schedule = schedule.to(device)
        model.trained_schedule = schedule.config()  # the samplers warn when given another (dh.model_checks)
        weight_by_timestep = loss_weights(config, schedule, torch.arange(schedule.num_timesteps, device=device))
    # an average with decay 0 is the latest weights: then the model itself stands in for it
    ema_model = copy.deepcopy(model).eval().requires_grad_(False) if config.ema_decay > 0 else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    use_bf16 = config.bf16 if config.bf16 is not None else (device.type == "cuda" and torch.cuda.is_bf16_supported())
    start, losses, grad_norms, warned, warned_baseline = time.perf_counter(), [], [], False, False
    bar = tqdm(total=config.steps, desc="training", disable=not config.progress)
    try:
        for step in range(1, config.steps + 1):
            lr = learning_rate(config, step, time.perf_counter() - start)
            for group in optimizer.param_groups:
                group["lr"] = lr
            index = torch.randint(data.shape[0], (config.batch_size,), generator=generator).to(device)
            t = (torch.rand(config.batch_size, generator=generator) if flow else
                 torch.randint(schedule.num_timesteps, (config.batch_size,), generator=generator)).to(device)
            y = None
            if labels is not None:
                y = _drop_labels(labels[index], config.label_dropout, generator)  # dh.drop_labels, unchecked
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16), warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r".*look like images in \[0, 1\]")  # said once, of data
                if flow:
                    per_sample = flow_matching_loss(model, data[index], t, y=y, generator=generator, reduction="none")
                else:
                    per_sample = diffusion_loss(model, schedule, data[index], t, y=y, generator=generator,
                                                reduction="none")
            loss = per_sample.mean() if flow else (weight_by_timestep[t] * per_sample).mean()
            loss_value = loss.item()
            if not math.isfinite(loss_value):  # stop before the step spreads NaN into every weight
                raise FloatingPointError(
                    f"the training loss became {loss_value} at step {step}; likely causes: a learning rate too "
                    f"high for this model (lr = {lr:.3g}; try 1e-3 or lower, or grad_clip=1.0), data with "
                    "extreme values, or a model whose output is not finite. The weights are those of step "
                    f"{step - 1}.")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            # the norm of all gradients as one vector; scaled down to grad_clip where it is larger (without
            # clipping only measured: clip_grad_norm_(..., inf) would multiply the gradients by inf / inf = NaN
            # once their norm overflows, and turn a diverging run's huge loss into NaN)
            if config.grad_clip is not None:
                grad_norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip).item())
            else:
                grad_norms.append(torch.linalg.vector_norm(torch.stack(
                    [p.grad.detach().float().norm() for p in model.parameters() if p.grad is not None])).item())
            optimizer.step()
            if ema_model is not model:  # warm-up so that short runs still get a useful EMA
                _update_ema(ema_model, model, min(config.ema_decay, (1 + step) / (10 + step)))
            losses.append(loss_value)
            warned = warned or warn_if_diverging(losses, lr)
            warned_baseline = warned or warned_baseline or warn_if_worse_than_zero(losses, config.lr, config.warmup_steps,
                                                                                   False, *baseline)
            bar.update(1)
            if step % 10 == 0 or step == 1:
                bar.set_postfix(loss=f"{loss_value:.4f}")
            seconds = time.perf_counter() - start
            yield TrainState(step, loss_value, model, ema_model, seconds, losses, lr, grad_norms[-1], grad_norms)
            if config.minutes is not None and seconds >= 60 * config.minutes:
                break
        if not (warned or warned_baseline):  # a short run is judged at its end
            warn_if_worse_than_zero(losses, config.lr, config.warmup_steps, True, *baseline)
    finally:
        bar.close()
        model.eval()


def train(model, schedule, data, labels=None, config=None, callback=None, callback_every=100, **options):
    """Train ``model`` to predict the noise, minimising ``diffusion_loss`` (Ho et al. 2020, eq. 14)
    with AdamW: at each step a random batch of ``data``, a random t for each sample and fresh noise.
    With objective="flow_matching" (and schedule None) it trains a velocity model instead, minimising
    ``flow_matching_loss`` with t ~ Uniform[0, 1]: ``dh.train(dh.MLPDenoiser(continuous_time=True),
    None, points, objective="flow_matching")``; sample it with dh.FLOW_SAMPLERS.

    Example::

        result = dh.train(model, schedule, points, steps=3000, batch_size=256)
        plt.plot(result.losses)
        samples = dh.ddim_sample(result.ema_model, schedule, torch.randn(1000, 2))

    Args:
        model: an MLPDenoiser (points), UNet (images) or any torch.nn.Module model(x_t, t[, y]) -> eps.
        schedule: the NoiseSchedule of the forward process (sample later with the same one); None
            with objective="flow_matching".
        data: the clean training data (N, ...): points (N, 2), or images (N, C, H, W) in [-1, 1].
        labels: class labels (N,) for a conditional model (built with num_classes), else None.
        config: a TrainConfig; ``options`` (its field names, e.g. steps=500, lr=2e-3,
            batch_size=128, minutes=5, ema_decay=0.999, device="cuda") override its fields.
        callback: called as callback(state) every ``callback_every`` steps and after the last
            one, with a TrainState (step, loss, model, ema_model, seconds, losses, lr), e.g. a
            ``dh.widgets.LiveFigure`` that redraws a loss curve.
    Returns:
        a TrainResult: ``losses`` (one a step), ``ema_model`` (the averaged weights: sample with
        these), ``steps``, ``seconds``, ``grad_norms`` (each step's gradient norm before clipping:
        with grad_clip=c, a step whose norm exceeds c is scaled down to c) and ``final_loss`` (the
        mean of the last 100 losses). The model itself is trained in place (its raw, latest
        weights) and left in eval mode.
    Stops with a FloatingPointError naming the step if the loss becomes NaN or inf, warns once if it
    climbs to 100 times the first step's (a learning rate too high), and once if it stays above 1,
    the loss of predicting zero noise, after the first steps (``warn_if_worse_than_zero``).
    """
    callback_every = check_int("callback_every", callback_every, low=1)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a function of the TrainState (or None), got {type(callback).__name__}")
    for state in train_steps(model, schedule, data, labels, config, **options):
        if callback is not None and state.step % callback_every == 0:
            callback(state)
    result = TrainResult(state.losses, state.ema_model, state.step, state.seconds, state.grad_norms)
    if callback is not None and state.step % callback_every != 0:
        callback(state)
    return result
