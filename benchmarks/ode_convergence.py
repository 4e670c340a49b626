"""How fast DDIM (eta = 0), DPM-Solver++(2M) and UniPC approach the exact probability-flow ODE as the
steps grow: on Gaussian data N(1, 0.5^2), whose ODE is solved in closed form
(dh.GaussianNoisePredictor.flow). Prints the largest error over 2,001 starting points.

    python benchmarks/ode_convergence.py

Three grids: "interior" runs from t=900 to t=100 (evenly in t), where the error is the solver's own;
"trailing" (DDIM's and UniPC's default: from T-1, pure noise) and "logsnr" (even in half
log-SNR from -5.1) are measured at their last noisy timestep, before the final denoising step. A first-order solver's error halves when the
steps double (ratio 2); a second-order one's falls by 4. (UniPC's last corrected point is never
output: the state measured is its predictor's, before the correction the next step would make.)
"""
import torch

import diffusion_helpers as dh

STEPS = (25, 50, 100, 200)


def main():
    x_T = torch.linspace(-4, 4, 2001, dtype=torch.float64)[:, None]
    samplers = ("ddim", "dpm_solver", "unipc")  # by name in dh.SAMPLERS; DDIM at its default eta 0
    for schedule_name in ("cosine", "linear"):
        schedule = dh.NoiseSchedule(schedule_name, 1000)
        model = dh.GaussianNoisePredictor(schedule, mean=1.0, std=0.5)
        grids = {"interior": lambda n: torch.linspace(900, 100, n + 1).round().long().tolist(),
                 "trailing": lambda n: dh.make_timesteps(1000, n).tolist(),
                 "logsnr": lambda n: dh.make_timesteps(1000, n, "logsnr", schedule).tolist()}
        for grid_name, grid in grids.items():
            print(f"\n{schedule_name} schedule, {grid_name} grid: largest error against the exact ODE")
            print(f"{'solver':18s}" + "".join(f"{n:>10d}" for n in STEPS) + "   ratios (error n / error 2n)")
            for name in samplers:
                errors = [model.solver_error(dh.SAMPLERS[name], schedule, x_T, grid(n)) for n in STEPS]
                ratios = [a / b for a, b in zip(errors, errors[1:])]
                print(f"{name:18s}" + "".join(f"{e:10.2e}" for e in errors) + "   " +
                      " ".join(f"{r:.2f}" for r in ratios))


if __name__ == "__main__":
    main()
