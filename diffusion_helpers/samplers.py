"""The four samplers by name, for tables, widgets and benchmarks: ``dh.SAMPLERS["ddim"]``.

Every sampler takes the same parameters in the same order,

    sample(model, schedule, x_T, num_steps, *, timesteps, spacing, y, guidance_scale,
           guidance_interval, clip_x0, generator, progress, return_trajectory, <its own options>)

(DDPM's own option: variance, "beta_tilde" or "beta"; DDIM's: eta), and its ``*_steps``
generator the same without return_trajectory, yielding a SamplerState (t, x, x0_hat) after
each step. Only the defaults differ: num_steps (DDPM None = all T, DDIM 50, DPM-Solver++ 15,
UniPC 10) and spacing, ``DEFAULT_SPACINGS[name]`` ("trailing" for DDPM and DDIM; for the two ODE
solvers the grid that measured best at 15 model calls in benchmarks/sampler_benchmark.py, which
prints it beside the measured best).

The flow samplers, for velocity models (flow_samplers.py), are listed apart in ``FLOW_SAMPLERS``
and ``FLOW_SAMPLER_STEPS``: they take no schedule,

    sample(model, x_T, num_steps, *, times, y, guidance_scale, generator, progress, return_trajectory)

(Euler 20 steps by default, Heun 10); a DDPM model joins them as dh.VelocityFromNoise(model, schedule).
"""
from .flow_samplers import flow_euler_sample, flow_euler_steps, flow_heun_sample, flow_heun_steps
from .sampling import ddim_sample, ddim_steps, ddpm_sample, ddpm_steps
from .solvers import dpm_solver_sample, dpm_solver_steps, unipc_sample, unipc_steps



class _ByName(dict):
    """A dict of samplers whose unknown name is a KeyError that lists the known ones."""

    def __missing__(self, name):
        raise KeyError(f"no sampler named {name!r}: the names are {list(self)}")


SAMPLERS = _ByName(ddpm=ddpm_sample, ddim=ddim_sample, dpm_solver=dpm_solver_sample, unipc=unipc_sample)
SAMPLER_STEPS = _ByName(ddpm=ddpm_steps, ddim=ddim_steps, dpm_solver=dpm_solver_steps, unipc=unipc_steps)
# the parameters every sampler shares, in order; a sampler's own options (DDPM's variance, DDIM's eta) follow them
SHARED_PARAMETERS = ("model", "schedule", "x_T", "num_steps", "timesteps", "spacing", "y", "guidance_scale",
                     "guidance_interval", "clip_x0", "generator", "progress", "return_trajectory")

FLOW_SAMPLERS = _ByName(euler=flow_euler_sample, heun=flow_heun_sample)
FLOW_SAMPLER_STEPS = _ByName(euler=flow_euler_steps, heun=flow_heun_steps)
FLOW_SHARED_PARAMETERS = ("model", "x_T", "num_steps", "times", "y", "guidance_scale", "generator", "progress",
                          "return_trajectory")
