"""What a sampler run costs, measured one way everywhere: model calls, counted, and wall seconds,
the median of repeated runs with their spread.

    cost = dh.measure_cost(lambda m: dh.ddim_sample(m, schedule, x_T, 10, progress=False), model)
    cost.model_calls, cost.rows, cost.seconds, cost.low, cost.high, cost.result

Counting: ``run`` receives a counting stand-in for the model, which forwards every call and
attribute to it. ``model_calls`` counts forward calls; ``rows`` counts the samples evaluated in
them (the batch sizes, summed). A guided step puts the conditional and the null rows of B samples
in one batch of 2B: that is ONE model call of 2B rows, where plain conditional sampling is one
call of B rows. So guidance keeps model_calls and doubles rows; which one sets the time depends
on the hardware (a GPU rarely fills a batch, a small CPU does).
"""
import statistics
import time
from typing import NamedTuple

import torch

from ._checks import check_int
from .model_checks import check_model
from .uncertainty import format_measured


class CountingModel:
    """A model that counts its forward calls and the rows (batch size) it evaluated; everything
    else (parameters(), num_classes, data_range, ...) is the wrapped model's."""

    def __init__(self, model):
        self.model, self.calls, self.rows = check_model("model", model), 0, 0

    def __call__(self, x, *args, **kwargs):
        self.calls += 1
        self.rows += int(x.shape[0]) if hasattr(x, "shape") and len(x.shape) else 1
        return self.model(x, *args, **kwargs)

    def __getattr__(self, name):  # only reached for names this object lacks
        return getattr(self.__dict__["model"], name)

    def parameters(self, *args, **kwargs):
        return self.model.parameters(*args, **kwargs)


class Cost(NamedTuple):
    """A measured run: model calls and rows of the last run (the same in every run of a
    deterministic sampler), seconds the median over ``repeats`` runs, low/high their fastest and
    slowest, and the last run's result."""
    model_calls: int
    rows: int
    seconds: float
    low: float
    high: float
    repeats: int
    result: object

    @property
    def value(self):
        """The median seconds, so that a Cost compares with dh.compare like an Estimate."""
        return self.seconds

    def __format__(self, spec):  # f"{cost:>22.2f}" -> "  1.23 s [1.20, 1.31]"
        return format_measured(spec, self.seconds, "{} s [{}, {}]", self.low, self.high, default=".2f")


def synchronize():
    """Wait for the GPU (CUDA or Apple MPS) to finish its queued work, so that a clock reads real time."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    mps = getattr(torch, "mps", None)
    if mps is not None and torch.backends.mps.is_available():
        mps.synchronize()


def measure_cost(run, model, repeats=3, warmup=0):
    """Run ``run(counting_model)`` ``warmup`` + ``repeats`` times and measure its cost.

    Args:
        run: a function of one argument, the model to use (a counting stand-in for ``model``),
            e.g. ``lambda m: dh.ddim_sample(m, schedule, x_T, 10, progress=False)``.
        model: the model to count (any callable model(x_t, t[, y])).
        repeats: timed runs; seconds is their median, low/high their minimum and maximum (the
            spread: on a busy machine one timing can mislead by a factor of two or more).
        warmup: untimed runs first (the first call of a model can be slower).
    Each run is timed from a synchronised GPU to a synchronised GPU (wall clock, time.perf_counter).
    Returns a Cost (model_calls and rows counted in the last run).
    """
    if isinstance(run, torch.nn.Module) and not isinstance(model, torch.nn.Module):
        raise TypeError("run must be a function of the model and model the model: measure_cost(run, model), "
                        "got the model first")
    if not callable(run):
        raise TypeError(f"run must be a function of the model, e.g. lambda m: dh.ddim_sample(m, ...), got "
                        f"{type(run).__name__}")
    check_model("model", model)
    repeats = check_int("repeats", repeats, low=1)
    warmup = check_int("warmup", warmup, low=0)
    seconds, counter, result = [], None, None
    with torch.no_grad():
        for index in range(warmup + repeats):
            counter = CountingModel(model)
            synchronize()
            start = time.perf_counter()
            result = run(counter)
            synchronize()
            if index >= warmup:
                seconds.append(time.perf_counter() - start)
    return Cost(counter.calls, counter.rows, statistics.median(seconds), min(seconds), max(seconds), repeats, result)
