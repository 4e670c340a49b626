"""Shared fixtures: exact noise predictors of Gaussians, whose samplers' answers are known."""
import math

import pytest
import torch


class GaussianNoisePredictor:
    """The exact eps-prediction E[eps | x_t] when x_0 ~ N(mean, std^2 I):

    eps*(x_t, t) = sqrt(1 - abar_t) (x_t - sqrt(abar_t) mean) / (abar_t std^2 + 1 - abar_t).
    """

    def __init__(self, schedule, mean, std):
        self.alphas_cumprod = schedule.alphas_cumprod.double()
        self.mean, self.std = mean, std

    def __call__(self, x_t, t, y=None):
        abar = self.alphas_cumprod[t].to(x_t.dtype).reshape(-1, *([1] * (x_t.dim() - 1)))
        return (1 - abar).sqrt() * (x_t - abar.sqrt() * self.mean) / (abar * self.std**2 + 1 - abar)


class TwoGaussianPredictor:
    """Exact eps-predictions for a 1-D mixture of N(-m, s^2) (class 0) and N(+m, s^2) (class 1),
    equal weights. y = None gives the mixture's prediction: the responsibilities p(k | x_t)
    average the two class predictions."""

    def __init__(self, schedule, m=2.0, s=0.5):
        self.alphas_cumprod = schedule.alphas_cumprod.double()
        self.means, self.s = (-m, m), s
        self.calls = 0

    def _class_eps(self, x_t, abar, mean):
        return (1 - abar).sqrt() * (x_t - abar.sqrt() * mean) / (abar * self.s**2 + 1 - abar)

    def __call__(self, x_t, t, y=None):
        self.calls += 1
        abar = self.alphas_cumprod[t].to(x_t.dtype).reshape(-1, 1)
        eps = [self._class_eps(x_t, abar, mean) for mean in self.means]
        if y is not None:
            return torch.where(y.reshape(-1, 1) == 1, eps[1], eps[0])
        variance = abar * self.s**2 + 1 - abar
        log_density = [-(x_t - abar.sqrt() * mean) ** 2 / (2 * variance) for mean in self.means]
        weight_1 = torch.sigmoid(log_density[1] - log_density[0])
        return (1 - weight_1) * eps[0] + weight_1 * eps[1]


@pytest.fixture
def gaussian_predictor():
    return GaussianNoisePredictor


@pytest.fixture
def two_gaussian_predictor():
    return TwoGaussianPredictor


def standard_errors(n, std):
    """Standard errors of the sample mean and the sample standard deviation of n normal draws."""
    return std / math.sqrt(n), std / math.sqrt(2 * (n - 1))
