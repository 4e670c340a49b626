"""Shared helpers: an exact noise predictor for a labelled mixture of two Gaussians (the one for a
single Gaussian is dh.GaussianNoisePredictor), and standard errors for statistical checks."""
import importlib.util
import math
import os

import pytest
import torch

import diffusion_helpers as dh


class TwoGaussianPredictor:
    """Exact eps-predictions for a 1-D mixture of N(-m, s^2) (class 0) and N(+m, s^2) (class 1),
    equal weights. y = None, or NULL_LABEL in a row, gives the mixture's prediction: the
    responsibilities p(k | x_t) average the two class predictions. ``calls`` counts the calls."""

    num_classes = 2

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
        variance = abar * self.s**2 + 1 - abar
        log_density = [-(x_t - abar.sqrt() * mean) ** 2 / (2 * variance) for mean in self.means]
        weight_1 = torch.sigmoid(log_density[1] - log_density[0])
        mixture = (1 - weight_1) * eps[0] + weight_1 * eps[1]
        if y is None:
            return mixture
        y = y.reshape(-1, 1)
        return torch.where(y == dh.NULL_LABEL, mixture, torch.where(y == 1, eps[1], eps[0]))


@pytest.fixture
def two_gaussian_predictor():
    return TwoGaussianPredictor


def standard_errors(n, std):
    """Standard errors of the sample mean and the sample standard deviation of n normal draws."""
    return std / math.sqrt(n), std / math.sqrt(2 * (n - 1))


def load_tool(name):
    """A script of tools/ (not a package) imported as a module, e.g. load_tool("export")."""
    path = os.path.join(os.path.dirname(__file__), "..", "tools", f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def built_distributions(tmp_path_factory):
    """(wheel path, sdist path, the build's output) of this checkout, built once a test session
    with `python -m build` (an isolated build environment, as pip and Colab build it)."""
    import glob
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("dist")
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    build = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), root],
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    wheel, = glob.glob(str(out / "*.whl"))
    sdist, = glob.glob(str(out / "*.tar.gz"))
    return wheel, sdist, build.stdout + build.stderr
