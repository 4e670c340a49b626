"""The notebooks' claims about an ordering or a ratio, each written down once with the numbers that
must show it, and checked on the student's own run, on the shipped reference run, and by
`python benchmarks/claims.py` on a full run.

A claim reads values that the notebook keeps with ``dh.record(key, value)`` (see references.py)
and answers True (the numbers show it), False (they show the opposite) or None (the difference
is within the measurement's noise, or the run is too small to tell). In a notebook:

    dh.check_claims("05_ddim", section="4")   # a line a claim: your run, the reference run
"""
from typing import Callable, NamedTuple

from .references import THIS_RUN, load_reference, reference_names


class Claim(NamedTuple):
    """One sentence of a notebook and the test its numbers must pass."""
    notebook: str        # the notebook's file name without .ipynb, e.g. "05_ddim"
    section: str         # the section that states it, e.g. "4"
    text: str            # the claim, as the notebook states it
    needs: tuple         # the recorded keys it reads
    verdict: Callable    # values (dict) -> True (holds), False (the opposite), None (within the noise)


CLAIMS = []  # the notebooks' claims, in notebook and section order: see the end of this module


class NotMeasured(LookupError):
    """Raised by a verdict (through ``part``) when a recorded table lacks the row it reads: quick mode
    measures fewer rows than a full run. The claim is then "not measured", not "within the noise"."""


def part(values, key, *path):
    """values[key][path[0]][path[1]]...; NotMeasured when a step of the path is missing."""
    value = values[key]
    for step in path:
        if not isinstance(value, dict) or step not in value:
            raise NotMeasured(f"{key}: no {step!r} in this run")
        value = value[step]
    return value


def judge(claim, values):
    """"holds", "contradicted", "within the noise", or "not measured" (a key it needs is missing, or a
    row of it: the verdict raised NotMeasured)."""
    if values is None or any(key not in values for key in claim.needs):
        return "not measured"
    try:
        outcome = claim.verdict(values)
    except NotMeasured:
        return "not measured"
    if outcome is None:
        return "within the noise"
    return "holds" if outcome else "contradicted"


def claims_of(notebook, section=None, claims=None):
    """The claims of ``notebook`` (and of one ``section``, if given)."""
    claims = CLAIMS if claims is None else claims
    known = sorted({claim.notebook for claim in claims})
    chosen = [claim for claim in claims if claim.notebook == notebook and section in (None, claim.section)]
    if not chosen:
        raise ValueError(f"no claims for notebook={notebook!r}, section={section!r}; notebooks with claims: {known}")
    return chosen


def check_claims(notebook, section=None, values=None, reference=None, claims=None, show=True):
    """Judge each claim of ``notebook`` (one ``section``, if given) on ``values`` (default: what this
    kernel recorded, the student's run) and on the shipped reference run. Prints one line a claim
    when ``show``; returns a list of (claim, your verdict, the reference's verdict)."""
    values = THIS_RUN if values is None else values
    if reference is None and notebook in reference_names():
        reference = load_reference(notebook)
    rows = [(claim, judge(claim, values), judge(claim, reference.values if reference else None))
            for claim in claims_of(notebook, section, claims)]
    if show:
        for claim, yours, theirs in rows:
            print(f"[{claim.section}] {claim.text}\n      your run: {yours}; reference run: {theirs}")
        print(f"      ({reference.label})" if reference is not None else "      (no reference run shipped yet)")
    return rows


def estimate(value):
    """A recorded measured value (an Estimate or a Cost, stored as a dict or a list) as an Estimate."""
    from .uncertainty import Estimate

    if isinstance(value, dict):
        return Estimate(value["value"] if "value" in value else value["seconds"], value.get("error", 0.0),
                        value["low"], value["high"])
    if isinstance(value, (list, tuple)) and len(value) == 4:
        return Estimate(*value)
    raise TypeError(f"a measured value must be a recorded Estimate (value, error, low, high), got {value!r}")


def below(a, b):
    """True when a lies below b beyond the noise, False when above, None when their intervals overlap."""
    from .uncertainty import ordering

    order = ordering(estimate(a), estimate(b))
    return None if order == 0 else order < 0


# ----- notebook 3: 2D toy diffusion ------------------------------------------------------------------------


# ----- notebook 4: MNIST U-Net -----------------------------------------------------------------------------


# ----- notebook 5: DDIM ------------------------------------------------------------------------------------


def _all(*outcomes):
    """Several orderings that must all hold: False if one is contradicted, None if one is within the noise."""
    if any(outcome is False for outcome in outcomes):
        return False
    return None if any(outcome is None for outcome in outcomes) else True


def _decreasing(numbers):
    """True when every number lies below the one before (at least two numbers)."""
    if len(numbers) < 2:
        raise NotMeasured("fewer than two values")
    return all(b < a for a, b in zip(numbers, numbers[1:]))


def _sampler(values, row, key):
    return part(values, "sampler_table", row, key)


def _no_better(a, b):
    """True unless ``b`` lies above ``a`` beyond the noise (within the noise counts as no better)."""
    return below(a, b) is not True


CLAIMS += [
    Claim("05_ddim", "3", "The digit settles as the steps grow: the fewer the steps, the farther the digits lie from "
          "the finest run's", ("settling",), lambda v: _decreasing(v["settling"]["difference"])),
    Claim("05_ddim", "3", "The start fixes less and less as eta grows: two noise seeds give the same digits at eta 0 "
          "and differ more at eta 1 than at eta 0.5", ("eta_spread",),
          lambda v: v["eta_spread"]["eta 0"] < 1e-6 < v["eta_spread"]["eta 0.5"] < v["eta_spread"]["eta 1"]),
    Claim("05_ddim", "4", "Time grows with model calls: DDIM-10 takes less time than DDIM-20 (beyond the spread of "
          "the runs)", ("sampler_table",),
          lambda v: below(_sampler(v, "ddim-10 (eta 0)", "cost"), _sampler(v, "ddim-20 (eta 0)", "cost"))),
    Claim("05_ddim", "4", "Quality saturates early: DDIM (eta 0) at 100 steps is recognised with confidence no more "
          "often than at 50", ("sampler_table",),
          lambda v: _no_better(_sampler(v, "ddim-50 (eta 0)", "confident"), _sampler(v, "ddim-100 (eta 0)", "confident"))),
    Claim("05_ddim", "4", "DDIM-50 makes a twentieth of DDPM-1000's model calls and takes less time (beyond the "
          "spread of the runs)", ("sampler_table",),
          lambda v: _all(_sampler(v, "ddpm-1000", "cost")["model_calls"] == 20 * _sampler(v, "ddim-50 (eta 0)", "cost")["model_calls"],
                         below(_sampler(v, "ddim-50 (eta 0)", "cost"), _sampler(v, "ddpm-1000", "cost")))),
    Claim("05_ddim", "4", "Below 20 steps DDIM falls apart: DDIM-5 and DDIM-10 have a higher Frechet distance than "
          "DDIM-50, and DDIM-5 is recognised with confidence less often", ("sampler_table",),
          lambda v: _all(below(_sampler(v, "ddim-50 (eta 0)", "frechet"), _sampler(v, "ddim-10 (eta 0)", "frechet")),
                         below(_sampler(v, "ddim-50 (eta 0)", "frechet"), _sampler(v, "ddim-5 (eta 0)", "frechet")),
                         below(_sampler(v, "ddim-5 (eta 0)", "confident"), _sampler(v, "ddim-50 (eta 0)", "confident")))),
    Claim("05_ddim", "4", "At 10 steps eta = 1 repairs part of that: a lower Frechet distance than eta = 0",
          ("sampler_table",),
          lambda v: below(_sampler(v, "ddim-10 (eta 1)", "frechet"), _sampler(v, "ddim-10 (eta 0)", "frechet"))),
    Claim("05_ddim", "4", "With 10 model calls the ODE solvers beat DDIM-10: DPM-Solver++ and UniPC have a lower "
          "Frechet distance", ("sampler_table",),
          lambda v: _all(*(below(_sampler(v, f"{name}-10", "frechet"), _sampler(v, "ddim-10 (eta 0)", "frechet"))
                           for name in ("dpm_solver", "unipc")))),
    Claim("05_ddim", "6", "With eta = 0 the round trip's error shrinks as the steps grow", ("inversion_error",),
          lambda v: _decreasing(v["inversion_error"]["decoded with eta 0"])),
    Claim("05_ddim", "6", "With eta = 1 it does not: at the most steps its error is several (over 3) times eta 0's",
          ("inversion_error",),
          lambda v: v["inversion_error"]["decoded with eta 1"][-1] > 3 * v["inversion_error"]["decoded with eta 0"][-1]),
    Claim("05_ddim", "9", "Double the steps: DDIM's error halves (ratio 1.8-2.2), DPM-Solver++'s falls by about 4 "
          "(3.3-4.5), UniPC's by 6 to 8 (5.5-9)", ("solver_orders",),
          lambda v: all(_ratios_within(v["solver_orders"][name], low, high) for name, low, high in
                        (("ddim", 1.8, 2.2), ("dpm_solver", 3.3, 4.5), ("unipc", 5.5, 9.0)))),
]


def _ratios_within(errors, low, high):
    """Each ratio of an error to the next (the steps doubled) between ``low`` and ``high``."""
    return all(low <= a / b <= high for a, b in zip(errors, errors[1:]))


# ----- notebook 6: classifier-free guidance ----------------------------------------------------------------
