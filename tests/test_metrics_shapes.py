"""dh.shape_report: real shapes pass and are named right; noise, blurs and pairs of shapes do not."""
import math

import pytest
import torch

import diffusion_helpers as dh
from diffusion_helpers.metrics_shapes import SHAPE_IOU


def test_real_shapes_are_shapes_and_named_right():
    images, labels = dh.make_shapes(600, seed=1)
    iou, shape = dh.shape_fit(images)
    assert (iou >= SHAPE_IOU).float().mean() >= 0.97
    assert (shape == labels).float().mean() >= 0.97
    report = dh.shape_report(images)
    assert report["estimates"]["shape"].value >= 0.97 and report["blank"] == 0
    assert report["entropy"] == pytest.approx(math.log(3), abs=0.01)  # make_shapes draws the three equally often


def test_noise_blurs_and_two_shapes_in_one_image_are_not_shapes():
    images, _ = dh.make_shapes(300, seed=2)
    noise = torch.randn(300, 1, 32, 32, generator=torch.Generator().manual_seed(0)).clamp(-1, 1)
    assert dh.shape_report(noise)["estimates"]["shape"].value == 0
    apart = ~((images[:150] > 0) & (images[150:] > 0)).flatten(1).any(1)  # pairs whose shapes do not touch
    two = torch.maximum(images[:150], images[150:])[apart]                  # two separate shapes in one image
    assert len(two) > 50 and dh.shape_report(two)["estimates"]["shape"].value < 0.05
    blurred = torch.nn.functional.avg_pool2d(images, 5, 1, 2)
    assert dh.shape_report(images)["grey"] == 0 and dh.shape_report(blurred)["grey"] > 0.05
    blank = -torch.ones(5, 1, 32, 32)
    iou, shape = dh.shape_fit(blank)
    assert iou.tolist() == [0.0] * 5 and shape.tolist() == [-1] * 5 and dh.shape_report(blank)["blank"] == 1.0


def test_the_shares_carry_their_standard_error():
    images, _ = dh.make_shapes(64, seed=3)
    estimate = dh.shape_report(images)["estimates"]["square"]
    assert estimate.error == pytest.approx(math.sqrt(estimate.value * (1 - estimate.value) / 64))


@pytest.mark.parametrize("bad, message", [(torch.zeros(2, 3, 32, 32), "one-channel"), (torch.zeros(2, 1, 32, 28), "square"),
                                          (torch.full((2, 1, 32, 32), 255.0), r"\[-1, 1\]")])
def test_bad_samples_are_refused_naming_the_argument(bad, message):
    with pytest.raises(ValueError, match=message) as info:
        dh.shape_report(bad)
    assert "samples" in str(info.value)
