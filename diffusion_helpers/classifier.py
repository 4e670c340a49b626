"""The digit classifier that judges generated digits (``dh.digit_report``): it recognises digits,
it does not generate them."""
import torch.nn as nn

from ._checks import check_float_tensor, check_int
from .model_checks import check_model_input


class DigitClassifier(nn.Module):
    """A small CNN that recognises 28x28 digits, used to judge generated samples (not to generate).

    two conv 3x3 (32) -> pool -> two conv 3x3 (64) -> pool -> linear (feature_dim) -> linear (10),
    each conv followed by BatchNorm and ReLU (a VGG-style stack, Simonyan & Zisserman 2015).
    ``features(x)`` gives the penultimate layer (B, feature_dim), the space of the Frechet distance.
    Shapes: x (B, 1, 28, 28) in [-1, 1] -> logits (B, num_classes).
    """

    def __init__(self, num_classes=10, feature_dim=128):
        super().__init__()
        self.config = dict(num_classes=check_int("num_classes", num_classes, low=2),
                           feature_dim=check_int("feature_dim", feature_dim, low=2))

        def conv(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.body = nn.Sequential(
            *conv(1, 32), *conv(32, 32), nn.MaxPool2d(2),
            *conv(32, 64), *conv(64, 64), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 7 * 7, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x):
        check_model_input(self, check_float_tensor("x", x, min_dim=4, last_dims=(1, 28, 28)), "x")
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x))
