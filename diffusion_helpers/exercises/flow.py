"""Checks for notebook 7: the flow-matching loss and one Euler step of a velocity model."""
import torch

from ..flow_matching import flow_matching_loss
from ..flow_samplers import euler_step
from ._core import _call, _not_yet, _report, broadcast_shape, compare, logged_check, matching_hint, noise_slip


class _VelocityProbe:
    """A fixed 'velocity model' v(x_t, t) that depends on both x_t and t (and not symmetrically in
    t and 1 - t), so that a wrong input or a wrong time gives another number. Like dh's
    continuous-time models it takes t in [0, 1], a float (B,) or one number, and says so loudly."""

    def __call__(self, x_t, t, y=None):
        if isinstance(t, torch.Tensor):
            if not t.is_floating_point():
                raise TypeError(f"the model takes continuous time t in [0, 1] (a float tensor), got dtype {t.dtype}: "
                                "integer timesteps belong to DDPM; pass t as it is")
            if t.dim() > 1:
                raise ValueError(f"the model takes t of shape (B,), one time a sample, got {tuple(t.shape)}: reshape t "
                                 "only where you mix x0 and noise, and call the model with t itself")
            high = float(t.max()) if t.numel() else 0.0
            t = t.to(x_t.dtype).reshape(-1, *([1] * (x_t.dim() - 1))) if t.dim() == 1 else t.to(x_t.dtype)
        else:
            high = float(t)
        if high > 1:
            raise ValueError(f"the model takes t in [0, 1], got t up to {high:g}: did you multiply t by 1000? The "
                             "models scale t for their time embedding themselves (continuous_time=True embeds 1000 t): "
                             "pass t as it is")
        return 0.5 * x_t * (1 + t) + 0.25 * (1 - 2 * t) - 0.1 * t * t


def _mse(target, prediction):
    return (target - prediction).square().mean().reshape(1)


@logged_check
def check_flow_matching_loss(function, data_shape=(2,)):
    """Check ``function(model, x0, t, noise)`` -> the flow-matching loss of one batch (Lipman et al.
    2023, eq. 9; Liu et al. 2023, eq. 1), in the series' direction (t = 0 data, t = 1 noise):
    the mean of (model(x_t, t) - (noise - x0))^2 with x_t = (1 - t) x0 + t noise.
    data_shape: the shape of one sample, (2,) for points, (1, 8, 8) for images."""
    model = _VelocityProbe()
    generator = torch.Generator().manual_seed(7)
    x0 = torch.rand(6, *data_shape, generator=generator, dtype=torch.float64) * 2 - 1
    noise = torch.randn(6, *data_shape, generator=generator, dtype=torch.float64)
    t = torch.tensor([0.0, 0.1, 0.35, 0.5, 0.8, 1.0], dtype=torch.float64)
    reshaped = broadcast_shape(data_shape)
    tried = (f"model = a fixed test function of x_t and t, x0 and noise of shape {tuple(x0.shape)} (float64) and "
             "t = tensor([0.0, 0.1, 0.35, 0.5, 0.8, 1.0]) (float64)")
    got, error = _call(function, model, x0.clone(), t.clone(), noise.clone())
    if error:
        return _not_yet(error + (f" Hint: t has shape (B,); reshape it to {reshaped} to mix x0 and noise."
                                 if "size of tensor" in error else ""), tried)
    slip = noise_slip(function, (model, x0, t, noise), 3, got, noise_matters=True, given="the `noise` and `t` arguments")
    if slip:
        return _not_yet(slip, tried)
    if got.numel() == len(t):
        return _not_yet("you returned one loss a sample: average over the batch too (.mean()), one number.", tried)
    if got.numel() == x0.numel():
        return _not_yet("you returned the squared error of every value: average them into one number (.mean()).", tried)
    s = t.reshape(-1, *[1] * len(data_shape))
    x_t, flipped = (1 - s) * x0 + s * noise, s * x0 + (1 - s) * noise
    velocity = noise - x0
    hints = [(_mse(x0 - noise, model(x_t, t)),
              "the sign of the velocity: x_t = (1 - t) x0 + t noise moves at d x_t / dt = noise - x0 (towards the "
              "noise as t grows); you used x0 - noise."),
             (_mse(velocity, model(flipped, t)),
              "t is reversed: in this series t = 0 is the data and t = 1 the noise, x_t = (1 - t) x0 + t noise; you "
              "mixed x_t = t x0 + (1 - t) noise."),
             (_mse(x0 - noise, model(flipped, t)),
              "that is Lipman et al. 2023's direction (t = 1 data, velocity data - noise): here t runs the other way, "
              "as DDPM's does (t = 0 data, t = 1 noise): x_t = (1 - t) x0 + t noise, target noise - x0."),
             (_mse(noise, model(x_t, t)), "the model predicts the velocity noise - x0, not the noise itself (that was "
              "DDPM's target)."),
             (_mse(x0, model(x_t, t)), "the model predicts the velocity noise - x0, not the clean data x0."),
             (_mse(velocity, model(x0, t)), "give the model the point on the path x_t, not the clean x0."),
             (_mse(velocity, model(noise, t)), "give the model the point on the path x_t, not the noise."),
             (_mse(velocity, model(x_t, 1 - t)), "call the model at the time of x_t, t itself, not 1 - t."),
             (_mse(velocity, model((1 - s).sqrt() * x0 + s.sqrt() * noise, t)),
              "the straight path has no square roots: x_t = (1 - t) x0 + t noise (sqrt(abar) belongs to DDPM's path)."),
             ((velocity - model(x_t, t)).square().sum().reshape(1), "that is the sum of squares: take the mean (as "
              "F.mse_loss does)."),
             (_mse(velocity, model(x_t, t)).sqrt(), "no square root at the end: the loss is the mean squared error."),
             ((velocity - model(x_t, t)).square().flatten(1).sum(1).mean().reshape(1),
              "you summed over each sample's values and averaged over the batch: average over the values too (one "
              ".mean() over everything).")]
    expected = flow_matching_loss(model, x0, t, noise).double().reshape(1)
    ok, message = compare(got.reshape(-1), expected, "your loss", index_name="position", hints=hints)
    if not ok:
        if got.numel() != 1 and matching_hint(got.reshape(-1), hints) is None:
            message += f" Hint: is t reshaped to {reshaped}, so that it broadcasts over each sample?"
        return _not_yet(message, tried)
    return _report(True, f"loss = mean (v_theta(x_t, t) - (noise - x0))^2 = {expected.item():.4f} on the check's batch.")


@logged_check
def check_euler_step(function, data_shape=(2,)):
    """Check ``function(model, x, t, t_next)`` -> x at t_next, one Euler step of dx/dt = v(x, t)
    towards the data (t_next < t): x_next = x + (t_next - t) model(x, t), with t and t_next floats
    (the model takes one number for the whole batch, or a float tensor (B,)).
    data_shape: the shape of one sample, (2,) for points, (1, 8, 8) for images."""
    model = _VelocityProbe()
    generator = torch.Generator().manual_seed(8)
    for t, t_next in [(0.6, 0.2), (1.0, 0.75), (0.25, 0.0)]:  # first a t where x - t v and x - v differ
        x = torch.randn(5, *data_shape, generator=generator, dtype=torch.float64)
        tried = (f"model = a fixed test velocity v(x, t), x of shape {tuple(x.shape)} (float64), t = {t} and "
                 f"t_next = {t_next} (floats)")
        got, error = _call(function, model, x.clone(), t, t_next)
        if error:
            return _not_yet(f"at t={t} -> {t_next}: {error}", tried)
        v = model(x, t)
        expected = euler_step(x, t, t_next, v)
        h = t_next - t
        hints = [(x - h * v, f"you stepped the wrong way: sampling runs from noise (t = 1) to data (t = 0), so the step "
                  f"h = t_next - t = {h:g} is negative and x_next = x + (t_next - t) v."),
                 (x + h * model(x, t_next), "ask the model for the velocity where you are, v(x, t), not at t_next: "
                  "Euler's step uses the slope at its start."),
                 (x + h * model(x, 1 - t), "call the model at the time t itself, not 1 - t: t = 1 is the noise."),
                 (x + v, "multiply the velocity by the step h = t_next - t: x_next = x + (t_next - t) v."),
                 (x - v, "multiply the velocity by the step h = t_next - t: x_next = x + (t_next - t) v."),
                 (v, "that is the velocity v(x, t): the step adds (t_next - t) v to x.")]
        if t_next > 0:
            hints.append((x - t * v, "that is x0_hat = x - t v, a jump all the way to t = 0: step only to t_next, "
                          "x_next = x + (t_next - t) v."))
        ok, message = compare(got, expected, f"x_next at t={t} -> {t_next}", index_name="sample", hints=hints)
        if not ok:
            return _not_yet(message, tried)
    return _report(True, "one Euler step: x_next = x + (t_next - t) v(x, t), towards the data.")
