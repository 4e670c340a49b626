"""Checks of models: what a model is, what it takes and what it returns.

A model here is any callable model(x_t, t[, y]) -> eps shaped like x_t (a dh.UNet, a dh.MLPDenoiser,
a plain function); the package's edge refuses anything else with a message that names it.
"""
import torch


def check_model(name, model):
    """Refuse what is not a model: above all the (model, schedule) pair that ``dh.load_pretrained``
    returns, passed whole, and anything that cannot be called."""
    if isinstance(model, tuple):
        raise TypeError(f"{name} is a tuple of {len(model)} items, not a model: dh.load_pretrained returns "
                        f"(model, schedule); unpack it: model, schedule = dh.load_pretrained(...)")
    if not callable(model):
        raise TypeError(f"{name} must be a model (a callable such as dh.UNet), got {type(model).__name__}")
    return model


def check_time_kind(name, model, continuous_time, fix):
    """``check_model``, and refuse a model of the other kind of time: with ``continuous_time`` True a
    DDPM noise predictor (integer timesteps, its ``continuous_time`` False) where a velocity model of
    t in [0, 1] is needed, with False a velocity model where a noise predictor is needed. A plain
    function (no ``continuous_time``) passes. ``fix`` completes the message for the caller."""
    check_model(name, model)
    if getattr(model, "continuous_time", None) is (not continuous_time):
        raise TypeError(f"{name} {fix}")
    return model


def check_input_matches(module, x, name="x", device=True):
    """Refuse an input x that the module's weights cannot meet: another floating-point dtype (e.g.
    float64 against float32 weights) or, with ``device``, another device."""
    parameter = next(module.parameters(), None) if isinstance(module, torch.nn.Module) else None
    if parameter is None:
        return x
    if device and parameter.device != x.device:
        raise ValueError(f"{name} is on {x.device} but the model is on {parameter.device}: move one, "
                         f"e.g. {name}.to(device)")
    if parameter.is_floating_point() and x.is_floating_point() and x.dtype != parameter.dtype:
        raise TypeError(f"{name} is {x.dtype} but the model's weights are {parameter.dtype}: convert it, "
                        f"e.g. {name}.float() for float32")
    return x


def check_model_input(model, x, name="x", device=True):
    """Refuse an input the model cannot take, naming it as the caller knows it (``x_T`` in a
    sampler, ``data`` in training): ``check_input_matches``, then the model's own shape check
    (``check_input_shape``, which dh.UNet and dh.MLPDenoiser have) if it has one."""
    check_input_matches(model, x, name, device)
    check_shape = getattr(model, "check_input_shape", None)
    if callable(check_shape):
        check_shape(x, name)
    return x


def model_num_classes(model):
    """The number of classes a model was built with (its ``num_classes``), or None if it has none."""
    return getattr(model, "num_classes", None)


def check_prediction_shape(prediction, x_t):
    """Refuse a model output that is not a tensor shaped like its input x_t."""
    if not isinstance(prediction, torch.Tensor) or prediction.shape != x_t.shape:
        shape = tuple(prediction.shape) if isinstance(prediction, torch.Tensor) else type(prediction).__name__
        raise ValueError(f"the model returned {shape} for x_t of shape {tuple(x_t.shape)}: a noise predictor "
                         "must return its noise estimate shaped like its input")
    return prediction


def check_prediction(eps_hat, x_t, t):
    """Refuse a model output that is not a finite tensor shaped like its input x_t."""
    check_prediction_shape(eps_hat, x_t)
    if not bool(torch.isfinite(eps_hat).all()):
        raise ValueError(f"the model's noise prediction at t={int(t[0])} holds NaN or inf values "
                         "(check x_T, the model's weights and its input range)")
    return eps_hat


def check_trained_schedule(model, schedule):
    """Warn when a model is sampled with another noise schedule than the one it learned (its
    ``trained_schedule``, a ``schedule.config()`` that dh.train and dh.load_checkpoint set): its noise
    predictions then answer noise levels other than those the sampler assumes, and the samples come out
    wrong without an error. Models without the attribute (your own) are not checked."""
    from ._checks import warn
    from .schedules import NoiseSchedule

    trained = getattr(model, "trained_schedule", None)
    if trained is None:
        return
    learned = NoiseSchedule.from_config(trained)
    if learned.num_timesteps == schedule.num_timesteps and torch.allclose(
            learned.alphas_cumprod.cpu(), schedule.alphas_cumprod.detach().cpu().to(learned.alphas_cumprod.dtype),
            rtol=1e-4, atol=1e-7):
        return
    warn(f"schedule is {schedule!r}, but this model learned {learned!r}: its noise predictions answer that "
         "schedule's noise levels, so sampling with another gives wrong samples. Use the schedule it was trained "
         "with (dh.load_pretrained returns it: model, schedule = dh.load_pretrained(...)).")
