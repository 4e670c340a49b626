"""Speed and quality of the MNIST checkpoints, printed in one run on this machine.

    python benchmarks/mnist_benchmark.py                 # shipped weights
    python benchmarks/mnist_benchmark.py --weights runs  # weights from `python -m diffusion_helpers.recipes`
    python benchmarks/mnist_benchmark.py --candidate runs/mnist/mnist.pt    # new "mnist" weights beside the shipped ones
    python benchmarks/mnist_benchmark.py --candidate old.pt runs/mnist/mnist.pt --samples 1000   # several: a learning
        curve, where old.pt is an earlier shipped "mnist": git show COMMIT:diffusion_helpers/weights/mnist.pt > old.pt

Speed: parameters, forward time for a batch of 64, DDIM-50 and DDPM-1000 time for 64 digits, for
our U-Net and for seed 001's U-Net (re-implemented in reference_unet.py), and their ratio.
Quality: the digit classifier's figures for 1,000 samples of each checkpoint (DDIM, 50 steps,
x0_hat clipped; eta 0 (deterministic) and 1 for "mnist", eta 0 for "mnist-cond"), beside the same
figures for real digits (the floor). ``--candidate`` checkpoints are timed, and judged on the same noise as
"mnist", in the same run, so that their rows compare without the machine's or the seed's noise.
"""
import argparse
import os
import sys

import torch

import diffusion_helpers as dh

sys.path.insert(0, os.path.dirname(__file__))
from reference_unet import ReferenceUNet  # noqa: E402


def load(name, weights=None, path=None, option="--weights"):
    """Checkpoint ``name``'s model and schedule: the shipped one, the one in a folder of recipe runs
    (``weights``), or the checkpoint file ``path``. A U-Net checkpoint must be a dh.UNet with a noise
    schedule, conditional for "mnist-cond" and not for "mnist"; else it stops, naming ``option``."""
    if weights is None and path is None:
        return dh.load_pretrained(name)
    path = path or os.path.join(weights, name, f"{name}.pt")
    try:
        model, schedule, _ = dh.load_checkpoint(path)
    except FileNotFoundError as error:  # the package's message, with the option that gave the path
        raise SystemExit(f"{option}: {error}")
    if name != "digit-classifier":
        unet = isinstance(model, dh.UNet)
        conditional = unet and model.num_classes is not None
        if not unet or schedule is None or conditional != (name == "mnist-cond"):
            kind = ("a conditional " if conditional else "an unconditional " if unet else "a ") + type(model).__name__
            kind += f" {'with' if schedule is not None else 'without'} a noise schedule"
            raise SystemExit(f"{option} {path} holds {kind}; {name!r} needs "
                             f"a{' conditional' if name == 'mnist-cond' else 'n unconditional'} dh.UNet with a schedule")
    return model, schedule


def speed(name, model, schedule, repeats, full_ddpm):
    x = torch.randn(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    t = torch.randint(0, 1000, (64,), generator=torch.Generator().manual_seed(1))

    # every time here is dh.measure_cost's: the median of repeated runs, the model calls counted
    forward_s = dh.measure_cost(lambda m: m(x, t), model, repeats=repeats, warmup=1).seconds
    ddim = dh.measure_cost(lambda m: dh.ddim_sample(m, schedule, x, num_steps=50, progress=False), model,
                           repeats=max(1, repeats // 3))
    ddim_s = ddim.seconds
    if full_ddpm:
        ddpm = dh.measure_cost(lambda m: dh.ddpm_sample(m, schedule, x, progress=False), model, repeats=1)
        ddpm_s, note = ddpm.seconds, f" ({ddpm.model_calls} calls)"
    else:  # 100 of the 1000 steps, times 10: every step costs one forward pass (counted: 100 calls)
        short = dh.NoiseSchedule.from_betas(schedule.betas[:100])
        ddpm = dh.measure_cost(lambda m: dh.ddpm_sample(m, short, x, progress=False), model, repeats=1)
        ddpm_s, note = 10 * ddpm.seconds, f" ({ddpm.model_calls} calls x 10)"
    print(f"{name:<34}{dh.count_parameters(model):>12,}{1000 * forward_s:>12.1f}{ddim_s:>10.2f}{ddpm_s:>13.1f}{note}"
          f"; DDIM-50: {ddim.model_calls} calls, {ddim.low:.2f}-{ddim.high:.2f} s")
    return ddim_s


@torch.no_grad()
def samples(model, schedule, count, labels=None, guidance_scale=1.0, eta=0.0, seed=0):
    generator = torch.Generator().manual_seed(seed)
    out = []
    for start in range(0, count, 250):
        x_T = torch.randn(min(250, count - start), 1, 28, 28, generator=generator)
        y = None if labels is None else labels[start:start + len(x_T)]
        out.append(dh.ddim_sample(model, schedule, x_T, num_steps=50, eta=eta, y=y, guidance_scale=guidance_scale,
                                  clip_x0=True, generator=generator, progress=False))
    return torch.cat(out)


def quality_row(name, report):
    accuracy = f"{report['accuracy']:.1%}" if "accuracy" in report else "-"
    print(f"{name:<34}{report['confident']:>11.1%}{report['entropy']:>9.3f}{accuracy:>10}{report['frechet']:>10.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default=None, help="folder of recipe runs instead of the shipped weights")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--candidate", nargs="+", default=[], metavar="PATH",
                        help='"mnist" checkpoints to time and judge beside the shipped one')
    parser.add_argument("--full-ddpm", action="store_true", help="time all 1000 DDPM steps (slow for the reference)")
    args = parser.parse_args()
    torch.manual_seed(0)
    # checked before the slow parts; "candidate 1" is the first path
    candidates = [(f"candidate {i}", *load("mnist", path=path, option="--candidate"))
                  for i, path in enumerate(args.candidate, 1)]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch of 64 digits\n")
    for i, path in enumerate(args.candidate, 1):
        print(f"candidate {i}: {path}")

    print(f"{'model':<34}{'parameters':>12}{'forward ms':>12}{'DDIM-50 s':>10}{'DDPM-1000 s':>13}")
    model, schedule = load("mnist", args.weights)
    ours = speed("ours: dh.UNet (mnist)", model, schedule, args.repeats, args.full_ddpm)
    ratios = [speed(name, unet, unet_schedule, args.repeats, args.full_ddpm) / ours
              for name, unet, unet_schedule in candidates]
    reference = speed("seed 001 U-Net (reference)", ReferenceUNet().eval(), schedule, args.repeats, args.full_ddpm)
    print(f"\nDDIM-50 speed-up over the reference: {reference / ours:.1f}x"
          + "".join(f"; candidate {i} takes {ratio:.2f}x the time of ours" for i, ratio in enumerate(ratios, 1)) + "\n")

    classifier, _ = load("digit-classifier", args.weights)
    real, real_labels = dh.load_mnist(train=False)
    held_out = len(real)  # the test split: digits the classifier never saw (offline 1,000)
    n, half = min(args.samples, held_out), held_out // 2
    reference = real[half:]

    def judge(images, asked=None):
        """Confidence, entropy and accuracy on all images; the Frechet distance of the first 500
        against 500 held-out digits, so that every row's distance has the same sample sizes."""
        report = dh.digit_report(images, classifier, asked_labels=asked)
        report["frechet"] = dh.digit_report(images[:half], classifier, real_images=reference)["frechet"]
        return report

    print(f"{'samples (DDIM-50, ' + str(n) + ' each)':<34}{'confident':>11}{'entropy':>9}{'accuracy':>10}{'Frechet':>10}")
    quality_row("real held-out digits (floor)", judge(real[:n], real_labels[:n]))
    for eta in (0.0, 1.0):
        for name, unet, unet_schedule in [("mnist", model, schedule)] + candidates:
            quality_row(f"{name}, eta {eta:g}", judge(samples(unet, unet_schedule, n, eta=eta)))
    conditional, schedule = load("mnist-cond", args.weights)
    asked = torch.arange(n) % 10
    for scale in (1.0, 3.0, 5.0):
        quality_row(f"mnist-cond, guidance {scale:g}", judge(samples(conditional, schedule, n, asked, scale), asked))
    print("\nconfident: top class probability >= 0.9; entropy of the class histogram in nats (even: 2.303);"
          "\naccuracy: classified as the asked digit; Frechet: distance of 500 images to 500 held-out real digits"
          "\nin the classifier's features (the floor row: two sets of real digits).")


if __name__ == "__main__":
    main()
