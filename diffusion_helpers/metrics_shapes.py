"""A judge for samples of ``dh.make_shapes``: is each one a clean circle, square or triangle?

The digit classifier knows digits only; for shapes there is a measure a student can check by eye.
``make_shapes`` draws one filled white shape on black: a circle of radius r, an axis-aligned square
of half-side r, or an equilateral triangle inscribed in a circle of radius r at a random turn. So
each sample is thresholded at 0 (ink: x > 0), and the ideal shapes *of the same ink area and
centre* are drawn beside it:

    circle:    radius sqrt(A / pi)
    square:    half-side sqrt(A) / 2
    triangle:  circumradius sqrt(4 A / (3 sqrt(3))), at TRIANGLE_TURNS turns of 0 .. 120 degrees

where A is the ink's area in pixels and the centre its centroid. The sample's fit is the best
intersection over union (IoU = |ink and ideal| / |ink or ideal|) among them; a sample is a shape
when that IoU reaches ``SHAPE_IOU``, and its shape is the one that fits best. Real shapes pass
(tests/test_metrics_shapes.py: at least 97% of 2,000, each named right), noise and blobs do not.
"""
import math

import torch

from ._checks import check_float_tensor, check_image_range
from .data import SHAPE_NAMES
from .uncertainty import share_estimate

SHAPE_IOU = 0.8        # a sample is a shape when its best IoU with an ideal shape reaches this
MIN_INK_PIXELS = 8     # less ink than this is "blank": make_shapes' smallest shape covers about 40 pixels
TRIANGLE_TURNS = 40    # turns tried for the triangle, 3 degrees apart (its symmetry repeats every 120)


def _ideal_masks(centre_x, centre_y, area, size):
    """The ideal circle, square and triangles of each sample's area and centre, drawn at pixel
    centres as make_shapes draws them: (B, 2 + TRIANGLE_TURNS, size, size) booleans."""
    centre_x, centre_y, area = centre_x.float(), centre_y.float(), area.float()
    grid = torch.arange(size, dtype=torch.float32) + 0.5
    yy, xx = grid[None, :, None], grid[None, None, :]           # (1, size, 1), (1, 1, size)
    dx, dy = xx - centre_x[:, None, None], yy - centre_y[:, None, None]  # (B, size, size)
    radius = (area / math.pi).sqrt()[:, None, None]
    half = (area.sqrt() / 2)[:, None, None]
    circle = dx**2 + dy**2 <= radius**2
    square = (dx.abs() <= half) & (dy.abs() <= half)
    circumradius = (4 * area / (3 * math.sqrt(3))).sqrt()[:, None, None, None]
    turns = torch.arange(TRIANGLE_TURNS, dtype=torch.float32) * (2 * math.pi / 3) / TRIANGLE_TURNS
    sides = []
    for k in range(3):  # the three corners at turn + k 120 degrees; inside: on one side of every edge
        a, b = turns + k * 2 * math.pi / 3, turns + (k + 1) * 2 * math.pi / 3
        ax, ay = circumradius * torch.cos(a)[None, :, None, None], circumradius * torch.sin(a)[None, :, None, None]
        bx, by = circumradius * torch.cos(b)[None, :, None, None], circumradius * torch.sin(b)[None, :, None, None]
        sides.append((bx - ax) * (dy[:, None] - ay) - (by - ay) * (dx[:, None] - ax))
    triangles = ((sides[0] >= 0) & (sides[1] >= 0) & (sides[2] >= 0)) | ((sides[0] <= 0) & (sides[1] <= 0) & (sides[2] <= 0))
    return torch.cat([circle[:, None], square[:, None], triangles], dim=1)


def shape_fit(samples):
    """Each sample's best fit by an ideal shape of its own ink area and centre.

    Args:
        samples: images (B, 1, H, W) in [-1, 1], H == W (e.g. ``dh.make_shapes`` or a model's samples).
    Returns:
        (iou (B,) float: the best IoU, 0 for a blank sample; shape (B,) long: 0 circle, 1 square,
        2 triangle, the best-fitting one, -1 for a blank sample).
    """
    check_float_tensor("samples", samples)
    if samples.dim() != 4 or samples.shape[1] != 1 or samples.shape[2] != samples.shape[3]:
        raise ValueError(f"samples must be square one-channel images (B, 1, H, H) like dh.make_shapes', "
                         f"got shape {tuple(samples.shape)}")
    check_image_range("samples", samples)
    ink = samples[:, 0].detach().cpu() > 0                           # (B, H, W)
    fits = [_best_fit(ink[start:start + CHUNK]) for start in range(0, len(ink), CHUNK)]  # bounded memory
    return torch.cat([iou for iou, _ in fits]), torch.cat([shape for _, shape in fits])


CHUNK = 64  # samples fitted at once: (CHUNK, 2 + TRIANGLE_TURNS, H, W) masks


def _best_fit(ink):
    """shape_fit on a chunk of ink masks (B, H, W) booleans."""
    size = ink.shape[-1]
    area = ink.sum(dim=(1, 2)).double()
    grid = torch.arange(size, dtype=torch.float64) + 0.5
    safe = area.clamp(min=1)
    centre_x = (ink.double() * grid[None, None, :]).sum(dim=(1, 2)) / safe
    centre_y = (ink.double() * grid[None, :, None]).sum(dim=(1, 2)) / safe
    ideal = _ideal_masks(centre_x, centre_y, safe, size)             # (B, K, H, W)
    intersection = (ideal & ink[:, None]).sum(dim=(2, 3)).double()
    union = (ideal | ink[:, None]).sum(dim=(2, 3)).double().clamp(min=1)
    iou = intersection / union                                       # (B, K)
    by_shape = torch.stack([iou[:, 0], iou[:, 1], iou[:, 2:].max(dim=1).values], dim=1)  # (B, 3)
    best, shape = by_shape.max(dim=1)
    blank = area < MIN_INK_PIXELS
    return best.masked_fill(blank, 0.0).float(), shape.masked_fill(blank, -1)


def shape_report(samples):
    """How many samples are clean shapes, and which.

    Returns a dict: "estimates" {"shape": the share that are a shape (best IoU >= SHAPE_IOU),
    and one share a name of SHAPE_NAMES: the share of all samples that are that shape}, each a
    dh.Estimate with its standard error; "blank" (share with almost no ink), "mean_iou" (the mean
    best IoU: how close to ideal shapes the samples are on average), "grey" (the share of pixels
    with |x| < 0.5, neither ink nor background: 0 for make_shapes' images; the outline test above
    does not see blur, this does), "entropy" (of the shapes
    among the samples that are shapes: ln 3 = 1.10 when the three are equally common, as in the
    data) and "n".
    """
    iou, shape = shape_fit(samples)
    n = len(iou)
    is_shape = iou >= SHAPE_IOU
    estimates = {"shape": share_estimate(int(is_shape.sum()) / n, n)}
    counts = []
    for index, name in enumerate(SHAPE_NAMES):
        count = int((is_shape & (shape == index)).sum())
        counts.append(count)
        estimates[name] = share_estimate(count / n, n)
    total = sum(counts)
    entropy = -sum(c / total * math.log(c / total) for c in counts if c) if total else 0.0
    grey = float((samples.detach().abs() < 0.5).float().mean())
    return {"estimates": estimates, "blank": float((shape == -1).float().mean()), "mean_iou": float(iou.mean()),
            "grey": grey, "entropy": entropy, "n": n}
