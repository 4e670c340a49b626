"""DDPM's path in flow matching's words: a noise predictor turned into a velocity field.

DDPM's path mixes data and noise as x = sqrt(abar) x_0 + sqrt(1 - abar) eps (DDPM eq. 4). Write
a = sqrt(abar), b = sqrt(1 - abar). Every path of the form x = a(tau) x_0 + b(tau) eps has a
probability-flow ODE, the conditional velocity a' x_0 + b' eps averaged over what x_t
leaves unknown (Lipman et al. 2023, theorem 1; Song et al. 2021b, eq. 13):

    dx/dtau = a'(tau) x0_hat + b'(tau) eps_hat,    eps_hat = E[eps | x],
    x0_hat = (x - b eps_hat) / a = E[x_0 | x]                                (DDPM eq. 15)

so a noise predictor gives the velocity in any time variable tau. Two choices make the path a
straight line in tau, where one Euler step along a constant velocity is exact:

"flow", flow matching's variable (Lipman et al. 2023; Liu et al. 2023). Divide x by a + b:

    x_tilde = x / (a + b) = a / (a + b) x_0 + b / (a + b) eps = (1 - t) x_0 + t eps,
    t = b / (a + b) = sqrt(1 - abar) / (sqrt(abar) + sqrt(1 - abar)),   since a / (a + b) = 1 - t.

    The rescaled DDPM point lies on flow matching's straight path at time t, which runs from 0
    (abar = 1, data) to 1 (abar = 0, noise); inverted, t / (1 - t) = b / a gives
    abar = (1 - t)^2 / ((1 - t)^2 + t^2). x_tilde is x divided by a number that depends only on t, so
    E[eps | x_tilde] = E[eps | x] = eps_hat: the DDPM model at that noise level predicts flow matching's
    noise, and with the straight path's coefficients 1 - t and t (derivatives -1 and +1) the velocity is

        v(x_tilde, t) = eps_hat - x0_hat = (eps_hat - x_tilde) / (1 - t) = ((a + b) eps_hat - x) / a,
        x0_hat = (x_tilde - t eps_hat) / (1 - t),

    the same x0_hat as DDPM eq. 15 forms from x.

"sigma", DDIM's own variable (Song et al. 2021, sec. 4.3, eq. 13-14; Karras et al. 2022's sigma; the
series writes it e^-lambda, the noise-to-signal ratio, as its sigma_t is DDIM's sampler noise):

    x_bar = x / a = x_0 + sigma eps,   sigma = b / a = sqrt((1 - abar) / abar) = e^-lambda,
    v(x_bar, sigma) = d x_bar / d sigma = eps_hat.

DDIM's step with eta = 0 keeps x0_hat and eps_hat fixed and moves to the new noise level; on a path
linear in tau that is exactly one Euler step, in either variable: the state is x0_hat + tau v
(x0_hat's definition rearranged), so the new state is x0_hat + tau_prev v = state + (tau_prev - tau) v,
tau_prev < tau (the step subtracts)
(tests/test_flow_conversion.py checks it against dh.ddim_sample). x0_hat = state - tau v in both.

One consequence to keep in mind: at each t the rescaled DDPM marginal IS flow matching's, both
being the average of the same straight lines (1 - t) x_0 + t eps. So an ideal DDPM model and an
ideal flow-matching model define the same velocity field in the "flow" variable (the rectified-
flow authors' "DDIM is Euler on a straight-line rectified flow", Liu et al. 2024, blog post "DDIM
and natural Euler"). What differs is what the network predicts (eps or v), how training weighs the
times (uniform timesteps on DDPM's schedule, or uniform t), and the coordinates a path is drawn in:
DDPM's (a, b) walks a quarter circle (a^2 + b^2 = 1) and x an arc, x_tilde the straight chord.
"""
import math

import torch

from ._checks import check_choice, check_float_tensor, check_int, check_number, check_same_shape
from .model_checks import check_model, check_trained_schedule
from .schedules import NoiseSchedule, x0_hat_from_eps
from .timesteps import make_timesteps

TIME_VARIABLES = ("flow", "sigma")


def _sqrt(value):
    return math.sqrt(value) if isinstance(value, float) else value.sqrt()


def ode_time(alpha_bar, time_variable="flow"):
    """The time of noise level alpha_bar (a float in (0, 1], or a float tensor) in the chosen
    variable: "flow" t = sqrt(1 - abar) / (sqrt(abar) + sqrt(1 - abar)) in [0, 1); "sigma"
    sigma = sqrt((1 - abar) / abar) in [0, inf) (the noise-to-signal ratio, e^-lambda). abar = 1 gives 0."""
    check_choice("time_variable", time_variable, TIME_VARIABLES)
    if isinstance(alpha_bar, (int, float)):
        alpha_bar = check_number("alpha_bar", alpha_bar, low=0.0, high=1.0)
        if alpha_bar == 0 and time_variable == "sigma":
            raise ValueError("alpha_bar must be > 0 for the sigma variable (pure noise is at sigma = inf)")
    a, b = _sqrt(alpha_bar), _sqrt(1 - alpha_bar)
    if time_variable == "flow":
        return b / (a + b)
    elif time_variable == "sigma":
        return b / a
    else:
        raise ValueError(f"time_variable must be one of {list(TIME_VARIABLES)}, got {time_variable!r}")


def alpha_bar_from_flow_time(t):
    """The inverse of ``ode_time(abar, "flow")``: t / (1 - t) = sqrt(1 - abar) / sqrt(abar), so
    abar = (1 - t)^2 / ((1 - t)^2 + t^2). t a float or tensor in [0, 1]; t = 0 gives 1, t = 1 gives 0."""
    return (1 - t) ** 2 / ((1 - t) ** 2 + t**2)


def ode_state(x_t, alpha_bar, time_variable="flow"):
    """A point x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps of DDPM's path as the ODE's state in the
    chosen variable: "flow" x_tilde = x_t / (sqrt(abar) + sqrt(1 - abar)) (on the straight path (1 - t) x_0
    + t eps); "sigma" x_bar = x_t / sqrt(abar) (= x_0 + sigma eps). x_t (B, ...), alpha_bar a float.
    E.g. the start of a flow sampler for DDPM's x_T: ``ode_state(x_T, schedule.alpha_bar(T - 1))``."""
    check_float_tensor("x_t", x_t)
    check_choice("time_variable", time_variable, TIME_VARIABLES)
    alpha_bar = check_number("alpha_bar", alpha_bar, low=0.0 if time_variable == "flow" else 1e-300, high=1.0)
    a, b = math.sqrt(alpha_bar), math.sqrt(1 - alpha_bar)
    return x_t / (a + b) if time_variable == "flow" else x_t / a


def velocity_from_eps(x_t, eps_hat, alpha_bar, time_variable="flow", clip_x0=False):
    """The probability-flow velocity of DDPM's path from a noise prediction, in the chosen time
    variable (see the module's docstring for the derivation): a' x0_hat + b' eps_hat with

        x0_hat = (x_t - sqrt(1 - abar) eps_hat) / sqrt(abar)          (DDPM eq. 15)
        "flow":  v = dx_tilde/dt = eps_hat - x0_hat    (x_tilde = (1 - t) x_0 + t eps: a' = -1, b' = 1)
        "sigma": v = d x_bar / d sigma = eps_hat  (x_bar = x_0 + sigma eps; DDIM eq. 14)

    Args:
        x_t: the point of DDPM's path (B, ...) (not the ODE's state: x0_hat is formed from x_t
            exactly as the DDPM samplers form it, so that an Euler step repeats DDIM's to rounding).
        eps_hat: the noise prediction model(x_t, t), shaped like x_t.
        alpha_bar: abar_t, a float or a tensor (B, 1, ..., 1) that broadcasts against x_t.
        time_variable: "flow" or "sigma".
        clip_x0: clamp x0_hat to [-1, 1] and use the eps_hat that goes with it,
            eps_hat = (x_t - sqrt(abar) x0_hat) / sqrt(1 - abar), as the DDPM samplers do for images.
    Returns v shaped like x_t.
    """
    check_choice("time_variable", time_variable, TIME_VARIABLES)
    check_float_tensor("x_t", x_t)
    check_same_shape("eps_hat", eps_hat, "x_t", x_t)
    x0_hat = x0_hat_from_eps(x_t, eps_hat, alpha_bar)
    if clip_x0:
        x0_hat = x0_hat.clamp(-1.0, 1.0)
        eps_hat = (x_t - _sqrt(alpha_bar) * x0_hat) / _sqrt(1 - alpha_bar)
    if time_variable == "flow":
        return eps_hat - x0_hat
    elif time_variable == "sigma":
        return eps_hat
    else:
        raise ValueError(f"time_variable must be one of {list(TIME_VARIABLES)}, got {time_variable!r}")


class VelocityFromNoise:
    """A DDPM noise predictor as a velocity model: ``v = VelocityFromNoise(model, schedule)(x_tilde, t)``,
    so that the flow samplers (dh.FLOW_SAMPLERS) sample a DDPM model with the same Euler and Heun
    steps as a flow-matching one. In the "flow" variable a DDPM run is: start from
    ``ode_state(x_T, schedule.alpha_bar(T - 1))``, integrate to t = 0, and the state is the sample.

    At time t it finds the timestep k whose noise level has that time (``ode_time``), asks the
    model eps_hat = model(x, k) at DDPM's x = x_tilde (a + b) (or x_bar a) and returns ``velocity_from_eps``. A
    DDPM model knows only its T noise levels, so a time between two of them is refused (no silent
    rounding): sample on ``ode_times(num_steps)``, the flow samplers' default grid for this model (Euler and
    Heun evaluate only on the grid; Heun's last step, to t = 0, is an Euler step).

    Args:
        model: model(x_t, t[, y]) -> eps with integer timesteps t, e.g. dh.load_pretrained("mnist")[0].
        schedule: the NoiseSchedule it was trained with.
        time_variable: "flow" (t in [0, 1)) or "sigma" (DDIM's sigma in [0, inf)).
        clip_x0: clamp x0_hat to [-1, 1] and use the eps_hat that goes with it, as the DDPM
            samplers do; None: yes for images (a model with data_range), no for points.
    Shapes: x_tilde (B, ...), t (B,) floats, y (B,) or None -> v (B, ...).
    """
    continuous_time = True  # takes float times: the DDPM samplers and losses refuse it

    def __init__(self, model, schedule, time_variable="flow", clip_x0=None):
        self.model = check_model("model", model)
        if getattr(model, "continuous_time", False):
            raise TypeError("model already takes continuous time (a velocity model): sample it with the flow "
                            "samplers directly; VelocityFromNoise turns a DDPM noise predictor into one")
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"schedule must be a NoiseSchedule, got {type(schedule).__name__}")
        check_trained_schedule(model, schedule)
        self.schedule, self.time_variable = schedule, check_choice("time_variable", time_variable, TIME_VARIABLES)
        if clip_x0 is not None and not isinstance(clip_x0, bool):
            raise TypeError(f"clip_x0 must be True, False or None (clip for images, not for points), got {clip_x0!r}")
        self.clip_x0 = getattr(model, "data_range", None) is not None if clip_x0 is None else clip_x0
        self.alpha_bars = schedule.alphas_cumprod_float64  # (T,), in double precision
        self.level_times = ode_time(self.alpha_bars, time_variable)  # rising with the timestep

    def __getattr__(self, name):  # num_classes, data_range, check_input_shape: the model's
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def ode_times(self, num_steps, spacing="trailing"):
        """The grid of a run: the times of ``make_timesteps(T, num_steps, spacing, schedule)``, then 0
        (abar = 1, the data); num_steps + 1 falling floats. "trailing" is DDIM's default grid."""
        num_steps = check_int("num_steps", num_steps, low=1, high=self.schedule.num_timesteps)
        timesteps = make_timesteps(self.schedule.num_timesteps, num_steps, spacing, self.schedule)
        return [float(self.level_times[k]) for k in timesteps] + [0.0]

    def timesteps_at(self, t):
        """The timestep k (LongTensor (B,)) whose noise level has time t (B,); refuses a time that
        is none of the T levels (more than float32's rounding away from the nearest)."""
        check_float_tensor("t", t)
        times = self.level_times
        k = torch.searchsorted(times, t.detach().cpu().double()).clamp(1, len(times) - 1)
        k = torch.where((t.cpu().double() - times[k - 1]).abs() < (times[k] - t.cpu().double()).abs(), k - 1, k)
        off = (t.cpu().double() - times[k]).abs() > 1e-6 * times[k].clamp(min=1.0)
        if bool(off.any()):
            i = int(off.nonzero()[0])
            raise ValueError(f"t = {float(t[i]):.6g} is none of the schedule's {len(times)} noise levels (the nearest, "
                             f"timestep {int(k[i])}, has t = {float(times[k[i]]):.6g}): a DDPM model knows only those. "
                             "Sample on the model's own grid: leave times=None in dh.flow_euler_sample or "
                             "dh.flow_heun_sample, or give times=velocity_model.ode_times(num_steps)")
        return k

    def __call__(self, state, t, y=None):
        k = self.timesteps_at(t).to(state.device)
        alpha_bar = self.alpha_bars[k.cpu()].to(state.device, state.dtype).reshape(-1, *([1] * (state.dim() - 1)))
        a, b = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
        x = state * (a + b) if self.time_variable == "flow" else state * a
        eps_hat = self.model(x, k) if y is None else self.model(x, k, y)
        return velocity_from_eps(x, eps_hat, alpha_bar, self.time_variable, self.clip_x0)
