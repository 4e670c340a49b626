"""Check for notebook 6: label dropout, the training half of classifier-free guidance."""
import math

import torch

from ..conditioning import NULL_LABEL, drop_labels
from ._core import _call, _not_yet, _report, logged_check

NUM_LABELS, NUM_CLASSES = 10_000, 10
SEED = 31  # the generator the check passes; the package's drop_labels gets one seeded alike
PROBABILITIES = (0.15, 0.3, 0.0, 1.0)  # 0.15 first: the shipped digit model's label dropout


def _as_labels(result):
    """The student's return value as a LongTensor on the CPU, or (None, what is wrong with it)."""
    if result is None:
        return None, "your function returned None: did you forget `return`?"
    if isinstance(result, tuple):
        return None, f"your function returned a tuple of {len(result)} items: return the labels, one tensor."
    if not isinstance(result, torch.Tensor):
        return None, f"your function returned a {type(result).__name__}, expected a torch.Tensor of labels"
    if result.dtype == torch.bool:
        return None, ("your function returned a tensor of True/False: that is the mask of the labels to drop. "
                      "Return the labels themselves, with dh.NULL_LABEL where the mask is True (torch.where).")
    if result.is_floating_point() or result.is_complex():
        return None, (f"your function returned dtype {result.dtype}: labels are integers (torch.long), as the "
                      "model's embedding table needs them. Keep the labels' dtype.")
    return result.detach().to("cpu").long(), None


def _tolerance(probability, n):
    """How far a share of n independent draws may fall from ``probability``: 4 binomial standard
    errors, sqrt(p (1 - p) / n) (a right answer lands outside it about once in 16,000), plus half a
    label for rounding."""
    return 4 * math.sqrt(probability * (1 - probability) / n) + 0.5 / n


def _dropped(function, labels, probability, generator):
    """The mask of labels the answer replaces by NULL_LABEL (None if the call fails)."""
    got, error = _call(function, labels.clone(), probability, generator, convert=_as_labels)
    return None if error or got.shape != labels.shape else got == NULL_LABEL


def _what_is_wrong(function, labels, probability, got):
    """The usual slip behind an answer that differs from dh.drop_labels, in words."""
    changed = got[got != labels]
    others = changed[changed != NULL_LABEL].unique().tolist()
    if others == [0]:
        return ("your dropped labels became 0: that is the digit zero, a real class, so the model would learn that "
                "these noisy digits are zeros. The null label is dh.NULL_LABEL.")
    if others == [NUM_CLASSES]:
        return (f"your dropped labels became {NUM_CLASSES} = num_classes: that is the row of the class-embedding "
                "table where the model keeps the null label's vector (diffusers' DiT label embedding writes it so), "
                "but in a label tensor the null label is dh.NULL_LABEL, which the model maps to that row; "
                f"{NUM_CLASSES} is refused as a label.")
    if others:
        return (f"some labels became {others[:5]}, neither their own class nor dh.NULL_LABEL ({NULL_LABEL}): a "
                "dropped label becomes dh.NULL_LABEL, and every other label stays as it was.")
    share, n = (got == NULL_LABEL).double().mean().item(), len(labels)
    if abs(share - probability) > _tolerance(probability, n):
        if abs(share - (1 - probability)) <= _tolerance(1 - probability, n):
            return (f"you dropped {share:.1%} of the labels, which is 1 - probability: drop where u < probability "
                    "(that has chance `probability`), or check that torch.where puts dh.NULL_LABEL where the "
                    "mask is True.")
        return (f"you dropped {share:.1%} of the {n:,} labels; with probability = {probability:g} that share lies "
                f"within {probability:.1%} ± {_tolerance(probability, n):.1%} (4 binomial standard errors).")
    two_batches = torch.Generator().manual_seed(SEED + 1)  # one generator for two calls, as a training loop has
    first, second = (_dropped(function, labels, probability, two_batches) for _ in range(2))
    if first is not None and second is not None and torch.equal(first, second):
        return ("your function drops the same labels every time it is called, and a training loop calls it once a "
                "batch: the same samples would never be seen with their label. Does it set a seed of its own, or "
                "pick fixed places? Draw with the `generator` given: it moves on after each draw.")
    once, again = (_dropped(function, labels, probability, torch.Generator().manual_seed(SEED + 2)) for _ in range(2))
    if once is not None and again is not None and not torch.equal(once, again):
        return ("given two generators in the same state, your function drops different labels: it draws from "
                "torch's global generator, not the `generator` given, so a training run cannot be repeated. "
                "Draw with torch.rand(len(labels), generator=generator).")
    counts = {int(mask.sum()) for mask in (got == NULL_LABEL, first, second, once) if mask is not None}
    if len(counts) == 1 and 0 < probability < 1:
        return (f"you drop exactly {counts.pop():,} labels every time: each label is dropped on its own draw, so "
                "the count varies from batch to batch (a binomial count), as torch.rand(len(labels), "
                "generator=generator) < probability gives.")
    return ("you drop about the right share, different labels each batch, with the generator given, but not the "
            "labels that dh.drop_labels drops with the same generator: draw u = torch.rand(len(labels), "
            "generator=generator), one number a label, once, and drop where u < probability.")


@logged_check
def check_label_dropout(function):
    """Check ``function(labels, probability, generator)`` -> new labels: each replaced by dh.NULL_LABEL
    with probability ``probability`` (Ho & Salimans 2022, Algorithm 1), drawn as
    u = torch.rand(len(labels), generator=generator), dropped where u < probability; ``labels`` left
    as it was. Compared with ``dh.drop_labels`` on the same generator at probabilities 0.15, 0.3, 0
    and 1, and on a wrong answer the usual slip is named: 0 or num_classes as the null label,
    probability 1 - p, the same labels every batch, its own random numbers, a fixed count, the
    labels changed in place."""
    labels = torch.randint(0, NUM_CLASSES, (NUM_LABELS,), generator=torch.Generator().manual_seed(SEED - 1))
    for probability in PROBABILITIES:
        tried = (f"labels = {NUM_LABELS:,} random digits 0-9 (torch.long, shape ({NUM_LABELS},)), probability = "
                 f"{probability:g} and generator = torch.Generator().manual_seed({SEED})")
        got, error = _call(function, labels.clone(), probability, torch.Generator().manual_seed(SEED),
                           convert=_as_labels)
        if error:
            return _not_yet(f"at probability={probability:g}: {error}", tried)
        if got.shape != labels.shape:
            return _not_yet(f"at probability={probability:g}: your labels have shape {tuple(got.shape)}, expected "
                            f"{tuple(labels.shape)}: one label a sample, dropped or not.", tried)
        expected = drop_labels(labels, probability, torch.Generator().manual_seed(SEED))
        if not torch.equal(got, expected):
            return _not_yet(f"at probability={probability:g}: " + _what_is_wrong(function, labels, probability, got),
                            tried)
    dropped = int((drop_labels(labels, PROBABILITIES[0], torch.Generator().manual_seed(SEED)) == NULL_LABEL).sum())
    spread = math.sqrt(NUM_LABELS * PROBABILITIES[0] * (1 - PROBABILITIES[0]))
    return _report(True, f"label dropout: each label becomes dh.NULL_LABEL on its own draw, a new tensor each batch "
                         f"(at probability {PROBABILITIES[0]:g}, {dropped:,} of {NUM_LABELS:,} dropped; expected "
                         f"{PROBABILITIES[0] * NUM_LABELS:,.0f} ± {spread:.0f}).")
