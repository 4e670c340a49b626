"""Class conditioning: the null label and the checks of class labels.

A conditional model is called model(x_t, t, y) with labels y (B,) in [0, num_classes); y = None
means "no label" for the whole batch, and NULL_LABEL marks one row without a class (the null token
of classifier-free guidance, Ho & Salimans 2022).
"""

from ._checks import integers_per_row

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
