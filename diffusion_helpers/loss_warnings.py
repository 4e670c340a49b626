"""What a training run's losses say while it runs: a warning when the training diverges, and one
when the model does worse than predicting zero noise. ``dh.train`` asks both after every step."""
import math
import statistics

from ._checks import warn

DIVERGENCE_FACTOR = 100  # a loss this many times the first step's means the training diverges


def warn_if_diverging(losses, lr):
    """Warn when the latest loss exceeds DIVERGENCE_FACTOR times the first step's (taken before any
    update): a learning rate too high makes the loss climb to 1e8 and beyond, still finite.
    Returns True when it warned; the loop then stops asking."""
    start = losses[0]
    if len(losses) < 2 or start <= 0 or losses[-1] <= DIVERGENCE_FACTOR * start:
        return False
    warn(f"the training loss rose from {start:.3g} (first step) to {losses[-1]:.3g} at step {len(losses)}: the "
         f"training diverges; lower the learning rate (lr = {lr:.3g}; try 1e-3) or clip the gradient (grad_clip=1.0)")
    return True


ZERO_PREDICTION_LOSS = 1.0  # the loss of always predicting eps_hat = 0: E[eps^2] = 1, the noise's variance
BASELINE_WINDOW = 50  # at most this many of the latest losses are compared with it


def warn_if_worse_than_zero(losses, lr, warmup_steps=0, final=False, baseline=ZERO_PREDICTION_LOSS,
                            predicting="zero noise (the noise's variance)"):
    """Warn when the training loss stays above ``baseline``, by default ZERO_PREDICTION_LOSS, the loss
    of a model that always predicts zero noise (E ||eps - 0||^2 / D = 1 for eps ~ N(0, I), whatever
    the data; for flow matching, predicting zero velocity: 1 + E[x_0^2], ``zero_velocity_loss``,
    with ``predicting`` naming it in the warning): after the
    first steps (the warm-up, then the first half of the run), the latest BASELINE_WINDOW losses
    (or fewer, at least 3) lie all above it, or their mean does by more than three standard errors
    (not by chance). Judged during training once 2 * BASELINE_WINDOW steps follow the warm-up,
    and once more at the end (``final``), so that a short run is judged too. Healthy runs fall below
    1 within their first steps (a dh.UNet, whose last layer starts at zero, from exactly 1; a fresh
    dh.MLPDenoiser from 1.2-1.8); with loss_weighting="min_snr" the weights are <= 1, so the test
    only gets stricter. The advice follows the curve: a loss that jumped above twice its first
    value means a learning rate too high; one that stayed near its start, too few steps (or a
    learning rate too low).
    Returns True when it warned."""
    step = len(losses)
    if not final and step < warmup_steps + 2 * BASELINE_WINDOW:
        return False
    window = losses[max(warmup_steps, step // 2):][-BASELINE_WINDOW:]
    if len(window) < 3:
        return False
    mean = sum(window) / len(window)
    standard_error = statistics.stdev(window) / math.sqrt(len(window))
    if not (min(window) > baseline or mean - 3 * standard_error > baseline):
        return False
    peak = max(losses)
    if peak > 2 * losses[0]:
        cause = (f"the loss jumped to {peak:.3g} at step {losses.index(peak) + 1}: the learning rate is too high "
                 f"(lr = {lr:.3g}; try {min(1e-3, lr / 10):.0e})".replace("e-0", "e-"))
    else:
        cause = f"it has barely fallen from the first step's {losses[0]:.3g}: train for more steps" + (
            f", or raise the learning rate (lr = {lr:.3g}; 1e-3 is a good start)" if lr < 1e-3 else "")
    warn(f"the training loss averaged {mean:.3g} over steps {step - len(window) + 1} to {step}, above "
         f"{baseline:.3g}, the loss of always predicting {predicting}: the model "
         f"does worse than predicting nothing; {cause}")
    return True
