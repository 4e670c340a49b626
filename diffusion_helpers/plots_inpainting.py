"""The inpainting figure (notebook 5): a real image, what the sampler is given, and the filled images
with the mask's edge drawn on each. Part of dh.plots."""
import matplotlib.pyplot as plt
import torch

from ._checks import check_mapping


def show_inpainting(known, mask, rows, title=None, size=1.5):
    """Left, the real image and what the sampler is given (its unknown part grey); right, a row a
    setting, the filled images with the mask's edge (the seam) in red.

    Args:
        known: one image (1, C, H, W) or (C, H, W) in [-1, 1].
        mask: (H, W) of 0 (unknown: filled in) and 1 (known).
        rows: {row label: filled images (K, C, H, W)}, every row the same K.
    Returns the Figure.
    """
    from .plots import check_shown, to_numpy_image  # plots.py imports this module's names

    labels = list(check_mapping("rows", rows, '{"setting": filled images (K, C, H, W)}'))
    known = known[0] if isinstance(known, torch.Tensor) and known.dim() == 4 else known
    if not isinstance(known, torch.Tensor) or known.dim() != 3:
        raise ValueError(f"known must be one image (1, C, H, W) or (C, H, W), got {tuple(getattr(known, 'shape', ()))}")
    check_shown("known", known[None])
    if not isinstance(mask, torch.Tensor) or tuple(mask.shape) != tuple(known.shape[-2:]):
        raise ValueError(f"mask must be a tensor of the image's height and width {tuple(known.shape[-2:])}, got "
                         f"{tuple(getattr(mask, 'shape', ())) or type(mask).__name__}")
    counts = {label: (rows[label].shape[0] if isinstance(rows[label], torch.Tensor) and rows[label].dim() == 4 else None)
              for label in labels}
    if None in counts.values() or len(set(counts.values())) != 1:
        raise ValueError(f"every row must be images (K, C, H, W) with the same K, got {counts}")
    for label in labels:
        check_shown(f"rows[{label!r}]", rows[label])
    mask = mask.detach().cpu().float()
    given = torch.where(mask.bool(), known.detach().cpu(), torch.tensor(0.0))  # unknown: mid grey
    count = counts[labels[0]]
    fig, axes = plt.subplots(len(labels), count + 2, figsize=(size * (count + 2) + 1.5, size * len(labels) + 0.8),
                             squeeze=False)
    for r, label in enumerate(labels):
        pictures = [known, given] if r == 0 else [None, None]
        pictures += list(rows[label].detach().cpu())
        for c, (ax, image) in enumerate(zip(axes[r], pictures)):
            ax.set_xticks([])
            ax.set_yticks([])
            if image is None:
                ax.axis("off")
                continue
            ax.imshow(to_numpy_image(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            if c >= 1:  # the seam on what the sampler is given and on every filled image
                ax.contour(mask.numpy(), levels=[0.5], colors="red", linewidths=1.2)
            if r == 0 and c < 2:
                ax.set_title(["real digit", "given (grey: unknown)"][c], fontsize=10)
        axes[r, 2].set_ylabel(label, fontsize=11)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
