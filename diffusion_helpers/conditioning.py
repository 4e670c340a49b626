"""Class conditioning: the null label, label dropout and the checks of class labels.

A conditional model is called model(x_t, t, y) with labels y (B,) in [0, num_classes); y = None
means "no label" for the whole batch, and NULL_LABEL marks one row without a class (the null token
of classifier-free guidance, Ho & Salimans 2022). ``drop_labels`` is the label dropout of training
that teaches one model both p(x | y) and p(x). (The models' class embedding, one row a class and
one for NULL_LABEL, added to the time embedding, is ``models._Conditioning``.)
"""
import torch

from ._checks import check_number, integers_per_row

NULL_LABEL = -1  # the label that means "no class" (classifier-free guidance), inside a label tensor


def check_labels(y, batch_size, num_classes, name="y"):
    """Return ``y`` as a LongTensor (B,) with values in [0, num_classes) or NULL_LABEL; None stays None.

    NULL_LABEL (-1) marks a row without a class (the null token of classifier-free guidance).
    ``num_classes=None`` checks only that the labels are >= 0 or NULL_LABEL.
    """
    if y is None:
        return None
    y = integers_per_row(name, y, batch_size, "integer class labels", "None, an int")
    labelled = y[y != NULL_LABEL]
    if labelled.numel() and (int(labelled.min()) < 0 or (num_classes is not None and int(labelled.max()) >= num_classes)):
        allowed = "labels >= 0" if num_classes is None else f"class labels in [0, {num_classes - 1}]"
        raise ValueError(f"{name} must hold {allowed}, or dh.NULL_LABEL ({NULL_LABEL}) for \"no class\"; "
                         f"got values from {int(labelled.min())} to {int(labelled.max())}")
    return y.long()


def drop_labels(labels, probability, generator=None):
    """Label dropout (Ho & Salimans 2022, Algorithm 1: "c <- null with probability p_uncond"): each
    label is replaced by NULL_LABEL with probability ``probability``, each on its own draw,
    u_i ~ U[0, 1) and y_i -> NULL_LABEL where u_i < probability. Returns a new tensor; ``labels``
    is left as it was. Trained on both, one network learns eps(x_t, y) and eps(x_t, null).

    Args:
        labels: class labels (B,), an integer tensor with values >= 0 (or already NULL_LABEL).
        probability: p_uncond in [0, 1], e.g. 0.1 to 0.2 (``dh.TrainConfig.label_dropout``).
        generator: a torch.Generator for the B uniform draws (on its device), so that a run repeats
            (dh.train passes its own); None draws from torch's global generator, on the CPU.
    Returns: LongTensor (B,) on the labels' device.
    """
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1:
        shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise TypeError(f"labels must be an integer tensor of shape (B,), got {shape}")
    labels = check_labels(labels, len(labels), None, name="labels")
    probability = check_number("probability", probability, low=0.0, high=1.0)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return _drop_labels(labels, probability, generator)


def _drop_labels(labels, probability, generator):
    """drop_labels without the checks: the training loop's, whose labels were checked once."""
    device = "cpu" if generator is None else generator.device
    drop = torch.rand(len(labels), generator=generator, device=device) < probability
    return torch.where(drop.to(labels.device), NULL_LABEL, labels)
