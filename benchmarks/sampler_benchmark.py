"""Which time grid each few-step sampler should use by default, measured on the shipped
unconditional "mnist" U-Net in one run: the benchmark, not a pasted number, decides.

    python benchmarks/sampler_benchmark.py [--samples 1000] [--repeats 3] [--bootstrap 100] [--threads N]

DDIM-50 ("trailing", eta 0) is the reference. DDIM, DPM-Solver++(2M) and UniPC are each run on
every grid in dh.SPACINGS at 10 and 15 model calls (counted with a forward hook, not assumed: the
step count is the largest whose calls fit), all from the same --samples noises x_T (seed 0), x0_hat
clipped. Per row: model calls; seconds for 64 digits, the median over --repeats runs taken in
rounds over all rows (so a change in the machine's load hits every row alike), and its ratio to
DDIM-50's in this run; the digit classifier's confident share (top class probability >= 0.9) with
its standard error sqrt(p (1 - p) / n); the Frechet distance of all samples to 500 held-out real
digits in the classifier's features, with a 95% basic bootstrap interval (--bootstrap resamples of
the samples' features, seed 0), and its ratio to DDIM-50's with a paired interval (the same
resampled noises for both: every row starts from the same x_T).

Then, for each sampler, the grid that measures best (lowest Frechet distance, ties by share) at
10 and at 15 calls, the choice (at the sampler's own default number of steps, so that a call with
the defaults runs on the grid measured best for it: DPM-Solver++ 15, UniPC 10; DDIM, whose default
is 50, by 15), how often the choice beat the runner-up over the bootstrap resamples, and the package's default beside it
(dh.DEFAULT_SPACINGS); and the goal of issue 29: at 15 model calls or fewer, Frechet within 1.10x
DDIM-50's, confident share >= 0.9x DDIM-50's, 64 digits in under a third of DDIM-50's time.
About 10 minutes at --samples 1000 on a quiet 2-core CPU (longer when it is shared);
--samples 100 for a quick look (its Frechet distances are mostly noise).
"""
import argparse
import math
import statistics
import sys
import time

import torch

import diffusion_helpers as dh


CALLS = (10, 15)  # the model-call budgets measured; the goal's is the largest
COMPARED = ("ddim", "dpm_solver", "unipc")  # DDIM for comparison; the two solvers' defaults are decided here
SOLVERS = ("dpm_solver", "unipc")
REFERENCE = ("ddim", "trailing", 50)
BATCH = 500


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


def steps_for(model, schedule, name, spacing, budget, x_T):
    """The most steps whose run makes at most ``budget`` model calls, and those calls."""
    for steps in range(budget, 0, -1):
        calls = evaluations(model, schedule, (name, spacing, steps), x_T)
        if calls <= budget:
            return steps, calls
    raise RuntimeError(f"{name} makes more than {budget} model calls even with one step")


@torch.no_grad()
def features_of(images, classifier):
    return torch.cat([classifier.features(images[start:start + BATCH]) for start in range(0, len(images), BATCH)])


def interval(estimate, resampled):
    """The basic bootstrap's 95% interval, 2 estimate - (97.5% and 2.5% points of the resampled
    values): it corrects the upward bias that duplicated samples give a resampled Frechet distance."""
    values = sorted(resampled)
    low, high = values[int(0.025 * (len(values) - 1))], values[math.ceil(0.975 * (len(values) - 1))]
    return 2 * estimate - high, 2 * estimate - low


def timings(model, schedule, cases, noise, repeats):
    """Seconds for 64 digits per case: one warm-up, then --repeats rounds over all cases; medians."""
    x_T = noise[:64]
    sample(model, schedule, REFERENCE, x_T)
    times = {case: [] for case in cases}
    for _ in range(repeats):
        for case in cases:
            start = time.perf_counter()
            sample(model, schedule, case, x_T)
            times[case].append(time.perf_counter() - start)
    return {case: statistics.median(values) for case, values in times.items()}


def choice_budget(name):
    """The budget a sampler's default grid is chosen at: its default num_steps, if measured here."""
    import inspect

    steps = inspect.signature(dh.SAMPLERS[name]).parameters["num_steps"].default
    return steps if steps in CALLS else max(CALLS)


def best_grid(results, name, budget):
    """The grid with the lowest Frechet distance (ties: the higher confident share) at this budget."""
    rows = [case for case in results if case[0] == name and results[case]["budget"] == budget]
    return sorted(rows, key=lambda case: (results[case]["frechet"], -results[case]["confident"]))


def meets_goal(report, reference):
    checks = {"frechet": report["frechet"] <= 1.1 * reference["frechet"],
              "confident": report["confident"] >= 0.9 * reference["confident"],
              "time": report["seconds"] < reference["seconds"] / 3,
              "calls": report["calls"] <= max(CALLS)}
    return all(checks.values()), checks


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of 64 digits per row (median)")
    parser.add_argument("--bootstrap", type=int, default=100, help="resamples for the Frechet intervals")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    began = time.perf_counter()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {time.strftime('%Y-%m-%d')}, "
          f"{args.samples} samples a row, one noise (seed 0)\n")

    model, schedule = dh.load_pretrained("mnist")
    classifier, _ = dh.load_pretrained("digit-classifier")
    real, _ = dh.load_mnist(train=False)  # the test split: digits the classifier never saw (offline 1,000)
    half = len(real) // 2
    reference_features = features_of(real[half:], classifier)
    n = args.samples
    noise = torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))

    cases, budgets = [REFERENCE], {REFERENCE: None}
    for name in COMPARED:
        for spacing in dh.SPACINGS:
            for budget in CALLS:
                steps, _ = steps_for(model, schedule, name, spacing, budget, noise)
                cases.append((name, spacing, steps))
                budgets[(name, spacing, steps)] = budget
    resamples = torch.randint(0, n, (args.bootstrap, n), generator=torch.Generator().manual_seed(0))

    results = {}
    for case in cases:
        images = torch.cat([sample(model, schedule, case, noise[start:start + BATCH]) for start in range(0, n, BATCH)])
        report = dh.digit_report(images, classifier)
        features = features_of(images, classifier)
        report.update(calls=evaluations(model, schedule, case, noise), budget=budgets[case],
                      frechet=dh.frechet_distance(features, reference_features),
                      boot=[dh.frechet_distance(features[index], reference_features) for index in resamples])
        results[case] = report
        print(f"  {time.perf_counter() - began:5.0f} s: {case} done", file=sys.stderr, flush=True)
    for case, seconds in timings(model, schedule, cases, noise, args.repeats).items():
        results[case]["seconds"] = seconds
    floor = dh.frechet_distance(features_of(real[:half], classifier), reference_features)

    reference = results[REFERENCE]
    print(f"{'sampler':<11}{'grid':<9}{'steps':>5}{'calls':>6}{'s/64':>7}{'/DDIM50':>8}{'confident':>10}{'+-SE':>6}"
          f"{'Frechet':>9}{'95% interval':>15}{'/DDIM50':>8}{'95% interval':>14}")
    for case, report in results.items():
        name, spacing, steps = case
        p = report["confident"]
        low, high = interval(report["frechet"], report["boot"])
        ratio_low, ratio_high = interval(report["frechet"] / reference["frechet"],
                                         [a / b for a, b in zip(report["boot"], reference["boot"])])
        print(f"{name:<11}{spacing:<9}{steps:>5}{report['calls']:>6}{report['seconds']:>7.2f}"
              f"{report['seconds'] / reference['seconds']:>7.2f}x{p:>10.1%}{100 * math.sqrt(p * (1 - p) / n):>6.1f}"
              f"{report['frechet']:>9.1f}{f'{low:.1f}-{high:.1f}':>15}{report['frechet'] / reference['frechet']:>7.2f}x"
              f"{f'{ratio_low:.2f}-{ratio_high:.2f}':>14}")
    print(f"real digits: Frechet {floor:.1f} ({half} held-out against the other {half}: the floor at that size)")
    print(f"\n{n} samples a row, all from the same noise; s/64: seconds for 64 digits, median of {args.repeats}; SE in "
          f"points;\nFrechet: all {n} samples against {len(real) - half} held-out real digits, in the classifier's "
          f"features;\nintervals: 95%, basic bootstrap over {args.bootstrap} resamples of the samples (paired for the "
          f"ratio: the same noises in both rows).")

    print(f"\nBest grid at 10-{max(CALLS)} model calls (lowest Frechet; ties: higher confident share), by sampler:")
    chosen = {}
    for name in COMPARED:
        by_budget = {budget: best_grid(results, name, budget) for budget in CALLS}
        firsts = {budget: rows[0][1] for budget, rows in by_budget.items()}
        budget_chosen = choice_budget(name)
        best, runner_up = by_budget[budget_chosen][:2]
        chosen[name] = best[1]
        wins = sum(a < b for a, b in zip(results[best]["boot"], results[runner_up]["boot"])) / args.bootstrap
        words = ", ".join(f"{budget} calls: {spacing}" for budget, spacing in firsts.items())
        same = len(set(firsts.values())) == 1
        print(f"  {name:<11}{words}; {'the same grid' if same else f'chosen at its default {budget_chosen} calls'}: {best[1]} "
              f"(Frechet {results[best]['frechet']:.1f}; runner-up {runner_up[1]} {results[runner_up]['frechet']:.1f}, "
              f"beaten in {wins:.0%} of resamples)")
        if name in SOLVERS:
            default = dh.DEFAULT_SPACINGS[name]
            print(f"  {'':<11}package default dh.DEFAULT_SPACINGS[{name!r}] = {default!r}: "
                  + ("the measured best" if default == best[1] else f"NOT the measured best ({best[1]!r})"))

    print(f"\nGoal, against DDIM-50 (Frechet {reference['frechet']:.1f}, confident {reference['confident']:.1%}, "
          f"{reference['seconds']:.2f} s for 64): at <= {max(CALLS)} calls, Frechet <= 1.10x, confident >= 0.9x, "
          f"time < 1/3x")
    for name in SOLVERS:
        for budget in CALLS:
            case = next(c for c in results if c[0] == name and c[1] == chosen[name] and results[c]["budget"] == budget)
            report = results[case]
            met, checks = meets_goal(report, reference)
            print(f"  {name:<11}{chosen[name]:<9}{report['calls']:>3} calls: Frechet "
                  f"{report['frechet'] / reference['frechet']:.2f}x {'ok' if checks['frechet'] else 'NOT met'}, "
                  f"confident {report['confident'] / reference['confident']:.2f}x {'ok' if checks['confident'] else 'NOT met'}, "
                  f"time {report['seconds'] / reference['seconds']:.2f}x {'ok' if checks['time'] else 'NOT met'}: "
                  f"goal {'met' if met else 'not met'}")
    meeting = [case for case in results if case[0] in SOLVERS and meets_goal(results[case], reference)[0]]
    print("  rows of the two solvers that meet the goal on any grid: "
          + (", ".join(f"{name} {spacing} {results[(name, spacing, steps)]['calls']} calls"
                       for name, spacing, steps in meeting) or "none"))
    print(f"\n{time.perf_counter() - began:.0f} s in all")


if __name__ == "__main__":
    main()
