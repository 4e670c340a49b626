"""Linear against cosine at an equal budget, on digits: two small MNIST U-Nets, one trained with each
schedule (the same steps, batch, learning rate, initial weights and seed), judged by the package's
digit classifier on the same noise, printed with their uncertainty. Notebook 3 shows this table as
its digits reference beside its own 2D measurement.

    nice -n 15 python benchmarks/schedule_budget.py               # 1,500 steps each, 500 digits a model
    python benchmarks/schedule_budget.py --steps 100 --digits 64  # a quick look (no Frechet distance below 200)

Each model: dh.UNet(base_channels=16), notebook 4's small model, trained by dh.train (batch 64,
lr 2e-3, EMA 0.999, seed 0, the same initial weights: torch.manual_seed(seed) before each) on the
MNIST training digits; sampled with DDIM-50 (eta 0, x0_hat clipped, the trailing grid) from one
fixed noise (seed 1, the same for both). Columns: the final loss (mean of the last 100 steps, with
its standard error; the two schedules weigh the noise levels differently, so the losses are not a
measure of quality across schedules), the shares of digits and of confident digits (dh.digit_report,
with the binomial standard error), the Frechet distance to as many real test digits in the
classifier's features (dh.frechet_interval's 95% bootstrap interval), and the minutes of training.
Then the two rows against each other (dh.compare: an ordering only where the intervals part).

Time: about 10-15 minutes on two CPU cores (most of it the two trainings); the printout ends with
the minutes it took.
"""
import argparse
import time

import torch

import diffusion_helpers as dh

SCHEDULES = ("linear", "cosine")


@torch.no_grad()
def sample_digits(model, schedule, noise, steps, chunk=250):
    return torch.cat([dh.ddim_sample(model, schedule, noise[s:s + chunk], steps, clip_x0=True, progress=False)
                      for s in range(0, len(noise), chunk)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1500, help="training steps of each model (default 1,500)")
    parser.add_argument("--digits", type=int, default=500, help="digits sampled from each model (default 500)")
    parser.add_argument("--sample-steps", type=int, default=50, help="DDIM steps (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="the seed of both trainings (default 0)")
    args = parser.parse_args()
    started = time.perf_counter()
    device = dh.setup(seed=args.seed)
    images, _ = dh.load_mnist()
    test_images, _ = dh.load_mnist(train=False)
    classifier, _ = dh.load_pretrained("digit-classifier", device=device)
    real = test_images[:args.digits] if args.digits >= 200 else None  # a Frechet distance needs a few hundred
    noise = torch.randn(args.digits, 1, 28, 28, generator=torch.Generator().manual_seed(1)).to(device)
    rows = {}
    for name in SCHEDULES:
        schedule = dh.NoiseSchedule(name, 1000)
        torch.manual_seed(args.seed)  # the same initial weights for both
        model = dh.UNet(base_channels=16)
        result = dh.train(model, schedule, images, steps=args.steps, batch_size=64, lr=2e-3, seed=args.seed,
                          device=device, progress=False)
        digits = sample_digits(result.ema_model, schedule.to(device), noise, args.sample_steps)
        report = dh.digit_report(digits.cpu(), classifier, real_images=real)
        rows[name] = {"loss": dh.mean_estimate(result.losses[-100:]), "minutes": result.seconds / 60,
                      **report["estimates"]}
        print(f"  {name}: trained in {result.seconds / 60:.1f} min", flush=True)
    print(f"\ndh.UNet(base_channels=16), {args.steps:,} steps of 64 digits each (seed {args.seed}), DDIM-{args.sample_steps} "
          f"from the same {args.digits} noises; Frechet distance to {0 if real is None else len(real)} real test digits "
          f"(diffusion_helpers {dh.__version__}, {device})")
    print(f"\n{'schedule':>9s}{'final loss':>18s}{'digits':>16s}{'confident':>16s}{'Frechet [95%]':>20s}{'minutes':>9s}")
    for name, row in rows.items():
        frechet = (f"{row['frechet'].value:.0f} [{row['frechet'].low:.0f}, {row['frechet'].high:.0f}]"
                   if "frechet" in row else "(few digits)")
        print(f"{name:>9s}{row['loss']:>18.4f}{row['digit']:>16.1%}{row['confident']:>16.1%}{frechet:>20s}"
              f"{row['minutes']:>9.1f}")
    names = ("linear", "cosine")
    print()
    for key, label in (("digit", "share of digits"), ("confident", "share of confident digits"),
                       ("frechet", "Frechet distance")):
        if key in rows["linear"]:
            print(f"{label:>26s}: {dh.compare(rows['linear'][key], rows['cosine'][key], names)}")
    print(f"\n{(time.perf_counter() - started) / 60:.1f} minutes in all")


if __name__ == "__main__":
    main()
