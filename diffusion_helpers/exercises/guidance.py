"""Check for notebook 6: the guided noise estimate of classifier-free guidance."""
import torch

from ..conditioning import NULL_LABEL
from ..guidance import guided_noise
from ..uncertainty import ordering
from ._core import _call, _not_yet, _report, compare, logged_check


class _TwoAnswerModel:
    """A 'conditional model' that returns one fixed noise for real labels and another for the null
    label, so that the package's guided_noise combines exactly the two tensors the student gets."""

    def __init__(self, eps_conditional, eps_null):
        self.eps_conditional, self.eps_null = eps_conditional, eps_null
        self.num_classes = 10

    def __call__(self, x_t, t, y):
        rows = torch.arange(len(y)) % len(self.eps_null)  # guided_noise sends the batch twice (2B rows)
        is_null = (y == NULL_LABEL).reshape(-1, *([1] * (x_t.dim() - 1)))
        return torch.where(is_null, self.eps_null[rows], self.eps_conditional[rows])


TRIED = ("eps_conditional and eps_null of shape (4, 1, 8, 8) (float64, from N(0, 1)) and guidance_scale = "
         "0.0, 1.0, 2.0 and 7.5 in turn")


@logged_check
def check_guided_noise(function):
    """Check ``function(eps_conditional, eps_null, guidance_scale)`` -> the guided noise estimate,
    with the package's scale (0 = unconditional, 1 = plain conditional; Ho & Salimans' w + 1):

        eps = eps_null + guidance_scale * (eps_conditional - eps_null),

    against ``dh.guided_noise`` on a model that returns those two predictions."""
    generator = torch.Generator().manual_seed(6)
    hint_texts = [
        "that is Ho & Salimans' formula with w = guidance_scale (the same as starting from eps_conditional); "
        "ours is w + 1, so that 1 means plain conditional: eps_null + guidance_scale * (eps_conditional - eps_null).",
        "the direction is eps_conditional - eps_null (towards the class), not the reverse.",
        "guidance mixes both predictions: eps_null + guidance_scale * (eps_conditional - eps_null)."]
    hint_holds, first_failure = [True] * len(hint_texts), None
    for scale in (0.0, 1.0, 2.0, 7.5):
        eps_conditional, eps_null = (torch.randn(4, 1, 8, 8, generator=generator, dtype=torch.float64) for _ in range(2))
        got, error = _call(function, eps_conditional.clone(), eps_null.clone(), scale)
        if error:
            return _not_yet(f"at guidance_scale={scale}: {error}", TRIED)
        model = _TwoAnswerModel(eps_conditional, eps_null)
        expected = guided_noise(model, torch.zeros_like(eps_null), 500, y=torch.arange(4), guidance_scale=scale)
        wrong_answers = [(1 + scale) * eps_conditional - scale * eps_null,
                         eps_null - scale * (eps_conditional - eps_null), scale * eps_conditional]
        for index, wrong in enumerate(wrong_answers):  # a hint names a mistake only if it fits at every scale
            hint_holds[index] &= got.shape == wrong.shape and torch.allclose(got, wrong, rtol=1e-4, atol=1e-7)
        ok, message = compare(got, expected, f"the guided noise at guidance_scale={scale}", index_name="sample")
        if not ok and first_failure is None:
            first_failure = message
    if first_failure is not None:
        named = [text for text, holds in zip(hint_texts, hint_holds) if holds]
        return _not_yet(named[0] if named else first_failure, TRIED)
    return _report(True, "the guided noise: the unconditional prediction plus guidance_scale times the step "
                         "towards the class (0 unconditional, 1 conditional, > 1 beyond it).")


def _where(interval):
    """How a row of the tables guides: "at every step" or "at t in [lo, hi]"."""
    return "at every step" if interval is None else f"at t in [{interval[0]}, {interval[1]}]"


def _as_interval(interval):
    """None (every step) or a pair of ints (t_low, t_high); ValueError for anything else."""
    if interval is None:
        return None
    if isinstance(interval, (tuple, list)) and len(interval) == 2 and all(float(t) == int(t) for t in interval):
        return int(interval[0]), int(interval[1])
    raise ValueError(interval)


@logged_check
def check_guidance_choice(my_scale, reports, target=0.99, my_interval=None):
    """Check a choice of guidance read off a table of measurements: the row, among those whose
    accuracy is at least ``target``, with the most diversity (if none reaches the target: the most
    accurate row). Where the reports carry the diversity's uncertainty (``estimates["diversity"]``,
    as dh.digit_report gives it), a row whose diversity lies within the noise of the best one is
    right too.

    Args:
        my_scale: the scale chosen (a number in the table).
        reports: each row's ``dh.digit_report`` (with "accuracy" and "diversity"), keyed by its scale
            (guidance at every step) or by a pair (interval, scale), interval None for every step
            or (t_low, t_high) for guidance only at those timesteps (notebook 6, section 6).
        my_interval: the interval of the chosen row: None (every step) or (t_low, t_high).
    """
    try:
        measured, spread = {}, {}  # spread: the diversity's dh.Estimate, where the report has it
        for key, report in reports.items():
            interval, scale = key if isinstance(key, tuple) else (None, key)
            measured[(_as_interval(interval), float(scale))] = (report["accuracy"], report["diversity"])
            spread[(_as_interval(interval), float(scale))] = report.get("estimates", {}).get("diversity")
    except (KeyError, TypeError, ValueError):
        return _report(False, "reports must map each scale, or each pair (interval, scale), to a digit_report made "
                              "with asked_labels (it has 'accuracy' and 'diversity').")
    if not measured:
        return _report(False, "your table is empty: run the sweep of section 5 first.")
    if my_scale is None:
        return _report(False, "set my_scale to the scale you read off your table (and my_interval to the row's "
                              "interval, or None for guidance at every step).")
    try:
        my_scale = float(my_scale)
        my_interval = _as_interval(my_interval)
    except (TypeError, ValueError):
        return _report(False, "my_scale must be a number from your table, and my_interval None (every step) or a "
                              f"pair (t_low, t_high) from it; got my_scale={my_scale!r}, my_interval={my_interval!r}.")
    mine = (my_interval, my_scale)
    if mine not in measured:
        rows = ", ".join(f"s = {scale:g} {_where(interval)}" for interval, scale in sorted(
            measured, key=lambda key: (key[0] is not None, key[0] or (0, 0), key[1])))
        return _report(False, f"s = {my_scale:g} {_where(my_interval)} is not a row of your table; its rows: {rows}.")
    good = {key: figures for key, figures in measured.items() if figures[0] >= target}
    best = (max(good, key=lambda key: good[key][1]) if good else max(measured, key=lambda key: measured[key][0]))
    accuracy, diversity = measured[mine]
    best_accuracy, best_diversity = measured[best]
    named, best_named = f"s = {my_scale:g} {_where(my_interval)}", f"s = {best[1]:g} {_where(best[0])}"
    if not good:  # no row reaches the target: the most accurate one is the best there is
        if mine == best:
            return _report(True, f"no row of your table reaches {target:.0%}; {named} comes closest "
                                 f"({accuracy:.1%}). With more scales or more digits, look again.")
        return _report(False, f"no row of your table reaches {target:.0%}, and {best_named} comes closer than "
                              f"{named} ({best_accuracy:.1%} against {accuracy:.1%}).")
    if mine == best:
        return _report(True, f"{named} reaches {accuracy:.1%} accuracy and keeps the most diversity ({diversity:.2f}) "
                             f"of the rows that reach {target:.0%}.")
    if accuracy < target:
        return _report(False, f"{named}: your table's accuracy is {accuracy:.1%}, below {target:.0%}: look at "
                              "larger scales, or at guidance in the noisier steps.")
    if spread.get(mine) is not None and spread.get(best) is not None and ordering(spread[mine], spread[best]) == 0:
        return _report(True, f"{named} reaches {accuracy:.1%} accuracy, and its diversity ({spread[mine]:.2f}) is "
                             f"within the noise of the most diverse row that reaches {target:.0%}, {best_named} "
                             f"({spread[best]:.2f}): your table cannot tell the two apart.")
    return _report(False, f"{best_named} also reaches {target:.0%} ({best_accuracy:.1%}) and keeps more diversity "
                          f"({best_diversity:.2f} against {diversity:.2f} for {named}"
                          + (", beyond the noise" if spread.get(mine) is not None and spread.get(best) is not None
                             else "") + ").")
