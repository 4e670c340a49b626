"""Quality against model calls: the flow-matching "mnist-flow" beside the DDPM "mnist", measured in
one run; notebook 7's reference table and the goal of issue 33.

    nice -n 15 python benchmarks/flow_quality.py [--samples 400] [--repeats 3] [--bootstrap 100]
        [--calls 5,10,20,50] [--check 50] [--flow-checkpoint PATH] [--threads N]

Rows, all from the same --samples noises x_T (seed 0), model calls counted with dh.measure_cost
(its counting stand-in sees every forward call of the U-Net; the step count of a row is the largest
whose counted calls fit the budget):
  "mnist-flow" (dh.load_pretrained, or --flow-checkpoint) with Euler at every budget of --calls and
    Heun (Karras et al. 2022, Alg. 1: n steps cost 2n - 1 calls, the last step Euler) at those up to
    20, on the even grid in t from 1 to 0 (dh.flow_times); its samples clamped to [-1, 1] at the end;
  "mnist" with DDIM (eta 0) and UniPC at every budget, DPM-Solver++ at 10 calls, each on its package
    default grid (dh.DEFAULT_SPACINGS), x0_hat clipped;
  "mnist" as a velocity field (dh.VelocityFromNoise, x0_hat clipped, its "trailing" grid) with Heun
    at the Heun budgets, started from dh.ode_state(x_T, abar_(T-1)); and with Euler at every budget,
    sampled on the first --check noises only and compared pixel by pixel with DDIM's digits there:
    DDIM is Euler on that ODE (notebook 7), so those rows are DDIM's (the largest difference printed).
Per row: the confident share of dh.digit_report (a digit with top class probability >= 0.9) with
its standard error sqrt(p (1 - p) / n); the Frechet distance of all samples to 500 real test digits
in the digit classifier's features, with a 95% bootstrap interval (--bootstrap resamples of samples
and real digits, seed 0, recentred as dh.frechet_interval's), and its ratio to the best 10-call row
of "mnist" with a paired interval (the same resamples in both rows: every row starts from the same
x_T); milliseconds a digit: the samples are drawn in --repeats rounds of n / repeats noises over
all rows (so a change in the machine's load hits every row alike), the median over the rounds.

Then each mnist-flow row against mnist's with the same step rule and steps (Euler: DDIM; Heun: Heun
on the velocity field), a paired Frechet ratio: what the path and the training buy at one sampler.
Then the goal of issue 33: at 10 model calls, is "mnist-flow" (its better 10-call row: Euler 10 or
Heun 5, 9 calls) at least as good by Frechet distance (the paired ratio's interval) and confident
share (dh.compare) as "mnist" with its best 10-call sampler here; "within the noise" where the
intervals say so. And both training budgets, from the checkpoints' metadata.
Time, measured at --samples 400 with --threads 1 (about 350 model calls a digit): 7.4 minutes on 2
cores shared with other jobs (load average 3.5-5), 4.6 at load 1.3; two threads on cores shared
with others ran several times slower than one. --samples 100 for a quick look (fewer samples than
the classifier's 128 features: its Frechet distances are mostly noise).
"""
import argparse
import os
import statistics
import sys
import time

import torch

import diffusion_helpers as dh
from diffusion_helpers.pretrained import PRETRAINED, WEIGHTS_DIR, file_sha256
from diffusion_helpers.uncertainty import recentred

CALLS = (5, 10, 20, 50)      # the model-call budgets
HEUN_LARGEST = 20            # Heun at the budgets up to this one
GOAL_CALLS = 10              # the budget of the goal
REAL = 1000                  # real test digits: the first half the Frechet reference, the second the floor
BATCH = 500
TITLES = {"euler": "Euler", "heun": "Heun", "ddim": "DDIM", "unipc": "UniPC", "dpm_solver": "DPM-Solver++"}


@torch.no_grad()
def sample(case, network, schedule, x_T):
    """The digits (B, 1, 28, 28) in [-1, 1] of one row, case = (model, sampler, steps), from x_T."""
    model, name, steps = case
    if model == "mnist-flow":
        return dh.FLOW_SAMPLERS[name](network, x_T, steps, progress=False).clamp(-1, 1)
    elif model == "mnist" and name in dh.SAMPLERS:
        return dh.SAMPLERS[name](network, schedule, x_T, steps, clip_x0=True, progress=False)
    elif model == "mnist" and name in dh.FLOW_SAMPLERS:
        start = dh.ode_state(x_T, schedule.alpha_bar(schedule.num_timesteps - 1))
        velocity = dh.VelocityFromNoise(network, schedule)  # x0_hat clipped, as for images
        return dh.FLOW_SAMPLERS[name](velocity, start, steps, progress=False).clamp(-1, 1)
    else:
        raise ValueError(f"no row for model {model!r} with sampler {name!r}: the models are 'mnist-flow' (with "
                         f"{list(dh.FLOW_SAMPLERS)}) and 'mnist' (with {list(dh.SAMPLERS)} or "
                         f"{list(dh.FLOW_SAMPLERS)})")


def run(case, networks, schedule, x_T):
    """One counted and timed run of a row in batches of BATCH: (calls per digit, seconds, digits)."""
    network, calls, seconds, digits = networks[case[0]], set(), 0.0, []
    for start in range(0, len(x_T), BATCH):
        cost = dh.measure_cost(lambda m: sample(case, m, schedule, x_T[start:start + BATCH]), network, repeats=1)
        calls.add(cost.model_calls)
        seconds += cost.seconds
        digits.append(cost.result)
    assert len(calls) == 1, f"{case}: the batches made different numbers of model calls {calls}"
    return calls.pop(), seconds, torch.cat(digits)


def steps_for(model, name, budget, networks, schedule, x_T):
    """The most steps whose run makes at most ``budget`` model calls: the calls of 1 and 2 steps
    (counted on one noise) give calls = a steps + b; the answer's own run is counted to confirm it."""
    one, two = (run((model, name, steps), networks, schedule, x_T[:1])[0] for steps in (1, 2))
    steps = max(1, (budget - one) // (two - one) + 1) if two > one else budget
    if run((model, name, steps), networks, schedule, x_T[:1])[0] > budget:
        raise RuntimeError(f"{name} makes more than {budget} model calls in {steps} steps")
    return steps


def grid_of(case):
    model, name, _ = case
    if model == "mnist-flow":
        return "even in t"
    return f'"{dh.DEFAULT_SPACINGS[name]}"' if name in dh.SAMPLERS else '"trailing", velocity field'


def label(case):
    return f"{case[0]} {TITLES[case[1]]}-{case[2]}"


def checkpoint_budget(training):
    """'3,400 steps, 55 min' and the last run's threads and batch, from a checkpoint's metadata."""
    steps = training.get("total_steps", training.get("steps"))
    minutes = training.get("total_minutes", training.get("minutes"))
    threads = training.get("threads", "?")
    return steps, minutes, (f"{steps:,} steps, {minutes:.{0 if minutes >= 10 else 1}f} min (last run: {threads} "
                            f"thread{'' if threads == 1 else 's'}, batches of {training.get('batch_size', '?')})")


def load_flow(path):
    """mnist-flow's model, its metadata and its file: the shipped one (checked), or a checkpoint at ``path``."""
    if path is None:
        model, _ = dh.load_pretrained("mnist-flow")
        path = os.path.join(WEIGHTS_DIR, PRETRAINED["mnist-flow"]["file"])
    else:
        model = dh.load_checkpoint(path)[0]
    if getattr(model, "continuous_time", False) is not True:
        raise ValueError(f"--flow-checkpoint must hold a velocity model (a dh.UNet with continuous_time=True, trained "
                         f"by flow matching), got {type(model).__name__} from {path}")
    return model, dh.load_checkpoint(path)[2], path


def goal(flow, mnist, ratio):
    """The verdict of issue 33's goal from the numbers: (met, words). flow, mnist: rows with a
    'confident' Estimate; ratio: the paired Estimate of flow's Frechet distance over mnist's."""
    frechet = frechet_words(ratio)
    order = dh.ordering(flow["confident"], mnist["confident"])
    share = {-1: "mnist-flow lower beyond the noise", 0: "within the noise",
             1: "mnist-flow higher beyond the noise"}[order]
    met = ratio.low <= 1 and order >= 0
    verdict = ("met within the noise (no worse beyond it, and not better beyond it either)"
               if frechet == share == "within the noise" else "met" if met else "NOT met")
    return met, f"Frechet {frechet}, confident share {share}: goal {verdict}"


def frechet_words(ratio):
    """What a paired ratio of Frechet distances, mnist-flow's over mnist's, shows."""
    return ("mnist-flow lower beyond the noise" if ratio.high < 1 else
            "mnist-flow higher beyond the noise" if ratio.low > 1 else "within the noise")


def same_rule(results):
    """Each mnist-flow row against mnist's with the same step rule and steps (Euler: DDIM, which is
    Euler on mnist's velocity field; Heun: Heun on it), as a paired Frechet ratio: {case: Estimate}."""
    partner = {"euler": "ddim", "heun": "heun"}
    return {case: recentred(results[case]["frechet_value"] / results[other]["frechet_value"],
                            results[case]["boot"] / results[other]["boot"])
            for case in results if case[0] == "mnist-flow"
            for other in [("mnist", partner[case[1]], case[2])] if other in results}


def parse_calls(text):
    calls = tuple(sorted({int(part) for part in text.split(",")}))
    if GOAL_CALLS not in calls or calls[0] < 1:
        raise argparse.ArgumentTypeError(f"--calls must be positive budgets including the goal's {GOAL_CALLS}, "
                                         f"got {text!r}")
    return calls


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=400, help="digits a row (default 400)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds the samples are drawn in (timing: their median)")
    parser.add_argument("--bootstrap", type=int, default=100, help="resamples for the Frechet intervals")
    parser.add_argument("--calls", type=parse_calls, default=CALLS, help="model-call budgets, e.g. 5,10,20,50")
    parser.add_argument("--check", type=int, default=50, help="noises on which Euler on mnist's velocity field "
                        "is compared with DDIM")
    parser.add_argument("--flow-checkpoint", default=None, help="a mnist-flow checkpoint (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.samples < args.repeats or args.repeats < 1 or args.bootstrap < 10 or args.check < 1:
        parser.error("--samples must be at least --repeats >= 1, --bootstrap at least 10, --check at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    began = time.perf_counter()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {time.strftime('%Y-%m-%d')}, "
          f"{args.samples} samples a row, one noise (seed 0), load average {os.getloadavg()[0]:.1f}\n")

    flow, flow_metadata, flow_path = load_flow(args.flow_checkpoint)
    print(f"mnist-flow: {os.path.relpath(flow_path)}, sha256 {file_sha256(flow_path)[:16]}...")
    mnist, schedule = dh.load_pretrained("mnist")
    networks = {"mnist-flow": flow, "mnist": mnist}
    classifier, _ = dh.load_pretrained("digit-classifier")
    real = dh.load_mnist(train=False)[0][:REAL]
    half = len(real) // 2
    reference = features_of(real[:half], classifier)
    n = args.samples
    noise = torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))

    heun_calls = [budget for budget in args.calls if budget <= HEUN_LARGEST]
    plan = ([("mnist-flow", "euler", b) for b in args.calls] + [("mnist-flow", "heun", b) for b in heun_calls]
            + [("mnist", "ddim", b) for b in args.calls] + [("mnist", "unipc", b) for b in args.calls]
            + [("mnist", "dpm_solver", GOAL_CALLS), *(("mnist", "heun", b) for b in heun_calls)])
    cases = {(model, name, steps_for(model, name, budget, networks, schedule, noise)): budget
             for model, name, budget in plan}

    results = {case: {"budget": budget, "seconds": [], "digits": []} for case, budget in cases.items()}
    for round_number, part in enumerate(torch.arange(n).tensor_split(args.repeats)):
        for case, row in results.items():
            row["calls"], seconds, digits = run(case, networks, schedule, noise[part])
            row["seconds"].append(seconds / len(part))
            row["digits"].append(digits)
        print(f"  {time.perf_counter() - began:5.0f} s: round {round_number + 1} of {args.repeats} done",
              file=sys.stderr, flush=True)

    check = noise[:min(args.check, n)]
    velocity_euler = {}
    for case in [c for c in results if c[:2] == ("mnist", "ddim")]:
        calls, _, digits = run(("mnist", "euler", case[2]), networks, schedule, check)
        ddim = torch.cat(results[case]["digits"])[:len(check)]
        velocity_euler[case[2]] = {"calls": calls, "difference": (digits - ddim).abs().max().item()}

    resample_samples = torch.randint(0, n, (args.bootstrap, n), generator=torch.Generator().manual_seed(0))
    resample_real = torch.randint(0, half, (args.bootstrap, half), generator=torch.Generator().manual_seed(1))
    for case, row in results.items():
        digits = torch.cat(row.pop("digits"))
        report = dh.digit_report(digits, classifier)
        features = features_of(digits, classifier)
        row.update(confident=report["estimates"]["confident"], frechet_value=dh.frechet_distance(features, reference),
                   boot=torch.tensor([dh.frechet_distance(features[i], reference[j])
                                      for i, j in zip(resample_samples, resample_real)], dtype=torch.float64))
        row["frechet"] = recentred(row["frechet_value"], row["boot"])
    floor = dh.frechet_distance(features_of(real[half:], classifier), reference)

    def best(model):
        rows = [case for case in results if case[0] == model and results[case]["budget"] == GOAL_CALLS]
        return min(rows, key=lambda case: (results[case]["frechet_value"], -results[case]["confident"].value))
    comparator, challenger = best("mnist"), best("mnist-flow")
    for row in results.values():
        row["ratio"] = recentred(row["frechet_value"] / results[comparator]["frechet_value"],
                                 row["boot"] / results[comparator]["boot"])

    print(f"| model | sampler | grid | steps | calls | ms / digit | confident | Fréchet (95%) | "
          f"/ {label(comparator)} (95%) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for case, row in results.items():
        p, f, r = row["confident"], row["frechet"], row["ratio"]
        print(f"| {case[0]} | {TITLES[case[1]]} | {grid_of(case)} | {case[2]} | {row['calls']} | "
              f"{1000 * statistics.median(row['seconds']):.1f} | {100 * p.value:.1f}% ± {100 * p.error:.1f} | "
              f"{f.value:.1f} ({f.low:.1f}-{f.high:.1f}) | {r.value:.2f}x ({r.low:.2f}-{r.high:.2f}) |")
    print(f"\nreal digits: Frechet {floor:.1f} ({REAL - half} test digits against the {half} of the reference: the floor "
          f"at that size)\n{n} samples a row from the same noises; confident ± one standard error in points; Frechet: all "
          f"{n} samples against {half} real test digits in the classifier's features, 95% bootstrap intervals over "
          f"{args.bootstrap} resamples (paired for the ratio); ms / digit: median of {args.repeats} rounds of "
          f"{n // args.repeats}-{-(-n // args.repeats)} digits.")
    print(f"\nEuler on mnist's velocity field (dh.VelocityFromNoise, its \"trailing\" grid) on the first {len(check)} noises, "
          "against DDIM's digits from them: "
          + "; ".join(f"{steps} steps, {v['calls']} calls, largest pixel difference {v['difference']:.1e}"
                      for steps, v in velocity_euler.items())
          + f" (pixels span 2, one 8-bit grey level is {2 / 255:.1e}): DDIM is Euler on that ODE, so its rows are DDIM's.")

    pairs = same_rule(results)
    print("\nThe same step rule at the same calls, mnist-flow's Frechet distance over mnist's (paired 95% interval; "
          "mnist's Euler is DDIM): " + "; ".join(
              f"{TITLES[name]} {results[(model, name, steps)]['calls']} calls {r.value:.2f}x ({r.low:.2f}-{r.high:.2f}), "
              f"{frechet_words(r)}" for (model, name, steps), r in pairs.items()) + ".")

    met, words = goal(results[challenger], results[comparator], results[challenger]["ratio"])
    flow_row, mnist_row = results[challenger], results[comparator]
    print(f"\nGoal of issue 33, at {GOAL_CALLS} model calls: {label(challenger)} ({flow_row['calls']} calls; confident "
          f"{flow_row['confident']:.1%}, Frechet {flow_row['frechet_value']:.1f}) against {label(comparator)} (the best "
          f"{GOAL_CALLS}-call row of mnist here; confident {mnist_row['confident']:.1%}, Frechet "
          f"{mnist_row['frechet_value']:.1f}): Frechet ratio {flow_row['ratio'].value:.2f}x "
          f"({flow_row['ratio'].low:.2f}-{flow_row['ratio'].high:.2f}); {words}.")
    budgets = {"mnist-flow": checkpoint_budget(flow_metadata["training"]),
               "mnist": checkpoint_budget(next(row for row in dh.list_pretrained() if row["name"] == "mnist")["training"])}
    shares = [budgets["mnist-flow"][i] / budgets["mnist"][i] for i in (0, 1)]
    print(f"Training budgets (the checkpoints' metadata): mnist-flow {budgets['mnist-flow'][2]}; mnist {budgets['mnist'][2]}. "
          f"mnist-flow had {shares[0]:.0%} of mnist's steps and {shares[1]:.0%} of its minutes"
          + (": the comparison is at unequal training, in mnist's favour." if max(shares) < 1 else
             ": at least mnist's training." if min(shares) >= 1 else "."))
    print(f"\n{time.perf_counter() - began:.0f} s in all")
    return {"results": results, "velocity_euler": velocity_euler, "comparator": comparator, "challenger": challenger,
            "met": met, "floor": floor, "same_rule": pairs}


@torch.no_grad()
def features_of(images, classifier):
    return torch.cat([classifier.features(images[start:start + BATCH]) for start in range(0, len(images), BATCH)])


if __name__ == "__main__":
    main()
