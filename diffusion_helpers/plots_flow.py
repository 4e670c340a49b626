"""Figures of notebook 7 (flow matching): paths of 2D points from noise to data, side by side, up to
a chosen step (the time slider draws them). Part of dh.plots."""
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.collections import LineCollection

from .plots_points import _points_axis


def _check_trajectories(trajectories):
    if not isinstance(trajectories, dict) or not trajectories:
        raise ValueError("trajectories must be a dict {panel title: [x_start, ..., x_end]} of lists of (N, 2) tensors, "
                         f"got {type(trajectories).__name__}")
    for name, trajectory in trajectories.items():
        if not isinstance(trajectory, (list, tuple)) or len(trajectory) < 2 or \
                not all(isinstance(x, torch.Tensor) and x.dim() == 2 and x.shape[1] == 2 for x in trajectory):
            raise ValueError(f"trajectories[{name!r}] must be a list of at least two (N, 2) tensors (the states of a "
                             "sampler, as return_trajectory=True gives them)")


def plot_paths_2d(trajectories, data=None, num_paths=40, upto=None, limit=3.0, title=None, size=4.2, labels=None):
    """Paths of single 2D points through samplers, one panel a trajectory, drawn in the plane.

    Args:
        trajectories: {panel title: [x_start, ..., x_end]}, each a list of K + 1 tensors (N, 2) (the
            states of a sampler from noise to data, as ``return_trajectory=True`` gives them).
        data: real points (M, 2), drawn in grey behind the paths (where the paths should land), or None.
        num_paths: how many of the N points get their path drawn (the first ones).
        upto: a fraction in [0, 1] of each trajectory's steps to draw (1 or None: all of them);
            the whole cloud at that step is drawn too. The time slider of notebook 7 moves it.
        limit: the axes run from -limit to limit.
        labels: {panel title: text} shown in the panel's corner (e.g. its straightness), or None.
    Returns the Figure.
    """
    _check_trajectories(trajectories)
    if upto is not None and not 0.0 <= float(upto) <= 1.0:
        raise ValueError(f"upto must be a fraction in [0, 1] of the steps to draw (or None: all), got {upto!r}")
    fig, axes = plt.subplots(1, len(trajectories), figsize=(size * len(trajectories) + 0.8, size + 0.3), squeeze=False)
    lines = None
    for ax, (name, trajectory) in zip(axes[0], trajectories.items()):
        last = len(trajectory) - 1 if upto is None else int(round(float(upto) * (len(trajectory) - 1)))
        paths = torch.stack([x[:num_paths].detach().float().cpu() for x in trajectory[:last + 1]]).numpy()  # (k, P, 2)
        if data is not None:
            ax.scatter(*data.detach().cpu().T.numpy(), s=2, color="tab:gray", alpha=0.25, label="data")
        cloud = trajectory[last].detach().float().cpu().numpy()
        ax.scatter(cloud[:, 0], cloud[:, 1], s=2, color="tab:orange", alpha=0.3, zorder=1,
                   label=f"all points after {last} of {len(trajectory) - 1} steps")
        if last > 0:  # each step's segment coloured by when it is walked: dark at the noise, yellow at the data
            segments = np.stack([paths[:-1], paths[1:]], axis=2).reshape(-1, 2, 2)  # (k * P, 2 ends, 2)
            when = np.repeat(np.arange(last) / max(len(trajectory) - 2, 1), paths.shape[1])
            lines = ax.add_collection(LineCollection(segments, array=when, cmap="viridis", clim=(0, 1), lw=1.4, zorder=2))
        ax.scatter(paths[0, :, 0], paths[0, :, 1], s=10, color="black", zorder=3, label="start (noise)")
        ax.scatter(paths[-1, :, 0], paths[-1, :, 1], s=14, color="tab:red", zorder=3, label="where they are now")
        _points_axis(ax, limit, name)
        if labels and name in labels:
            ax.text(0.02, 0.02, labels[name], transform=ax.transAxes, fontsize=10, va="bottom",
                    bbox=dict(facecolor="white", alpha=0.8, edgecolor="none"))
        ax.legend(loc="upper right", fontsize=8, markerscale=2)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if lines is not None:
        fig.colorbar(lines, ax=list(axes[0]), shrink=0.8, pad=0.01, label="share of the steps walked (0: noise)")
    return fig


def plot_conditional_paths(paths, marks=None, limit=3.0, title=None, size=4.6):
    """One pair (x0, eps) at a time: the point x_t of each path family drawn from t = 0 (data, a
    square) to the end (noise, a circle), in one panel. ``paths``: {name: tensor (K, P, 2)}, K
    times of P pairs; ``marks``: how many of the K times get a dot (evenly spaced in the index, so
    the dots show how fast each path is walked), or None. Returns the Figure."""
    if not isinstance(paths, dict) or not paths:
        raise ValueError("paths must be a dict {name: tensor (K, P, 2)}")
    fig, ax = plt.subplots(figsize=(size, size))
    for index, (name, path) in enumerate(paths.items()):
        if not isinstance(path, torch.Tensor) or path.dim() != 3 or path.shape[2] != 2:
            raise ValueError(f"paths[{name!r}] must be a tensor (K, P, 2), got {getattr(path, 'shape', path)!r}")
        path, color = path.detach().float().cpu().numpy(), f"C{index}"
        style = dict(color=color, lw=1.5, ls=("-", "--", ":")[index % 3])
        marker = dict(marker=("o", "D", "x")[index % 3], markersize=(4, 7, 7)[index % 3],  # told apart where paths overlap
                      markerfacecolor=("auto", "none", "auto")[index % 3])
        ax.plot(path[:, :, 0], path[:, :, 1], **style)
        ax.plot([], [], label=name, **style, **(marker if marks else {}))
        if marks:
            chosen = np.linspace(0, len(path) - 1, marks).round().astype(int)
            ax.plot(path[chosen, :, 0], path[chosen, :, 1], ls="none", color=color, zorder=3 + index, **marker)
    first = next(iter(paths.values())).detach().float().cpu().numpy()
    ax.scatter(first[0, :, 0], first[0, :, 1], marker="s", s=50, color="black", zorder=4, label="x0 (data, t = 0)")
    ax.legend(loc="upper left", fontsize=8)
    _points_axis(ax, limit, title or "x_t from data to noise, one pair a line")
    fig.tight_layout()
    return fig
