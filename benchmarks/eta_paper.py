"""Why eta = 1 beats eta = 0 at 10 DDIM steps in notebook 5, while the DDIM paper found the opposite
(Song et al. 2021, table 1, CIFAR-10, 10 steps: FID 13.36 at eta 0, 41.07 at eta 1).

    nice -n 15 python benchmarks/eta_paper.py [--samples 500] [--steps 10] [--bootstrap 200]

Three things differ between the paper's sampler and the notebook's, and each is changed here on its
own, from the notebook's setting, on the shipped unconditional "mnist" U-Net (cosine schedule):
- the time grid: ours ("trailing") makes its first model call at t = 999; DDIM's code
  (github.com/ermongroup/ddim, ``skip_type="uniform"``) visits t = 900, 800, ..., 0: our "leading";
- clipping: we clamp x0_hat to [-1, 1] at every step; DDIM's code does not (it clamps only the
  finished image, as saving one does; so do we here, before judging);
- the schedule: the paper's CIFAR-10 model was trained on DDPM's linear schedule, ours on the cosine
  one. A model cannot change its schedule, but it can be sampled at another schedule's noise levels:
  the linear schedule's t = 999 has half log-SNR lambda = -5.1, the cosine's lambda = -9.9
  (sqrt(abar) = 5e-5); ``dh.matching_timesteps`` finds our timesteps at the linear one's levels.
Then all three at once, the paper's CIFAR-10 sampler: the linear schedule's levels on DDIM's
"quadratic" grid (``skip_type="quad"``: floor(linspace(0, sqrt(0.8 T), n)^2), t = 800, 632, ..., 0
at 10 steps), without clipping.

Every row starts from the same --samples noises x_T (seed 0); eta 1's fresh noise is seeded too.
Per row: the digit classifier's confident share (a digit, top class probability >= 0.9) with its
standard error, the share sorted out as noise, the Frechet distance of the samples' features to the
1,000 real test digits with a 95% bootstrap interval (dh.frechet_interval), and the largest |pixel|
before the final clamp. Then, per setting, what eta 0 against eta 1 shows (dh.compare: an order only
where the 95% intervals part). At --samples 500: 10 rows of 10 steps on 500 digits, 50,000 digit-steps,
about 3 minutes on a quiet 2-core CPU at the 2.3 ms a digit-step that notebook 5's reference run
measured (an estimate); 31 minutes on 2026-12-06 on cores shared with other jobs.
"""
import argparse
import math
import sys
import time
import warnings

import torch

import diffusion_helpers as dh

BATCH = 250


def quadratic_grid(num_timesteps, steps):
    """DDIM's code's "quad" grid, falling: floor(linspace(0, sqrt(0.8 T), n)^2)."""
    rising = torch.linspace(0, math.sqrt(0.8 * num_timesteps), steps, dtype=torch.float64).square().floor().long()
    if not bool((rising[1:] > rising[:-1]).all()):
        raise ValueError(f"--steps {steps}: DDIM's quadratic grid repeats timesteps near t = 0 "
                         f"({rising[:4].tolist()}...); take fewer steps")
    return rising.flip(0)


def settings(schedule, steps):
    """name -> (timesteps a sampler visits, clip_x0): the notebook's setting, one factor changed at a
    time, and the paper's CIFAR-10 sampler (all three changed)."""
    T = schedule.num_timesteps
    linear = dh.NoiseSchedule("linear", T)
    trailing = dh.make_timesteps(T, steps, "trailing")
    return {
        "notebook: trailing, cosine, clipped": (trailing, True),
        "grid: DDIM's 'uniform' (leading)": (dh.make_timesteps(T, steps, "leading"), True),
        "clipping: none": (trailing, False),
        "schedule: the linear one's levels": (dh.matching_timesteps(schedule, linear, trailing), True),
        "paper: 'quad', linear's levels, none": (dh.matching_timesteps(schedule, linear, quadratic_grid(T, steps)), False),
    }


@torch.no_grad()
def draw(model, schedule, x_T, timesteps, clip_x0, eta):
    """DDIM from x_T on the given timesteps, in batches; the finished images clamped to [-1, 1] (as
    saving an image does); also the largest |pixel| before that clamp."""
    chunks, largest = [], 0.0
    for index, start in enumerate(range(0, len(x_T), BATCH)):
        generator = torch.Generator().manual_seed(1000 + index)
        with warnings.catch_warnings():  # unclipped samples leave [-1, 1]: measured below, not warned about
            warnings.simplefilter("ignore")
            images = dh.ddim_sample(model, schedule, x_T[start:start + BATCH], timesteps=timesteps, eta=eta,
                                    clip_x0=clip_x0, generator=generator, progress=False)
        largest = max(largest, images.abs().max().item())
        chunks.append(images.clamp(-1, 1))
    return torch.cat(chunks), largest


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--bootstrap", type=int, default=200, help="resamples for the Frechet intervals")
    args = parser.parse_args()
    began = time.perf_counter()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {time.strftime('%Y-%m-%d')}, "
          f"DDIM {args.steps} steps, {args.samples} samples a row, one noise (seed 0)\n")

    model, schedule = dh.load_pretrained("mnist")
    classifier, _ = dh.load_pretrained("digit-classifier")
    real, _ = dh.load_mnist(train=False)  # the test split: digits the classifier never saw
    real = real[:1000]
    x_T = torch.randn(args.samples, 1, 28, 28, generator=torch.Generator().manual_seed(0))

    results = {}
    for name, (timesteps, clip_x0) in settings(schedule, args.steps).items():
        for eta in (0.0, 1.0):
            images, largest = draw(model, schedule, x_T, timesteps, clip_x0, eta)
            report = dh.digit_report(images, classifier, real_images=real, resamples=args.bootstrap)
            results[(name, eta)] = dict(report, largest=largest, timesteps=timesteps.tolist(), clip_x0=clip_x0)
            print(f"  {time.perf_counter() - began:5.0f} s: {name}, eta {eta:g}", file=sys.stderr, flush=True)

    print(f"{'setting':40s}{'eta':>4s}{'confident':>17s}{'noise':>7s}{'Frechet [95%]':>24s}{'max |x|':>9s}")
    for (name, eta), report in results.items():
        frechet = report["estimates"].get("frechet")  # an interval needs more samples than features (128)
        interval = "-" if frechet is None else f"{frechet.value:.1f} [{frechet.low:.1f}, {frechet.high:.1f}]"
        print(f"{name:40s}{eta:>4g}{report['estimates']['confident']:>17.1%}{report['noise']:>7.0%}{interval:>24s}"
              f"{report['largest']:>9.3g}")
    print("\nEach setting's timesteps (then a last step to clean data), and what eta 0 against eta 1 shows:")
    for name, (timesteps, clip_x0) in settings(schedule, args.steps).items():
        zero, one = results[(name, 0.0)], results[(name, 1.0)]
        names = ("eta 0", "eta 1")
        frechet = (f"Frechet: {dh.compare(zero['estimates']['frechet'], one['estimates']['frechet'], names)}; "
                   if "frechet" in zero["estimates"] else "")
        print(f"  {name}: t = {timesteps.tolist()}, clip_x0={clip_x0}\n      {frechet}"
              f"confident share: {dh.compare(zero['estimates']['confident'], one['estimates']['confident'], names)}")
    print("\n(Frechet: lower is better; confident share: higher is better; an order is stated only where the two "
          "95% intervals part. max |x|: the largest pixel before the final clamp to [-1, 1].)")
    print(f"{time.perf_counter() - began:.0f} s in all")


if __name__ == "__main__":
    main()
