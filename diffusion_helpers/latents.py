"""The noise x_T as a code for a sample: DDIM inversion (data -> x_T) and slerp between noises.

With eta = 0, DDIM is deterministic: each x_T names one sample. Inversion finds the x_T of a given
image; slerp walks between two x_T so that every point on the way is a plausible noise.
"""
import math

import torch
from tqdm.auto import tqdm

from ._checks import check_bool, check_data, check_float_tensor, check_number
from .guidance import guided_noise_checked
from .loop import prepare_sampling
from .model_checks import check_prediction
from .sampling import ddim_update


@torch.no_grad()
def ddim_invert(model, schedule, x0, num_steps=50, *, timesteps=None, spacing="trailing", y=None,
                guidance_scale=1.0, return_trajectory=False, progress=True):
    """DDIM inversion: the x_T that deterministic DDIM (eta = 0) maps back to x0 (Song et al. 2021,
    sec. 4.3; Dhariwal & Nichol 2021, app. F).

    The eta = 0 step is an Euler step of an ODE, so it runs backwards too: ``ddim_step`` over the
    sampler's timesteps in rising order, -1 -> t_{n-1} -> ... -> t_0. Each step needs the noise
    estimate at the point it is moving to, which is not known yet; it uses the model at the new
    timestep on the current x instead (as diffusers' DDIMInverseScheduler does), so the round trip
    ``ddim_sample(ddim_invert(x0))`` returns x0 only up to an error that shrinks with the steps.

    Args:
        model, schedule, y, guidance_scale: as for ``ddim_sample``.
        x0: the data to encode (B, ...), e.g. digits (B, 1, 28, 28) in [-1, 1] (checked, as in ``q_sample``).
        num_steps, timesteps, spacing: the same grid as the ``ddim_sample`` call that decodes.
        return_trajectory: also return [x0, ..., x_T].
    Returns:
        x_T shaped like x0, or (x_T, trajectory). No clipping: inversion never clamps.
    """
    check_data("x0", x0)  # images must be in [-1, 1]: inverting [0, 255] digits gives nonsense codes
    check_bool("progress", progress)
    run = prepare_sampling(model, schedule, x0, num_steps, 50, timesteps=timesteps, spacing=spacing, y=y,
                           guidance_scale=guidance_scale, clip_x0=False, x_T_name="x0")
    rising, alpha_bars = run.timesteps[::-1], run.alpha_bars[::-1]  # alpha_bars[0] = 1: the clean data, t = -1
    x, trajectory = x0, [x0]
    steps = zip(tqdm(rising, desc="DDIM inversion", disable=not progress, leave=False), alpha_bars, alpha_bars[1:])
    for k, (t_next, alpha_bar, alpha_bar_next) in enumerate(steps):
        t_batch = torch.full((x.shape[0],), t_next, dtype=torch.long, device=x.device)
        eps_hat = guided_noise_checked(model, x, t_batch, run.y, run.guidance_scale)
        if k == 0:
            check_prediction(eps_hat, x, t_batch)
        x, _ = ddim_update(x, eps_hat, alpha_bar, alpha_bar_next)
        if return_trajectory:
            trajectory.append(x)
    return (x, trajectory) if return_trajectory else x


def slerp(z0, z1, alpha):
    """Spherical linear interpolation between two noises (Shoemake 1985):

        slerp(z0, z1, a) = sin((1 - a) theta) / sin(theta) z0 + sin(a theta) / sin(theta) z1,
        cos(theta) = <z0, z1> / (|z0| |z1|).

    Why not a straight line: a sample of N(0, I) in D dimensions has norm close to sqrt(D) (about
    28 for a 28x28 digit), and two of them are nearly orthogonal, so (z0 + z1) / 2 has norm close
    to sqrt(D / 2): noise unlike any x_T the model saw. slerp follows the arc and keeps the norm
    (exactly when |z0| = |z1|).

    Args:
        z0, z1: noises of the same shape (B, ...); each row is interpolated on its own angle.
        alpha: a number in [0, 1], or a 1-D tensor (K,) of them. With a tensor, B must be 1 or K,
            and the result has K rows: ``slerp(z0[:1], z1[:1], torch.linspace(0, 1, 8))`` is a
            row of 8 noises from z0 to z1.
    Returns:
        a tensor shaped like z0 (alpha a number) or (K, ...) (alpha a tensor).
    """
    check_float_tensor("z0", z0)
    check_float_tensor("z1", z1)
    if z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must have the same shape, got {tuple(z0.shape)} and {tuple(z1.shape)}")
    if isinstance(alpha, torch.Tensor):
        if alpha.dim() != 1 or not alpha.is_floating_point() or z0.shape[0] not in (1, alpha.shape[0]):
            raise ValueError(f"alpha must be a number or a 1-D float tensor (K,) with K = {z0.shape[0]} or z0 of "
                             f"batch 1, got shape {tuple(alpha.shape)}, dtype {alpha.dtype}")
        if not bool(((alpha >= 0) & (alpha <= 1)).all()):
            raise ValueError("alpha must lie in [0, 1] (0 gives z0, 1 gives z1)")
        a = alpha.detach().to(device=z0.device, dtype=torch.float64)[:, None]
    else:
        a = torch.tensor([[check_number("alpha", alpha, low=0.0, high=1.0)]], dtype=torch.float64, device=z0.device)
    flat0, flat1 = z0.flatten(1).double(), z1.flatten(1).double()
    norms = flat0.norm(dim=1) * flat1.norm(dim=1)
    if bool((norms == 0).any()):
        raise ValueError("z0 and z1 must not hold all-zero rows: the angle between them is undefined")
    theta = ((flat0 * flat1).sum(1) / norms).clamp(-1, 1).acos()[:, None]  # (B, 1)
    if bool((theta > math.pi - 1e-6).any()):
        raise ValueError("z0 and z1 point in opposite directions: the arc between them is not unique")
    parallel = theta < 1e-6  # there slerp is the straight line: avoid 0 / 0
    sin_theta = torch.where(parallel, torch.ones_like(theta), theta.sin())
    weight0 = torch.where(parallel, 1 - a, ((1 - a) * theta).sin() / sin_theta)
    weight1 = torch.where(parallel, a, (a * theta).sin() / sin_theta)
    out = weight0 * flat0 + weight1 * flat1
    return out.reshape(-1, *z0.shape[1:]).to(z0.dtype) if isinstance(alpha, torch.Tensor) else \
        out.reshape(z0.shape).to(z0.dtype)
