"""Figures of 2D point clouds (notebook 3): scatter plots, vector fields, paths, animations.
Part of ``dh.plots``: call them as ``plots.scatter_points(...)``."""
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import animation

from ._checks import check_mapping


def _points_axis(ax, limit, title):
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title, fontsize=12)
    ax.grid(alpha=0.2)


def scatter_points(clouds, limit=3.0, title=None, size=3.6, labels=None):
    """A row of scatter plots, one a point cloud: ``clouds`` maps a panel title to points (N, 2).
    ``labels`` (N,), if given, colours the points of every panel by class."""
    check_mapping("clouds", clouds, '{"data": points (N, 2)}')
    for panel, points in clouds.items():
        if not isinstance(points, torch.Tensor) or points.dim() != 2 or points.shape[1] != 2:
            raise ValueError(f"clouds[{panel!r}] must be points, a tensor (N, 2), got "
                             f"{getattr(points, 'shape', type(points).__name__)}")
    fig, axes = plt.subplots(1, len(clouds), figsize=(size * len(clouds), size + 0.6), squeeze=False)
    for ax, (panel, points) in zip(axes[0], clouds.items()):
        points = points.detach().cpu()
        colour = None if labels is None else labels.cpu()
        ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.6, c=colour, cmap="viridis" if labels is not None else None)
        _points_axis(ax, limit, panel)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_vector_fields(fields, grid, limit=3.0, title=None, size=3.8, background=None):
    """A row of quiver plots: ``fields`` maps a panel title to vectors (G, 2) at ``grid`` (G, 2).
    Arrows show directions (all one length); colour shows the vector's length, log scale.
    ``background`` (N, 2) draws faint data points behind every panel."""
    from matplotlib.colors import LogNorm

    check_mapping("fields", fields, '{"score": vectors (G, 2)}')
    fig, axes = plt.subplots(1, len(fields), figsize=(size * len(fields) + 1.2, size + 0.6), squeeze=False,
                             layout="constrained")
    grid = grid.detach().cpu()
    spacing = 2 * limit / (len(grid) ** 0.5)
    lengths = {panel: vectors.detach().cpu().norm(dim=1).clamp(min=1e-6) for panel, vectors in fields.items()}
    every_length = torch.cat(list(lengths.values()))
    norm = LogNorm(every_length.quantile(0.02).item(), every_length.quantile(0.98).item(), clip=True)
    for ax, (panel, vectors) in zip(axes[0], fields.items()):
        if background is not None:
            ax.scatter(background[:, 0].cpu(), background[:, 1].cpu(), s=1, alpha=0.3, color="tab:gray")
        directions = vectors.detach().cpu() / lengths[panel][:, None]
        arrows = ax.quiver(grid[:, 0], grid[:, 1], *(0.8 * spacing * directions).T, lengths[panel], cmap="plasma",
                           norm=norm, angles="xy", scale_units="xy", scale=1, width=0.006)
        _points_axis(ax, limit, panel)
    fig.colorbar(arrows, ax=list(axes[0]), label="length of the vector", shrink=0.85)
    if title:
        fig.suptitle(title)
    return fig


def plot_paths(trajectory, num_paths=20, data=None, title="Paths of single points through the reverse process"):
    """Each coordinate of ``num_paths`` points against the step, through a trajectory (a list of
    (N, 2) tensors, x_T first); ``data`` (M, 2), if given, is drawn as a histogram at the right
    end, where the paths should land."""
    if not isinstance(trajectory, (list, tuple)) or not trajectory:
        raise ValueError("trajectory must be a non-empty list of (N, 2) tensors, x_T first (as return_trajectory=True "
                         f"gives it), got {type(trajectory).__name__}")
    paths = torch.stack([x[:num_paths].detach().cpu() for x in trajectory])  # (steps + 1, num_paths, 2)
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.2), sharey=True)
    steps = np.arange(len(trajectory))
    for coordinate, ax in enumerate(axes):
        ax.plot(steps, paths[:, :, coordinate], lw=0.8, alpha=0.8)
        if data is not None:
            counts, edges = np.histogram(data[:, coordinate].cpu().numpy(), bins=60)
            width = 0.12 * len(steps) * counts / counts.max()
            ax.barh(edges[:-1], width, height=np.diff(edges), left=len(steps), color="tab:gray", alpha=0.5,
                    align="edge", label="data")
            ax.legend(loc="upper left", fontsize=9)
        ax.set_xlabel("reverse steps done (0 = pure noise)")
        ax.set_ylabel(f"coordinate $x_{coordinate + 1}$")
        ax.set_title(f"coordinate $x_{coordinate + 1}$ of {num_paths} points")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def animate_points(frames, frame_titles, limit=3.0, title="Reverse diffusion", interval=80):
    """An HTML/JavaScript animation (works offline, no ffmpeg) of point clouds ``frames``, a list
    of (N, 2) tensors, each with its title. Returns an IPython HTML object."""
    from IPython.display import HTML

    fig, ax = plt.subplots(figsize=(5, 5))
    scatter = ax.scatter(*frames[0].cpu().T, s=3, alpha=0.6)
    _points_axis(ax, limit, frame_titles[0])
    fig.suptitle(title)

    def update(index):
        scatter.set_offsets(frames[index].cpu().numpy())
        ax.set_title(frame_titles[index], fontsize=12)
        return (scatter,)

    movie = animation.FuncAnimation(fig, update, frames=len(frames), interval=interval, blit=False)
    html = HTML(movie.to_jshtml(default_mode="once"))
    plt.close(fig)
    return html


def pick_frames(trajectory, count=40):
    """``count`` evenly spaced indices into a trajectory list (first and last included)."""
    return sorted(set(np.linspace(0, len(trajectory) - 1, min(count, len(trajectory))).round().astype(int).tolist()))
