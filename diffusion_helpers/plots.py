"""One plotting helper a kind of figure, shared by every notebook.

Every function returns the matplotlib Figure (notebooks show it; tests save it). Images are
(B, C, H, W) tensors in [-1, 1]; point clouds are (N, 2) tensors.
"""
import textwrap

import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter
import numpy as np
import torch

from ._checks import check_image_range, check_int, check_mapping
# the 2D point-cloud figures of notebook 3 live in plots_points.py; they are part of dh.plots too
from .plots_points import (animate_points, pick_frames, plot_guidance_fields, plot_paths, plot_vector_fields,  # noqa: F401
                           scatter_classes, scatter_points)
# a student's numbers beside the shipped reference run (plots_measures.py), part of dh.plots too
from .plots_measures import plot_lines_beside, run_line  # noqa: F401,E402
# notebook 6's figures of conditioning: the class-embedding table, sizes at scale (plots_conditioning.py)
from .plots_conditioning import plot_class_embedding, plot_sizes_at_scale, sizes_at_scale  # noqa: F401,E402
# notebook 5's inpainting figure (plots_inpainting.py), part of dh.plots too
from .plots_inpainting import show_inpainting  # noqa: F401,E402

READABLE = {"font.size": 12, "axes.titlesize": 13, "figure.dpi": 90}  # applied by dh.setup()
# presenter mode (DIFFUSION_PRESENTER=1): read from the back of a lecture hall
PRESENTER = {"font.size": 17, "axes.titlesize": 19, "axes.labelsize": 17, "xtick.labelsize": 15,
             "ytick.labelsize": 15, "legend.fontsize": 15, "figure.titlesize": 20, "figure.dpi": 130,
             "lines.linewidth": 2.5}


def use_style(presenter=False):
    """Make every later figure readable: larger fonts (READABLE), larger still for a lecture hall
    with ``presenter`` (PRESENTER). ``dh.setup`` calls it with ``dh.presenter_mode()``."""
    plt.rcParams.update(READABLE)
    if presenter:
        plt.rcParams.update(PRESENTER)


def to_numpy_image(image):
    """One image (C, H, W) in [-1, 1] -> a NumPy array (H, W) or (H, W, 3) in [0, 1]."""
    image = ((image.detach().float().cpu().clamp(-1, 1) + 1) / 2).numpy()
    return image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)


def check_shown(name, images):
    """Images to draw: NaN and [0, 255] are refused, [0, 1] warned about (``check_image_range``);
    noisy x_t (values up to about +-6) are fine, as the drawing clamps them to [-1, 1]."""
    return check_image_range(name, images, slack=9.0)


def check_titles(name, titles, count):
    """None, or one title for each of ``count`` pictures."""
    if titles is not None and (isinstance(titles, str) or len(titles) != count):
        got = "a string" if isinstance(titles, str) else f"{len(titles)}"
        raise ValueError(f"{name} must hold one title for each of the {count} images, got {got}")


def check_losses(losses):
    """A sequence of numbers (a list, an array, a 1-D tensor), one loss a step, as a float array."""
    if hasattr(losses, "losses"):
        raise TypeError(f"losses must be the list of losses: pass result.losses, not the {type(losses).__name__}")
    try:
        return np.asarray(losses.detach().cpu() if isinstance(losses, torch.Tensor) else losses, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"losses must be a list of numbers, one a step, got {type(losses).__name__}") from None


def _draw_image(ax, image, title=None):
    ax.imshow(to_numpy_image(image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=11)


def show_images(images, nrow=8, title=None, titles=None, size=1.4):
    """A grid of images (B, C, H, W) in [-1, 1], ``nrow`` a row, with optional per-image titles."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] not in (1, 3):
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        hint = ": channels last? use images.permute(0, 3, 1, 2)" if getattr(images, "ndim", 0) == 4 and \
            images.shape[-1] in (1, 3) else ""
        raise ValueError(f"images must be a tensor (B, C, H, W) with C = 1 or 3, got {shape}{hint}")
    check_shown("images", images)
    nrow = check_int("nrow", nrow, low=1)
    images = images.detach().cpu()
    count = images.shape[0]
    check_titles("titles", titles, count)
    ncol = min(nrow, count)
    nrows = (count + ncol - 1) // ncol
    height = size * nrows + (0.5 if title else 0) + (0.3 * nrows if titles is not None else 0)  # room for titles
    fig, axes = plt.subplots(nrows, ncol, figsize=(size * ncol, height), squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index < count:
            _draw_image(ax, images[index], None if titles is None else titles[index])
        else:
            ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_image_grid(rows, column_titles=None, title=None, size=1.6):
    """Rows of images: ``rows`` maps a row label to a tensor (K, C, H, W); every row has K images."""
    labels = list(check_mapping("rows", rows, '{"row label": images (K, C, H, W)}'))
    for label in labels:
        if not isinstance(rows[label], torch.Tensor) or rows[label].dim() != 4:
            raise ValueError(f"rows[{label!r}] must be a tensor of images (K, C, H, W), got {type(rows[label]).__name__} "
                             f"{tuple(getattr(rows[label], 'shape', ()))}")
        check_shown(f"rows[{label!r}]", rows[label])
    ncol = rows[labels[0]].shape[0]
    lengths = {label: rows[label].shape[0] for label in labels}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"every row must hold the same number of images, got {lengths}")
    check_titles("column_titles", column_titles, ncol)
    fig, axes = plt.subplots(len(labels), ncol, figsize=(size * ncol + 1, size * len(labels) + 0.6), squeeze=False)
    for r, label in enumerate(labels):
        for c in range(ncol):
            _draw_image(axes[r, c], rows[label][c], column_titles[c] if (column_titles and r == 0) else None)
        axes[r, 0].set_ylabel(label, fontsize=12)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_schedules(schedules, t=None, title="Noise schedules"):
    """beta_t, alpha-bar_t and log SNR(t) of several schedules against t / T (so that schedules
    with different T line up). ``schedules`` maps a label to a NoiseSchedule; ``t`` marks a step."""
    check_mapping("schedules", schedules, '{"cosine": dh.NoiseSchedule("cosine")}')
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for label, schedule in schedules.items():
        T = schedule.num_timesteps
        x = (np.arange(T) + 1) / T
        axes[0].plot(x, schedule.betas.cpu(), label=label)
        axes[1].plot(x, schedule.alphas_cumprod.cpu(), label=label)
        axes[2].plot(x, schedule.log_snr().cpu(), label=label)
    for ax, name in zip(axes, [r"$\beta_t$ (noise added at step t)", r"$\bar\alpha_t$ (signal variance left)",
                               r"$\log \mathrm{SNR}(t) = \log \bar\alpha_t / (1 - \bar\alpha_t)$"]):
        ax.set_title(name)
        ax.set_xlabel("t / T")
        ax.grid(alpha=0.3)
        if t is not None:
            first = next(iter(schedules.values()))
            ax.axvline((t + 1) / first.num_timesteps, color="k", lw=1, ls="--")
    if t is not None:
        for schedule in schedules.values():
            if t < schedule.num_timesteps:
                x = (t + 1) / schedule.num_timesteps
                for ax, values in zip(axes, [schedule.betas, schedule.alphas_cumprod, schedule.log_snr()]):
                    ax.plot(x, values[t].item(), "ko", ms=6)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("value")
    axes[1].legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _draw_losses(ax, losses, smooth, title, reference):
    losses = check_losses(losses)
    smooth = check_int("smooth", smooth, low=1)
    ax.plot(np.arange(1, len(losses) + 1), losses, alpha=0.3, label="each step")
    if len(losses) >= smooth:
        average = np.convolve(losses, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(smooth, len(losses) + 1), average, lw=2, label=f"mean of {smooth} steps")
    for label, value in (reference or {}).items():
        ax.axhline(value, color="k", ls="--", lw=1)
        ax.text(1, value, f" {label}", va="bottom", fontsize=10)
    ax.set_yscale("log")
    if reference:  # room above the highest line for its label
        ax.set_ylim(top=max(max(reference.values()), losses.max() if len(losses) else 0) * 1.6)
    ax.set_xlabel("training step")
    ax.set_ylabel("MSE between true and predicted noise")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)


def plot_losses(losses, smooth=50, title="Training loss", reference=None):
    """The loss of every step (faint) and its moving average over ``smooth`` steps, log scale.
    ``reference`` (a dict label -> value) draws horizontal lines, e.g. the loss of predicting zero."""
    fig, ax = plt.subplots(figsize=(8, 4))
    _draw_losses(ax, losses, smooth, title, reference)
    fig.tight_layout()
    return fig


def plot_training_dashboard(losses, samples, title="Training", smooth=50, reference=None, nrow=8):
    """What a training run looks like so far: the loss curve (left, as ``plot_losses``) beside a
    grid of preview samples (B, C, H, W) in [-1, 1] drawn from fixed noise (right)."""
    samples = check_shown("samples", samples).detach().cpu()
    nrow = check_int("nrow", nrow, low=1)
    ncol = min(nrow, len(samples))
    nrows = -(-len(samples) // ncol)
    fig = plt.figure(figsize=(14, 4.2))
    grid = fig.add_gridspec(nrows, 2 + ncol, width_ratios=[ncol / 2, 0.2] + [1] * ncol)
    _draw_losses(fig.add_subplot(grid[:, 0]), losses, smooth, "loss", reference)
    for index in range(nrows * ncol):
        ax = fig.add_subplot(grid[index // ncol, 2 + index % ncol])
        if index < len(samples):
            _draw_image(ax, samples[index])
        else:
            ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_class_histograms(reports, title="What the digit classifier sees", class_names=None):
    """One group of bars a class: the share of each model's samples that are digits of that class
    (``reports`` maps a name to a ``dh.digit_report``), then two groups for the samples that are
    not digits, noise and blank; the legend gives each one's digit / noise / blank shares."""
    names = list(check_mapping("reports", reports, '{"my model": dh.digit_report(...)}'))
    classes = len(reports[names[0]]["histogram"])
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(10, 4))
    for index, name in enumerate(names):
        report = reports[name]
        kinds = "digit" in report  # a report from before digits were told from noise has the histogram only
        bars = list(report.get("digit_histogram", report["histogram"]))
        bars += [report["noise"], report["blank"]] if kinds else []
        label = (f"{name}: {report['digit']:.0%} digits ({report['confident']:.0%} confident), {report['noise']:.0%} "
                 f"noise, {report['blank']:.0%} blank" if kinds else f"{name}: {report['confident']:.0%} confident")
        ax.bar(np.arange(len(bars)) + (index - (len(names) - 1) / 2) * width, bars, width, label=label)
    ax.axhline(1 / classes, color="k", ls="--", lw=1, label="even share")
    ticks = (class_names or [str(c) for c in range(classes)]) + ["noise", "blank"]
    groups = classes + 2 if any("digit" in r for r in reports.values()) else classes
    ax.set_xticks(np.arange(groups), ticks[:groups])
    ax.set_xlabel("the classifier's class, for the images that are digits")
    ax.set_ylabel("share of samples")
    ax.set_title(title)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def plot_histograms(panels, density=None, density_label="N(0, 1)", title=None, xlabel="value", bins=60, size=4.0,
                    log=False):
    """A row of overlaid histograms: ``panels`` maps a panel title to {label: values (any shape)}; the
    series of a panel share their bins. ``density``, a function of a NumPy array, draws the expected
    density over every panel; ``log`` puts the densities on a log scale (for a spike beside a spread)."""
    check_mapping("panels", panels, '{"panel title": {"label": values}}')
    for panel, series in panels.items():
        check_mapping(f"panels[{panel!r}]", series, '{"label": values}')
    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels), size), squeeze=False)
    for ax, (panel, series) in zip(axes[0], panels.items()):
        arrays = {label: np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=float).ravel()
                  for label, values in series.items()}
        edges = np.histogram_bin_edges(np.concatenate(list(arrays.values())), bins)
        for label, values in arrays.items():
            ax.hist(values, bins=edges, density=True, alpha=0.45, label=label, log=log)
        if density is not None:
            low, high = ax.get_xlim()
            grid = np.linspace(low, high, 300)
            ax.plot(grid, density(grid), "k", lw=1.5, label=density_label)
        ax.set_title(panel, fontsize=12)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density" + (" (log scale)" if log else ""))
        ax.legend(fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _spread_out(ticks, factor=1.4):
    """The ticks of a log axis, each at least ``factor`` times the one before (15 and 20 printed side by
    side would run into one another as "1520")."""
    shown = []
    for value in ticks:
        if not shown or value >= factor * shown[-1]:
            shown.append(value)
    return shown


def _nudged(x, index, count, logx, panel_x, share=0.15):
    """x moved sideways for series ``index`` of ``count``, so that bars at one x sit side by side: all
    the series together span ``share`` of the gap between neighbouring x values (a ratio on a log axis),
    so no point strays halfway to the next x. ``panel_x``: every x of the panel, whose gaps count."""
    if count < 2:
        return x
    offset = share * (index / (count - 1) - 0.5)
    if logx:
        ratios = np.diff(np.log(np.unique(panel_x))) if (panel_x > 0).all() else np.array([])
        return x * np.exp(offset * (ratios.min() if ratios.size else np.log(2)))
    gaps = np.diff(np.unique(panel_x))
    return x + offset * (gaps.min() if gaps.size else 1.0)


def plot_lines(panels, xlabel, title=None, logx=False, logy=False, references=None, size=(5.6, 4.0)):
    """A row of line charts. ``panels`` maps a panel's y-axis label to {series name: (x, y)}; y may
    hold measured values (dh.Estimate, dh.Cost), drawn with error bars from their low to high
    (each series nudged sideways a little, so that bars at one x do not hide each other);
    ``references`` maps a panel's label to {name: y}, drawn as dashed horizontal lines (e.g. the
    real-data floor). Points are marked, so a series of two points still reads as a line; a series
    keeps its colour in every panel."""
    check_mapping("panels", panels, '{"y label": {"series": (x, y)}}')
    for ylabel, series in panels.items():
        check_mapping(f"panels[{ylabel!r}]", series, '{"series": (x, y)}', allow_empty=True)
        for name, pair in series.items():
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and len(pair[0]) == len(pair[1])):
                raise ValueError(f"panels[{ylabel!r}][{name!r}] must be a pair (x, y) of equally long sequences")
    references = references or {}
    names = list(dict.fromkeys(name for series in panels.values() for name in series))  # one colour a series
    fig, axes = plt.subplots(1, len(panels), figsize=(size[0] * len(panels), size[1]), squeeze=False)
    for ax, (ylabel, series) in zip(axes[0], panels.items()):
        panel_x = np.array([float(value) for x, _ in series.values() for value in x])
        for name, (x, y) in series.items():
            x, color = np.asarray(x, dtype=float), f"C{names.index(name) % 10}"
            x = _nudged(x, names.index(name), len(names), logx, panel_x)  # every series, bars or not: one place a series
            if all(hasattr(v, "low") and hasattr(v, "high") for v in y):  # dh.Estimate or dh.Cost: error bars
                values = np.array([v.value for v in y], dtype=float)
                bars = np.array([[v.value - v.low for v in y], [v.high - v.value for v in y]], dtype=float)
                ax.errorbar(x, values, yerr=bars, marker="o", ms=4, capsize=3, label=name, color=color)
            else:
                ax.plot(x, np.asarray(y, dtype=float), marker="o", ms=4, label=name, color=color)
        for name, y in references.get(ylabel, {}).items():
            ax.axhline(y, color="black", ls="--", lw=1, label=name)
        shown_ylabel = ylabel if "\n" in ylabel else textwrap.fill(ylabel, max(20, int(size[1] * 9)))  # fits the axis' height
        ax.set(xlabel=xlabel, ylabel=shown_ylabel, xscale="log" if logx else "linear", yscale="log" if logy else "linear")
        ticks = sorted({float(value) for x, _ in series.values() for value in x})
        if logx and 0 < len(ticks) <= 12:  # label the measured x values plainly, not as 2x10^1, 3x10^1, ...
            shown = _spread_out([value for value in ticks if value > 0])
            ax.set_xticks(shown, [f"{value:g}" for value in shown])
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:  # an empty panel draws no empty legend (and no warning)
            ax.legend(fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
