"""Class conditioning: the null label and the checks of class labels.

A conditional model is called model(x_t, t, y) with labels y (B,) in [0, num_classes); y = None
means "no label" for the whole batch, and NULL_LABEL marks one row without a class (the null token
of classifier-free guidance, Ho & Salimans 2022).
"""
import numbers

import torch

NULL_LABEL = -1  # the label that means "no class" (classifier-free guidance), inside a label tensor


def check_labels(y, batch_size, num_classes, name="y"):
    """Return ``y`` as a LongTensor (B,) with values in [0, num_classes) or NULL_LABEL; None stays None.

    NULL_LABEL (-1) marks a row without a class (the null token of classifier-free guidance).
    ``num_classes=None`` checks only that the labels are >= 0 or NULL_LABEL.
    """
    if y is None:
        return None
    if isinstance(y, numbers.Integral) and not isinstance(y, bool):
        y = torch.full((batch_size,), int(y), dtype=torch.long)
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} must be None, an int or an integer tensor of shape (B,), got {type(y).__name__}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels (torch.long), got dtype {y.dtype}")
    if y.dim() == 0:
        y = y.expand(batch_size)
    if y.dim() != 1 or y.shape[0] != batch_size:
        raise ValueError(f"{name} must have shape ({batch_size},) to match the batch, got {tuple(y.shape)}")
    labelled = y[y != NULL_LABEL]
    if labelled.numel() and (int(labelled.min()) < 0 or (num_classes is not None and int(labelled.max()) >= num_classes)):
        allowed = "labels >= 0" if num_classes is None else f"class labels in [0, {num_classes - 1}]"
        raise ValueError(f"{name} must hold {allowed}, or dh.NULL_LABEL ({NULL_LABEL}) for \"no class\"; "
                         f"got values from {int(labelled.min())} to {int(labelled.max())}")
    return y.long()
