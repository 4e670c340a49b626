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


def judge(claim, values):
    """"holds", "contradicted", "within the noise", or "not measured" (a key it needs is missing)."""
    if values is None or any(key not in values for key in claim.needs):
        return "not measured"
    outcome = claim.verdict(values)
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
            theirs = theirs if reference is not None else "no reference run shipped yet"
            print(f"[{claim.section}] {claim.text}\n      your run: {yours}; reference run: {theirs}")
        if reference is not None:
            print(f"      ({reference.label})")
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


# ----- notebook 3: 2D toy diffusion ------------------------------------------------------------------------
def _least_at_smallest_t(values):
    """True when the agreement at the smallest t lies below every other t's beyond the noise."""
    agreement = values["score_agreement"]
    smallest = min(agreement, key=int)
    orders = [below(agreement[smallest], agreement[t]) for t in agreement if t != smallest]
    return False if False in orders else (None if None in orders else True)


def _near_the_floor(values):
    distances = {name: estimate(value) for name, value in values["sliced_wasserstein"].items()}
    midpoint = (distances["second real sample"].value + distances["pure noise"].value) / 2
    return below(values["sliced_wasserstein"]["DDPM samples"], midpoint)


CLAIMS += [
    Claim("03_toy_2d_diffusion", "4", "A model that learned the shape of the data ends its training below the "
          "Gaussian baseline loss", ("final_loss", "gaussian_baseline"),
          lambda values: below(values["final_loss"], values["gaussian_baseline"])),
    Claim("03_toy_2d_diffusion", "5", "The learned score agrees with the exact one least at the smallest t",
          ("score_agreement",), _least_at_smallest_t),
    Claim("03_toy_2d_diffusion", "7", "DDPM's samples lie closer to the data than pure noise does (sliced Wasserstein)",
          ("sliced_wasserstein",),
          lambda values: below(values["sliced_wasserstein"]["DDPM samples"], values["sliced_wasserstein"]["pure noise"])),
    Claim("03_toy_2d_diffusion", "7", "DDPM's samples lie nearer the floor (a second real sample) than pure noise: "
          "below the midpoint of the two distances", ("sliced_wasserstein",), _near_the_floor),
]


# ----- notebook 4: MNIST U-Net -----------------------------------------------------------------------------
# Recorded by notebooks/04_mnist_unet.ipynb: compare_reports {"real", "naive", "ddpm"} and student_reports
# {"real", "student", "shipped"} are dh.digit_report's (each share an Estimate under "estimates"), range_reports
# {"real", "zero_one"} too; compare_frechet and student_frechet {name: Estimate} exist only where the Frechet
# distance was measured (full mode: 256 samples); clip_largest {"clipped", "unclipped"}: the largest |pixel|.


def _share(values, key, name, share):
    return values[key][name]["estimates"][share]


def _within_the_noise(a, b):
    """True when two measured values cannot be told apart (their intervals overlap), else False."""
    return below(a, b) is None


CLAIMS += [
    Claim("04_mnist_unet", "2", "On the same small budget the naive model's samples are digits more often than the "
          "DDPM model's", ("compare_reports",),
          lambda v: below(_share(v, "compare_reports", "ddpm", "digit"), _share(v, "compare_reports", "naive", "digit"))),
    Claim("04_mnist_unet", "2", "On the same small budget the classifier recognises the naive model's samples with "
          "confidence more often than the DDPM model's", ("compare_reports",),
          lambda v: below(_share(v, "compare_reports", "ddpm", "confident"),
                          _share(v, "compare_reports", "naive", "confident"))),
    Claim("04_mnist_unet", "2", "On the same small budget the naive model's samples lie closer to real digits than "
          "the DDPM model's by the Frechet distance", ("compare_frechet",),
          lambda v: below(v["compare_frechet"]["naive"], v["compare_frechet"]["ddpm"])),
    Claim("04_mnist_unet", "4", "After the training you watched, your model's samples are digits less often than "
          "real digits are", ("student_reports",),
          lambda v: below(_share(v, "student_reports", "student", "digit"), _share(v, "student_reports", "real", "digit"))),
    Claim("04_mnist_unet", "4", "After the training you watched, your model's samples lie farther from real digits "
          "than a second set of real digits does, by the Frechet distance", ("student_frechet",),
          lambda v: below(v["student_frechet"]["real"], v["student_frechet"]["student"])),
    Claim("04_mnist_unet", "6", "The shipped model's samples are recognised with confidence more often than those "
          "of the model you trained", ("student_reports",),
          lambda v: below(_share(v, "student_reports", "student", "confident"),
                          _share(v, "student_reports", "shipped", "confident"))),
    Claim("04_mnist_unet", "6", "Real digits are recognised with confidence more often than the shipped model's "
          "samples", ("student_reports",),
          lambda v: below(_share(v, "student_reports", "shipped", "confident"),
                          _share(v, "student_reports", "real", "confident"))),
    Claim("04_mnist_unet", "6", "By the Frechet distance the shipped model's samples cannot be told from real digits "
          "(the two intervals overlap)", ("student_frechet",),
          lambda v: _within_the_noise(v["student_frechet"]["shipped"], v["student_frechet"]["real"])),
    Claim("04_mnist_unet", "7", "The same digits in [0, 1] are digits to the classifier less often than in [-1, 1]",
          ("range_reports",),
          lambda v: below(_share(v, "range_reports", "zero_one", "digit"), _share(v, "range_reports", "real", "digit"))),
    Claim("04_mnist_unet", "7", "Without clip_x0 the samples leave [-1, 1] far behind: their largest |pixel| exceeds "
          "10, ten times the clipped samples' 1", ("clip_largest",),
          lambda v: v["clip_largest"]["unclipped"] > 10 * max(v["clip_largest"]["clipped"], 1.0)),
]



# ----- notebook 5: DDIM ------------------------------------------------------------------------------------


# ----- notebook 6: classifier-free guidance ----------------------------------------------------------------
