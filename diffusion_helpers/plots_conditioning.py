"""Notebook 6's figures of conditioning: the class-embedding table and the embedding of (t, y) that
every block receives; and where it goes at scale, the sizes of what a denoiser works on and of what
tells it what to draw, ours beside Stable Diffusion 1.x's. Part of dh.plots."""
import math

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle
import numpy as np
import torch

from ._checks import check_int

# Stable Diffusion 1.x (Rombach et al. 2022), as diffusers loads it from the Hub's stable-diffusion-v1-5
# (CompVis/stable-diffusion-v1-4's vae/config.json holds the same numbers):
SD_IMAGE = (512, 512, 3)  # vae/config.json "sample_size": 512, "in_channels": 3 (RGB)
SD_LATENT_FACTOR = 8      # vae/config.json: 4 encoder blocks (block_out_channels [128, 256, 512, 512]), a halving
#                           between each two: 2^(4-1) = 8 a side, diffusers' vae_scale_factor in StableDiffusionPipeline
SD_LATENT = (SD_IMAGE[0] // SD_LATENT_FACTOR, SD_IMAGE[1] // SD_LATENT_FACTOR, 4)  # vae "latent_channels": 4; unet/config.json
#                           "sample_size": 64, "in_channels": 4; the paper's LDM-8 (f = 8), c = 4
CLIP_TEXT = (77, 768)     # the text encoder openai/clip-vit-large-patch14 (CLIP ViT-L/14): text_encoder/config.json
#                           "max_position_embeddings": 77, "hidden_size": 768; tokenizer "model_max_length": 77;
#                           unet "cross_attention_dim": 768: every prompt is padded to 77 tokens of 768 numbers


def sizes_at_scale(class_embedding_dim, digit_shape=(28, 28, 1)):
    """The rows of ``plot_sizes_at_scale``: (name, shape, role) with role "denoised" (what the
    diffusion runs on) or "condition" (what tells it what to draw): our digit, SD 1.x's image and
    its latent; our class embedding's row (``class_embedding_dim`` numbers, one row of the table),
    CLIP ViT-L/14's embedding of a prompt (77 tokens x 768)."""
    check_int("class_embedding_dim", class_embedding_dim, low=1)
    return [("our digit (pixels)", tuple(digit_shape), "denoised"),
            ("SD 1.x image (pixels)", SD_IMAGE, "denoised"),
            (f"SD 1.x latent (VAE, 1/{SD_LATENT_FACTOR} a side)", SD_LATENT, "denoised"),
            ("our class row (added to emb(t))", (1, class_embedding_dim), "condition"),
            ("SD 1.x prompt, CLIP ViT-L/14\n(read by cross-attention)", CLIP_TEXT, "condition")]


def _shape_text(shape):
    return "×".join(str(side) for side in shape) + f" = {math.prod(shape):,}"


def plot_sizes_at_scale(rows, title="Where it goes at scale: what a denoiser works on, and what tells it what to draw"):
    """Top: each row's numbers as a square of that area, all on one scale, nested from a common corner:
    on the left what the diffusion runs on, on the right what tells it what to draw; bottom: the same
    counts as bars on a log scale. Each carries its shape and count. ``rows``: (name, shape, role) as
    ``sizes_at_scale`` gives, role "denoised" or "condition"."""
    colors = {"denoised": "tab:blue", "condition": "tab:orange"}
    for name, shape, role in rows:
        if role not in colors:
            raise ValueError(f"the role of {name!r} must be one of {sorted(colors)}, got {role!r}")
    largest = max(math.sqrt(math.prod(shape)) for _, shape, _ in rows)
    fig = plt.figure(figsize=(13, 10.5))
    grid = fig.add_gridspec(2, 2, height_ratios=[1.15, 1])
    headings = {"denoised": "what the diffusion runs on", "condition": "what tells it what to draw"}
    for column, role in enumerate(colors):
        ax = fig.add_subplot(grid[0, column])
        mine = sorted([row for row in rows if row[2] == role], key=lambda row: -math.prod(row[1]))
        pointed = 0  # labels placed so far in the free space: the larger square higher up, arrows apart
        for index, (name, shape, _) in enumerate(mine):
            side = math.sqrt(math.prod(shape))
            ax.add_patch(Rectangle((0, 0), side, side, facecolor=colors[role], edgecolor="black", lw=0.8,
                                   alpha=0.3 if index == 0 else 0.9))
            text = f"{name}\n{_shape_text(shape)}"
            if index == 0 and side > 0.5 * largest:  # a large square holds its own label
                ax.text(side / 2, 0.97 * side, text, ha="center", va="top", fontsize=10)
            else:  # a smaller one is pointed at from the free space above and to the right
                where = (max(side, 0.15 * largest) + 0.1 * largest, (0.6 - 0.22 * pointed) * largest)
                ax.annotate(text, xy=(side, side), xytext=where, fontsize=10, va="bottom",
                            arrowprops=dict(arrowstyle="->", lw=0.8, color="black", relpos=(0, 0)))
                pointed += 1
        ax.set_xlim(-0.02 * largest, 1.02 * largest)
        ax.set_ylim(-0.02 * largest, 1.02 * largest)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{headings[role]}: areas to scale\n(one scale in both panels)", fontsize=11)
    bottom = fig.add_subplot(grid[1, :])
    counts = [math.prod(shape) for _, shape, _ in rows]
    positions = np.arange(len(rows))[::-1]
    bottom.barh(positions, counts, color=[colors[role] for _, _, role in rows], alpha=0.8)
    for position, (_, shape, _), count in zip(positions, rows, counts):
        bottom.text(count * 1.2, position, _shape_text(shape), va="center", fontsize=10)
    bottom.set_yticks(positions, [name.replace("\n", " ") for name, _, _ in rows], fontsize=10)
    bottom.set_xscale("log")
    bottom.set_xlim(10, 40 * max(counts))
    bottom.set_xlabel("numbers in the tensor (log scale)")
    bottom.set_title("the same counts on a log scale (blue: what the diffusion runs on; orange: what tells it "
                     "what to draw)", fontsize=11)
    bottom.grid(axis="x", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_class_embedding(table, time_embedding, timesteps, shown, row_names, title=None):
    """Left: the class-embedding table E ((classes + 1) x d_emb: one row a class, the last for the null
    label) as an image. Right: emb(t, y) = emb(t) + E[y] over ``timesteps`` for the rows ``shown``,
    projected on the two principal directions of all those points: each label's curve is the time's
    curve moved by its own row, the same shift at every t. ``time_embedding``: emb(t) (len(timesteps), d_emb);
    ``row_names``: a name for each row of the table."""
    table = torch.as_tensor(table).detach().float().cpu()
    time_embedding = torch.as_tensor(time_embedding).detach().float().cpu()
    if table.dim() != 2 or time_embedding.dim() != 2 or time_embedding.shape[1] != table.shape[1]:
        raise ValueError(f"table (rows, D) and time_embedding (len(timesteps), D) must share D, got "
                         f"{tuple(table.shape)} and {tuple(time_embedding.shape)}")
    if len(row_names) != len(table) or len(timesteps) != len(time_embedding):
        raise ValueError("row_names needs a name for each row of the table, and timesteps one t for each row of "
                         f"time_embedding: got {len(row_names)} names for {len(table)} rows and {len(timesteps)} "
                         f"timesteps for {len(time_embedding)}")
    curves = {row_names[row]: time_embedding + table[row] for row in shown}
    points = torch.cat([time_embedding, *curves.values()])
    mean = points.mean(0)
    directions = torch.linalg.svd(points - mean, full_matrices=False).Vh[:2]  # the two principal directions
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.2), gridspec_kw={"width_ratios": [1.25, 1]})
    limit = float(table.abs().max())
    image = left.imshow(table.numpy(), aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    left.set_yticks(range(len(row_names)), row_names)
    left.set(xlabel=f"embedding dimension ({table.shape[1]} numbers a row)", ylabel="row of the table (the label y)",
             title=f"the class-embedding table E, {table.shape[0]} x {table.shape[1]}")
    fig.colorbar(image, ax=left, fraction=0.04, pad=0.02, label="value")
    alone = ((time_embedding - mean) @ directions.T).numpy()
    right.plot(alone[:, 0], alone[:, 1], color="gray", ls="--", lw=1.5, label="emb(t) alone (never given to the model)")
    for index, (name, curve) in enumerate(curves.items()):
        projected = ((curve - mean) @ directions.T).numpy()
        color = "black" if name == row_names[-1] else f"C{index % 10}"
        right.plot(projected[:, 0], projected[:, 1], color=color, lw=2, label=f"y = {name}")
        right.plot(*projected[0], "o", color=color, ms=6)
        right.plot(*projected[-1], "s", color=color, ms=6)
    right.set(xlabel="first principal direction", ylabel="second principal direction",
              title=f"emb(t) + E[y] for t from {int(timesteps[0])} (circle) to {int(timesteps[-1])} (square)")
    right.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5))
    right.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
