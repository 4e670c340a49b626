"""Speed and quality of the samplers on the shipped unconditional "mnist" U-Net, printed in one run.

    python benchmarks/sampler_benchmark.py [--samples 1000] [--repeats 3]

DDIM (eta 0, "trailing" spacing) at 10-100 steps; DPM-Solver++(2M) and UniPC at 10-20 steps, on their
default grid (even in half log-SNR, "logsnr") and on "trailing". Per row: model evaluations, seconds
for 64 digits (median over --repeats), and the digit classifier's figures for --samples samples, all
from the same noise x_T (seed 0), x0_hat clipped, beside real digits (the floor), as in
mnist_benchmark.py. Goal (the issue): at most 15 evaluations, within 10% of DDIM-50's Frechet
distance and confident share, and 64 digits in under a second.
"""
import argparse
import os
import sys

import torch

import diffusion_helpers as dh

sys.path.insert(0, os.path.dirname(__file__))
from unet_speed import median_seconds as seconds  # noqa: E402

# (a name in dh.SAMPLERS, spacing, steps)
CASES = [("ddim", "trailing", steps) for steps in (10, 20, 50, 100)] + [
    (name, spacing, steps) for name in ("dpm_solver", "unipc") for spacing in ("logsnr", "trailing")
    for steps in (10, 15, 20)]
REFERENCE = ("ddim", "trailing", 50)


@torch.no_grad()
def sample(model, schedule, case, x_T):
    name, spacing, steps = case
    return dh.SAMPLERS[name](model, schedule, x_T, steps, spacing=spacing, clip_x0=True, progress=False)


def evaluations(model, schedule, case, x_T):
    """Model calls one run of the sampler makes, counted with a forward hook."""
    calls = []
    hook = model.register_forward_pre_hook(lambda module, inputs: calls.append(1))
    try:
        sample(model, schedule, case, x_T[:1])
    finally:
        hook.remove()
    return len(calls)


@torch.no_grad()
def judge(images, classifier, reference):
    """Confident share and entropy on all images; the Frechet distance of the first len(reference)
    against the held-out reference digits, so that every row's distance has the same sample sizes."""
    report = dh.digit_report(images, classifier)
    report["frechet"] = dh.digit_report(images[:len(reference)], classifier, real_images=reference)["frechet"]
    return report


def measure(model, schedule, case, noise, classifier, reference, repeats):
    images = torch.cat([sample(model, schedule, case, noise[start:start + 250]) for start in range(0, len(noise), 250)])
    report = judge(images, classifier, reference)
    report["evaluations"] = evaluations(model, schedule, case, noise)
    report["seconds"] = seconds(lambda: sample(model, schedule, case, noise[:64]), repeats)
    return report


def row(name, report, ddim_50):
    calls = report.get("evaluations", "-")
    timing = f"{report['seconds']:.2f}" if "seconds" in report else "-"
    print(f"{name:<32}{calls:>6}{timing:>9}{report['confident']:>11.1%}{report['entropy']:>9.3f}"
          f"{report['frechet']:>10.2f}{report['frechet'] / ddim_50:>9.2f}x")


def verdict(results):
    """The best sampler (lowest Frechet distance) with at most 15 evaluations, against DDIM-50."""
    reference = results[REFERENCE]
    cheap = [case for case in results if results[case]["evaluations"] <= 15]
    best = min(cheap, key=lambda case: results[case]["frechet"])
    report = results[best]
    frechet_ok = report["frechet"] <= 1.1 * reference["frechet"]
    confident_ok = report["confident"] >= 0.9 * reference["confident"]
    goal = frechet_ok and confident_ok and report["seconds"] < 1
    print(f"\nbest at <= 15 evaluations (lowest Frechet): {best[0]}, {best[1]}, {best[2]} steps, "
          f"{report['evaluations']} evaluations, against DDIM-50:"
          f"\n  Frechet {report['frechet']:.2f} vs {reference['frechet']:.2f}: {'' if frechet_ok else 'NOT '}"
          f"within 10%;"
          f" confident {report['confident']:.1%} vs {reference['confident']:.1%}: {'' if confident_ok else 'NOT '}"
          f"within 10%; 64 digits in {report['seconds']:.2f} s: {'' if report['seconds'] < 1 else 'NOT '}under 1 s"
          f" ({report['seconds'] / reference['seconds']:.2f} of DDIM-50's {reference['seconds']:.2f} s in this run:"
          f" machines differ, the ratio holds)"
          f"\n  goal (all three): {'met' if goal else 'not met'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, seconds for a batch of 64 digits\n")

    model, schedule = dh.load_pretrained("mnist")
    classifier, _ = dh.load_pretrained("digit-classifier")
    real, _ = dh.load_mnist(train=False)
    held_out = len(real)  # the test split: digits the classifier never saw (offline 1,000)
    n, half = min(args.samples, held_out), held_out // 2
    reference = real[half:]
    noise = torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))

    floor = judge(real[:n], classifier, reference)
    results = {case: measure(model, schedule, case, noise, classifier, reference, args.repeats) for case in CASES}
    ddim_50 = results[REFERENCE]["frechet"]
    print(f"{'sampler':<17}{'grid':<9}{'steps':>6}{'evals':>6}{'seconds':>9}{'confident':>11}{'entropy':>9}"
          f"{'Frechet':>10}{'/DDIM-50':>10}")
    row("real held-out digits (floor)", floor, ddim_50)
    for (name, spacing, steps), report in results.items():
        row(f"{name:<17}{spacing:<9}{steps:>6}", report, ddim_50)
    print(f"\n{n} samples a row. evals: model calls per sample; confident: top class probability >= 0.9;"
          "\nentropy of the class histogram in nats (even: 2.303); Frechet: distance of 500 images to 500"
          "\nheld-out real digits in the classifier's features (the floor row: two sets of real digits);"
          "\n/DDIM-50: Frechet relative to DDIM-50's; within 10%: Frechet <= 1.1x, confident >= 0.9x DDIM-50's.")
    verdict(results)


if __name__ == "__main__":
    main()
