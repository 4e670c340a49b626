"""The notebooks' claims, one list: each sentence of notebooks 3-6 that states an ordering or a ratio,
with the recorded keys it reads and its verdict. The mechanism (Claim, judge, check_claims) is in
claims.py, which exposes this list as ``dh.claims.CLAIMS``."""
from .claims import Claim, NotMeasured, below, estimate, part

CLAIMS = []  # in notebook and section order

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


def _setting(values, key, eta, name):
    """One value of notebook 5's "eta_paper" rows: a setting's key, "eta 0" or "eta 1", the value's name."""
    return part(values, "eta_paper", key, eta, name)


def _eta_0_never_ahead(values):
    """True when in none of the five settings eta 0's Frechet distance lies below eta 1's beyond the noise
    (False when it does in one); not measured without a Frechet distance in every setting (quick mode)."""
    keys = ("notebook", "grid", "clipping", "schedule", "paper")
    orders = [below(_setting(values, key, "eta 0", "frechet"), _setting(values, key, "eta 1", "frechet")) for key in keys]
    return not any(order is True for order in orders)


# Recorded by section 2 as "zero_variance": {"steps", "rows": {"DDIM, eta 0" | "DDPM's mean, z dropped": {"digit",
# "confident", "commonest" (the most frequent class's share), "frechet" (full mode only): Estimates; "class", "classes",
# "n"}}, "t": each step's t', "noise_left": {kind of step | "marginal": the std left in x_t' after each step}}
def _zero_variance(values, name, key):
    return part(values, "zero_variance", "rows", name, key)


def _first_step_left(values, name):
    """The noise a kind of step leaves after its first step, as a share of the marginal's at that t'."""
    return part(values, "zero_variance", "noise_left", name)[0] / part(values, "zero_variance", "noise_left", "marginal")[0]


# Recorded by section 6 as "inpainting": {"steps", "rows": {setting: {"agreement", "seam_excess": Estimates,
# "model_calls", "n"}} (the plain setting first, the resampled one last), "resampling_narrows": Estimate, "half_only",
# "real": Estimates}
def _plain_seam_excess(values):
    rows = part(values, "inpainting", "rows")
    return part(values, "inpainting", "rows", next(iter(rows)), "seam_excess")


CLAIMS += [
    Claim("05_ddim", "2", "DDPM's step with its noise dropped leaves under a tenth of the noise the marginal needs "
          "after its first step from t = 999; DDIM's (eta 0) leaves it within 10%", ("zero_variance",),
          lambda v: _first_step_left(v, "DDPM's mean, z dropped") < 0.1
          and abs(_first_step_left(v, "DDIM, eta 0") - 1) < 0.1),
    Claim("05_ddim", "2", "Without its noise DDPM's samples collapse: the commonest class takes a larger share of them "
          "than of DDIM's (eta 0)", ("zero_variance",),
          lambda v: below(_zero_variance(v, "DDIM, eta 0", "commonest"),
                          _zero_variance(v, "DDPM's mean, z dropped", "commonest"))),
    Claim("05_ddim", "2", "By the Frechet distance DDPM's samples without its noise lie farther from real digits than "
          "DDIM's (eta 0)", ("zero_variance",),
          lambda v: below(_zero_variance(v, "DDIM, eta 0", "frechet"), _zero_variance(v, "DDPM's mean, z dropped", "frechet"))),
]


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
    Claim("05_ddim", "4", "With 10 model calls the ODE solvers beat DDIM-10: DPM-Solver++ and UniPC have a lower "
          "Frechet distance", ("sampler_table",),
          lambda v: _all(*(below(_sampler(v, f"{name}-10", "frechet"), _sampler(v, "ddim-10 (eta 0)", "frechet"))
                           for name in ("dpm_solver", "unipc")))),
    Claim("05_ddim", "4", "Without clipping, our grid's first call at t = 999 ruins the samples: at eta 0 more of "
          "them are noise than with clipping", ("eta_paper",),
          lambda v: below(_setting(v, "notebook", "eta 0", "noise"), _setting(v, "clipping", "eta 0", "noise"))),
    Claim("05_ddim", "4", "The paper's sampler, whose first call sits at lambda = -3.2 (the linear schedule's t = 800), "
          "needs no clipping: unclipped, its samples stay within [-1.5, 1.5] at eta 0 and 1", ("eta_paper",),
          lambda v: max(_setting(v, "paper", eta, "largest") for eta in ("eta 0", "eta 1")) <= 1.5),
    Claim("05_ddim", "4", "At 10 steps the linear schedule's noise levels give eta 0 a lower Frechet distance than our "
          "trailing grid's", ("eta_paper",),
          lambda v: below(_setting(v, "schedule", "eta 0", "frechet"), _setting(v, "notebook", "eta 0", "frechet"))),
    Claim("05_ddim", "4", "The paper's order does not appear here: in none of the five settings does eta 0 have a "
          "lower Frechet distance than eta 1 beyond the noise", ("eta_paper",), _eta_0_never_ahead),
    Claim("05_ddim", "6", "With eta = 0 the round trip's error shrinks as the steps grow", ("inversion_error",),
          lambda v: _decreasing(v["inversion_error"]["decoded with eta 0"])),
    Claim("05_ddim", "6", "With eta = 1 it does not: at the most steps its error is several (over 3) times eta 0's",
          ("inversion_error",),
          lambda v: v["inversion_error"]["decoded with eta 1"][-1] > 3 * v["inversion_error"]["decoded with eta 0"][-1]),
    Claim("05_ddim", "6", "Inpainting's plain baseline leaves a seam: across the mask's edge the filled digits jump more "
          "than the real digits do", ("inpainting",), lambda v: below(0.0, _plain_seam_excess(v))),
    Claim("05_ddim", "6", "RePaint's resampling (each step taken 3 times) narrows that jump, on the same digits and "
          "noises", ("inpainting",), lambda v: below(0.0, part(v, "inpainting", "resampling_narrows"))),
    Claim("05_ddim", "9", "Double the steps: DDIM's error halves (ratio 1.8-2.2), DPM-Solver++'s falls by about 4 "
          "(3.3-4.5), UniPC's by 6 to 8 (5.5-9)", ("solver_orders",),
          lambda v: all(_ratios_within(v["solver_orders"][name], low, high) for name, low, high in
                        (("ddim", 1.8, 2.2), ("dpm_solver", 3.3, 4.5), ("unipc", 5.5, 9.0)))),
]


def _ratios_within(errors, low, high):
    """Each ratio of an error to the next (the steps doubled) between ``low`` and ``high``."""
    return all(low <= a / b <= high for a, b in zip(errors, errors[1:]))


# ----- notebook 6: classifier-free guidance ----------------------------------------------------------------


def _sweep(values, scale, key):
    return part(values, "scale_sweep", f"every step, s = {scale:g}", key)


def _diversity_falls(values):
    """Diversity at the scales 1, 2, 3 and 7.5 that this run measured, each below the one before."""
    rows = values["scale_sweep"]
    return _decreasing([rows[f"every step, s = {s:g}"]["diversity"] for s in (1, 2, 3, 7.5)
                        if f"every step, s = {s:g}" in rows])


def _interval(values, where, scale, key):
    return part(values, "interval_rows", f"{where}, s = {scale:g}", key)


CLAIMS += [
    Claim("06_classifier_free_guidance", "2", "Guidance keeps one model call and doubles the rows it evaluates",
          ("guidance_cost",),
          lambda v: (v["guidance_cost"]["guided, one batch of 128"]["model_calls"]
                     == v["guidance_cost"]["plain conditional"]["model_calls"] == 1
                     and v["guidance_cost"]["guided, one batch of 128"]["rows"]
                     == 2 * v["guidance_cost"]["plain conditional"]["rows"])),
    Claim("06_classifier_free_guidance", "3", "Past scale 1 the blob shrinks towards the centre: its points lie "
          "closer to the origin at scale 10 than at scale 1", ("toy_classes",),
          lambda v: v["toy_classes"]["scale 10"]["blob"] < v["toy_classes"]["scale 1"]["blob"]),
    Claim("06_classifier_free_guidance", "3", "The square's points crowd towards its edges: farther from the centre "
          "at scale 5 than at scale 1", ("toy_classes",),
          lambda v: v["toy_classes"]["scale 5"]["square"] > v["toy_classes"]["scale 1"]["square"]),
    Claim("06_classifier_free_guidance", "3", "The ring moves outside radius 1: its mean radius at scale 5 lies above "
          "the data's", ("toy_classes",),
          lambda v: v["toy_classes"]["scale 5"]["ring"] > v["toy_classes"]["data"]["ring"]),
    Claim("06_classifier_free_guidance", "3", "The guidance field (the difference of the two scores) is many times "
          "shorter than the unconditional score: over 3 times (the median over the grid)", ("guidance_field",),
          lambda v: v["guidance_field"]["shorter"] > 3),
    Claim("06_classifier_free_guidance", "3", "Inside the square most of the guidance field's arrows (over half) point "
          "away from the centre, where the blob lives", ("guidance_field",),
          lambda v: v["guidance_field"]["outward"] > 0.5),
    Claim("06_classifier_free_guidance", "5", "Accuracy rises with the scale: s = 0 below s = 1 below s = 3",
          ("scale_sweep",),
          lambda v: _all(below(_sweep(v, 0, "accuracy"), _sweep(v, 1, "accuracy")),
                         below(_sweep(v, 1, "accuracy"), _sweep(v, 3, "accuracy")))),
    Claim("06_classifier_free_guidance", "5", "Accuracy saturates at s = 3: s = 7.5 is no more accurate beyond the "
          "noise", ("scale_sweep",),
          lambda v: _no_better(_sweep(v, 3, "accuracy"), _sweep(v, 7.5, "accuracy"))),
    Claim("06_classifier_free_guidance", "5", "Diversity falls all the way from s = 1 (s = 1, 2, 3, 7.5)",
          ("scale_sweep",), _diversity_falls),
    Claim("06_classifier_free_guidance", "6", "Guiding only at t >= 500 evaluates about a quarter fewer rows (20-30%) "
          "than guiding every step, at s = 3", ("scale_sweep", "interval_rows"),
          lambda v: 0.2 <= 1 - _interval(v, "t in [500, 999]", 3, "cost")["rows"] / _sweep(v, 3, "cost")["rows"] <= 0.3),
    Claim("06_classifier_free_guidance", "6", "Guiding only at t >= 500 keeps the accuracy of guiding every step at "
          "s = 3 (not lower beyond the noise)", ("scale_sweep", "interval_rows"),
          lambda v: _no_better(_interval(v, "t in [500, 999]", 3, "accuracy"), _sweep(v, 3, "accuracy"))),
    Claim("06_classifier_free_guidance", "6", "Guiding only at t >= 500 keeps the Frechet distance of guiding every "
          "step at s = 3 (not higher beyond the noise)", ("scale_sweep", "interval_rows"),
          lambda v: _no_better(_sweep(v, 3, "frechet"), _interval(v, "t in [500, 999]", 3, "frechet"))),
    Claim("06_classifier_free_guidance", "6", "The paper's interval (t in [170, 880], the noisiest steps unguided) "
          "loses accuracy against guiding every step at s = 3, beyond the noise", ("scale_sweep", "interval_rows"),
          lambda v: below(_interval(v, "t in [170, 880]", 3, "accuracy"), _sweep(v, 3, "accuracy"))),
    Claim("06_classifier_free_guidance", "6", "Guided only in the quieter half (t in [0, 500]) the digits lose accuracy "
          "against guiding every step at s = 3, beyond the noise: the noisiest steps decide the digit",
          ("scale_sweep", "interval_rows"),
          lambda v: below(_interval(v, "t in [0, 500]", 3, "accuracy"), _sweep(v, 3, "accuracy"))),
]
