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


CLASS_COLOURS = ("#7b3294", "#1b7837", "#e66101")  # purple, green, orange: apart for colour-blind eyes too


def scatter_classes(clouds, labels, class_names, outlines=None, limit=2.5, size=2.3, title=None):
    """A grid of scatter plots: a row per class, a column per point cloud, so that each class reads
    on its own in every cloud. In each panel the class's points are drawn in its colour over the
    other classes' points (light grey, where "the others" live) and its true shape (``outlines``).

    Args:
        clouds: {column title: points (N, 2)}, e.g. the data and the samples at each guidance scale.
        labels: (N,) the class of each point, the same in every cloud (integers 0 .. K-1).
        class_names: K names, the rows' titles, in label order.
        outlines: {class name: list of polylines (M, 2)} drawn over that class's row, e.g.
            ``dh.toy_class_outlines()``; None draws none.
    """
    labels = labels.detach().cpu()
    names = list(class_names)
    if len(names) > len(CLASS_COLOURS):
        raise ValueError(f"class_names: at most {len(CLASS_COLOURS)} classes can be told apart here, got {len(names)}")
    if int(labels.min()) < 0 or int(labels.max()) >= len(names):
        raise ValueError(f"labels must lie in [0, {len(names) - 1}] (one of class_names {names}), got "
                         f"{int(labels.min())} to {int(labels.max())}")
    fig, axes = plt.subplots(len(names), len(clouds), figsize=(size * len(clouds), size * len(names) + 0.7),
                             squeeze=False, sharex=True, sharey=True, layout="constrained")
    for column, (panel, points) in enumerate(clouds.items()):
        points = points.detach().cpu()
        if points.shape != (len(labels), 2):
            raise ValueError(f"clouds[{panel!r}] must have shape ({len(labels)}, 2), one point a label; got "
                             f"{tuple(points.shape)}")
        for row, name in enumerate(names):
            ax, mine = axes[row, column], labels == row
            ax.scatter(points[~mine, 0], points[~mine, 1], s=2, color="0.85", rasterized=True)
            ax.scatter(points[mine, 0], points[mine, 1], s=3, alpha=0.7, color=CLASS_COLOURS[row], rasterized=True)
            for line in (outlines or {}).get(name, []):
                ax.plot(line[:, 0], line[:, 1], color="black", lw=1.0, ls="--")
            ax.set_xlim(-limit, limit)
            ax.set_ylim(-limit, limit)
            ax.set_aspect("equal")
            ax.grid(alpha=0.2)
            if row == 0:
                ax.set_title(panel, fontsize=12)
            if row == len(names) - 1:
                ax.set_xlabel("$x_1$")
            if column == 0:
                ax.set_ylabel(f"{name}\n$x_2$", fontsize=12, color=CLASS_COLOURS[row])
    if title:
        fig.suptitle(title)
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


def _arrows(ax, grid, vectors, colour, cmap, norm, length):
    """Arrows of one ``length`` (directions only) at ``grid`` (G, 2), coloured by ``colour`` (G,)."""
    directions = vectors / vectors.norm(dim=1, keepdim=True).clamp(min=1e-12)
    return ax.quiver(grid[:, 0], grid[:, 1], *(length * directions).T, colour, cmap=cmap, norm=norm, angles="xy",
                     scale_units="xy", scale=1, width=0.009, headwidth=3.5, headlength=4, headaxislength=3.5)


def plot_guidance_fields(score_null, score_class, grid, zoom_difference, zoom_grid, limit=2.5, zoom_limit=1.2,
                         outline=None, class_name="the class", title=None, size=4.3):
    """Classifier-free guidance's fields in 2D, four panels: the unconditional score and the class's
    score (their lengths on one colour scale), their difference grad log p(y | x) = score_class -
    score_null on its own colour scale (it is many times shorter), and that difference again on a
    finer grid inside ``zoom_limit``, each arrow coloured by its cosine with the outward direction
    x / |x| (red: away from the centre, blue: towards it).

    Args:
        score_null, score_class: (G, 2) vectors at ``grid`` (G, 2), a square grid over [-limit, limit]^2.
        zoom_difference: (Z, 2) the difference at ``zoom_grid`` (Z, 2), a square grid over [-zoom_limit, zoom_limit]^2.
        outline: a polyline (M, 2) drawn in every panel, e.g. the class's true shape; None draws none.
    Every arrow has one length: colour carries the length (or, in the zoom, the direction's outward part).
    """
    from matplotlib.colors import ListedColormap, LogNorm, Normalize

    score_null, score_class, grid = (v.detach().cpu().double() for v in (score_null, score_class, grid))
    zoom_difference, zoom_grid = zoom_difference.detach().cpu().double(), zoom_grid.detach().cpu().double()
    for name, vectors, where in (("score_null", score_null, grid), ("score_class", score_class, grid),
                                 ("zoom_difference", zoom_difference, zoom_grid)):
        if vectors.shape != where.shape or vectors.shape[-1] != 2:
            raise ValueError(f"{name} must have shape {tuple(where.shape)}, one 2D vector a grid point; got "
                             f"{tuple(vectors.shape)}")
    difference = score_class - score_null
    fig, axes = plt.subplots(2, 2, figsize=(2 * size + 1.6, 2 * size + 0.4), layout="constrained")
    step, zoom_step = 2 * limit / len(grid) ** 0.5, 2 * zoom_limit / len(zoom_grid) ** 0.5
    lengths = torch.cat([score_null.norm(dim=1), score_class.norm(dim=1)]).clamp(min=1e-6)
    score_norm = LogNorm(lengths.quantile(0.02).item(), lengths.quantile(0.98).item(), clip=True)
    difference_length = difference.norm(dim=1).clamp(min=1e-6)
    difference_norm = LogNorm(difference_length.quantile(0.02).item(), difference_length.quantile(0.98).item(), clip=True)
    light = ListedColormap(plt.get_cmap("plasma")(np.linspace(0.15, 0.9, 256)))  # no near-black end: every arrow shows
    panels = [(axes[0, 0], score_null, "unconditional score", score_norm),
              (axes[0, 1], score_class, f"score of {class_name}", score_norm),
              (axes[1, 0], difference, f"difference: grad log p({class_name} | x)", difference_norm)]
    for ax, vectors, panel, norm in panels:
        arrows = _arrows(ax, grid, vectors, vectors.norm(dim=1).clamp(min=1e-6), light, norm, 0.8 * step)
        _points_axis(ax, limit, panel)
        if outline is not None:
            ax.plot(outline[:, 0], outline[:, 1], color="black", lw=1.0, ls="--")
        if ax is axes[0, 1]:
            fig.colorbar(arrows, ax=list(axes[0]), label="length of the score", shrink=0.9)
        if ax is axes[1, 0]:
            fig.colorbar(arrows, ax=ax, label="length of the difference", shrink=0.9)
    ax = axes[1, 1]
    radius = zoom_grid.norm(dim=1, keepdim=True).clamp(min=1e-12)
    outward = (zoom_difference * zoom_grid / radius).sum(1) / zoom_difference.norm(dim=1).clamp(min=1e-12)
    arrows = _arrows(ax, zoom_grid, zoom_difference, outward, "coolwarm", Normalize(-1, 1), 0.8 * zoom_step)
    _points_axis(ax, zoom_limit, "the difference, zoomed in\n(red: away from the centre)")
    if outline is not None:
        ax.plot(outline[:, 0], outline[:, 1], color="black", lw=1.0, ls="--")
    fig.colorbar(arrows, ax=ax, label="cosine with the outward direction x / |x|", shrink=0.9)
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
