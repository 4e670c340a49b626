"""Check for notebook 6: the guided noise estimate of classifier-free guidance."""
import torch

from ..conditioning import NULL_LABEL
from ..guidance import guided_noise
from ._core import _call, _not_yet, _report, compare


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


def check_guidance_choice(my_scale, reports, target=0.99):
    """Check a guidance scale chosen from a table of measurements: ``reports`` maps each scale to a
    ``dh.digit_report`` with "accuracy" and "diversity". The right choice is the scale, among those
    whose accuracy is at least ``target``, with the most diversity (if none reaches the target:
    the most accurate scale)."""
    try:
        measured = {float(scale): (report["accuracy"], report["diversity"]) for scale, report in reports.items()}
    except (KeyError, TypeError, ValueError):
        return _report(False, "reports must map each scale to a digit_report made with asked_labels "
                              "(it has 'accuracy' and 'diversity').")
    if not measured:
        return _report(False, "your table is empty: run the sweep of section 5 first.")
    if my_scale is None:
        return _report(False, "set my_scale to the scale you read off your curve (one of the scales in your table).")
    try:
        my_scale = float(my_scale)
    except (TypeError, ValueError):
        my_scale = None
    if my_scale not in measured:
        return _report(False, f"choose one of the scales in your table: {sorted(measured)}.")
    good = {scale: figures for scale, figures in measured.items() if figures[0] >= target}
    if good:
        best = max(good, key=lambda scale: good[scale][1])
    else:
        best = max(measured, key=lambda scale: measured[scale][0])
    accuracy, diversity = measured[my_scale]
    best_accuracy, best_diversity = measured[best]
    if not good:  # no scale reaches the target: the most accurate one is the best there is
        if my_scale == best:
            return _report(True, f"no scale in your table reaches {target:.0%}; s = {best:g} comes closest "
                                 f"({accuracy:.1%}). With more scales or more digits, look again.")
        return _report(False, f"no scale in your table reaches {target:.0%}, and s = {best:g} comes closer than "
                              f"s = {my_scale:g} ({best_accuracy:.1%} against {accuracy:.1%}).")
    if my_scale == best:
        return _report(True, f"s = {best:g} reaches {accuracy:.1%} accuracy and keeps the most diversity "
                             f"({diversity:.2f}) of the scales that reach {target:.0%}.")
    if accuracy < target:
        return _report(False, f"at s = {my_scale:g} your table's accuracy is {accuracy:.1%}, below {target:.0%}: "
                              "look further right on the accuracy curve.")
    return _report(False, f"s = {best:g} also reaches {target:.0%} ({best_accuracy:.1%}) and keeps more diversity "
                          f"({best_diversity:.2f} against {diversity:.2f} at s = {my_scale:g}).")
