"""The notebooks' claims about an ordering or a ratio, each written down once with the numbers that
must show it, and checked on the student's own run, on the shipped reference run, and by
`python benchmarks/claims.py` on a full run.

A claim reads values that the notebook keeps with ``dh.record(key, value)`` (see references.py)
and answers True (the numbers show it), False (they show the opposite) or None (the difference
is within the measurement's noise, or the run is too small to tell). In a notebook:

    dh.check_claims("05_ddim", section="4")   # a line a claim: your run, the reference run
"""
from typing import Callable, NamedTuple

from .references import THIS_RUN, load_reference, missing_reference_note, recording_reference, reference_names


class Claim(NamedTuple):
    """One sentence of a notebook and the test its numbers must pass."""
    notebook: str        # the notebook's file name without .ipynb, e.g. "05_ddim"
    section: str         # the section that states it, e.g. "4"
    text: str            # the claim, as the notebook states it
    needs: tuple         # the recorded keys it reads
    verdict: Callable    # values (dict) -> True (holds), False (the opposite), None (within the noise)


# CLAIMS, the notebooks' claims in notebook and section order, is written in notebook_claims.py (imported at the end)


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


class Verdicts(list):
    """What ``check_claims`` returns: a list of (claim, your verdict, the reference's verdict). As
    a notebook cell's last line it displays nothing more: the lines were printed already."""

    def _ipython_display_(self):
        pass


def check_claims(notebook, section=None, values=None, reference=None, claims=None, show=True):
    """Judge each claim of ``notebook`` (one ``section``, if given) on ``values`` (default: what this
    kernel recorded, the student's run) and on the shipped reference run. Prints one line a claim
    when ``show``; returns a list of (claim, your verdict, the reference's verdict)."""
    values = THIS_RUN if values is None else values
    if reference is None and notebook in reference_names() and not recording_reference():
        reference = load_reference(notebook)
    rows = Verdicts((claim, judge(claim, values), judge(claim, reference.values if reference else None))
                    for claim in claims_of(notebook, section, claims))
    if show:
        for claim, yours, theirs in rows:
            theirs = theirs if reference is not None else missing_reference_note()
            print(f"[{claim.section}] {claim.text}\n      your run: {yours}; reference run: {theirs}")
        print(f"      ({reference.label})" if reference is not None else f"      ({missing_reference_note()})")
    return rows


def estimate(value):
    """A recorded measured value (an Estimate or a Cost, stored as a dict or a list) as an Estimate."""
    from .uncertainty import Estimate

    if isinstance(value, dict):
        return Estimate(value["value"] if "value" in value else value["seconds"], value.get("error", 0.0),
                        value["low"], value["high"])
    if isinstance(value, (list, tuple)) and len(value) == 4:
        return Estimate(*value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Estimate(float(value), 0.0, float(value), float(value))  # a number known exactly
    raise TypeError(f"a measured value must be a recorded Estimate (value, error, low, high), got {value!r}")


def below(a, b):
    """True when a lies below b beyond the noise, False when above, None when their intervals overlap."""
    from .uncertainty import ordering

    order = ordering(estimate(a), estimate(b))
    return None if order == 0 else order < 0


from .notebook_claims import CLAIMS  # noqa: E402  (at the end: that module needs Claim, part and below above)
