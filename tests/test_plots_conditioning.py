"""Notebook 6's figures of conditioning: the class table with emb(t) + E_y, and the sizes at scale."""
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

import diffusion_helpers as dh  # noqa: E402
from diffusion_helpers import plots_conditioning  # noqa: E402


def test_the_sizes_are_the_products_of_their_shapes_and_the_latent_is_the_image_over_8_a_side():
    rows = dh.plots.sizes_at_scale(128)
    counts = {name.split(" (")[0]: math.prod(shape) for name, shape, _ in rows}
    assert list(counts.values()) == [784, 786_432, 16_384, 128, 59_136]
    image, latent = plots_conditioning.SD_IMAGE, plots_conditioning.SD_LATENT
    assert latent[:2] == (image[0] // 8, image[1] // 8) and plots_conditioning.SD_LATENT_FACTOR == 8
    assert [role for _, _, role in rows] == ["denoised"] * 3 + ["condition"] * 2
    with pytest.raises(ValueError, match="class_embedding_dim"):
        dh.plots.sizes_at_scale(0)


def test_the_sizes_figure_draws_areas_to_scale_and_writes_every_count():
    rows = dh.plots.sizes_at_scale(128)
    fig = dh.plots.plot_sizes_at_scale(rows)
    squares = [patch for ax in fig.axes[:2] for patch in ax.patches if isinstance(patch, Rectangle)]
    areas = sorted(patch.get_width() * patch.get_height() for patch in squares)
    assert np.allclose(areas, sorted(math.prod(shape) for _, shape, _ in rows))  # one scale: area = count
    texts = " ".join(text.get_text() for ax in fig.axes for text in ax.texts)
    for count in ("784", "786,432", "16,384", "128", "59,136"):
        assert f"= {count}" in texts
    bars = sorted(patch.get_width() for patch in fig.axes[2].patches)
    assert bars == sorted(math.prod(shape) for _, shape, _ in rows) and fig.axes[2].get_xscale() == "log"
    with pytest.raises(ValueError, match="role"):
        dh.plots.plot_sizes_at_scale([("x", (2, 2), "text")])
    plt.close("all")


def test_an_sd_like_vae_with_four_encoder_blocks_shrinks_8_times_a_side():
    """The factor 8 of SD 1.x's VAE: four encoder blocks (block_out_channels of length 4), a halving
    between each two, as diffusers builds AutoencoderKL (tiny channels here, the same structure)."""
    diffusers = pytest.importorskip("diffusers")
    vae = diffusers.AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                                  block_out_channels=(8, 8, 8, 8), layers_per_block=1, latent_channels=4,
                                  norm_num_groups=4)
    with torch.no_grad():
        latent = vae.encode(torch.zeros(1, 3, 64, 64)).latent_dist.mean
    assert latent.shape[1] == plots_conditioning.SD_LATENT[2] and 64 // latent.shape[-1] == plots_conditioning.SD_LATENT_FACTOR


def test_the_embedding_figure_draws_each_label_as_the_time_curve_moved_by_its_row():
    torch.manual_seed(0)
    table, time_embedding, timesteps = torch.randn(4, 16), torch.randn(50, 16).cumsum(0), torch.arange(50) * 20
    fig = dh.plots.plot_class_embedding(table, time_embedding, timesteps, [0, 2, 3], ["a", "b", "c", "null"],
                                        title="t")
    lines = [line for line in fig.axes[1].get_lines() if len(line.get_xdata()) == 50]
    alone = np.column_stack([lines[0].get_xdata(), lines[0].get_ydata()])
    for line in lines[1:]:  # emb(t) + E_y: every curve is the time's curve shifted by a constant
        shift = np.column_stack([line.get_xdata(), line.get_ydata()]) - alone
        assert np.allclose(shift, shift[0], atol=1e-4)
        assert np.abs(shift[0]).max() > 1e-3
    assert [label.get_text() for label in fig.axes[0].get_yticklabels()] == ["a", "b", "c", "null"]
    with pytest.raises(ValueError, match="share D"):
        dh.plots.plot_class_embedding(table, torch.randn(50, 8), timesteps, [0], ["a", "b", "c", "null"])
    with pytest.raises(ValueError, match="a name for each row"):
        dh.plots.plot_class_embedding(table, time_embedding, timesteps, [0], ["a", "b"])
    plt.close("all")
