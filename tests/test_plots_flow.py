"""Notebook 7's figures (plots_flow.py): titled panels, the slider's share of the steps, bad input named."""
import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import diffusion_helpers as dh  # noqa: E402
from diffusion_helpers import plots  # noqa: E402


def straight(k):  # 11 states of 30 points walking from noise to the moons in straight lines
    noise, data = torch.randn(30, 2, generator=torch.Generator().manual_seed(0)), dh.make_toy_2d("moons", 30)
    return [(1 - s) * noise + s * data for s in torch.linspace(0, 1, k)]


def test_paths_2d_draw_one_titled_panel_a_trajectory_up_to_the_chosen_share():
    paths = {"A": straight(11), "B": straight(11)}
    figure = plots.plot_paths_2d(paths, data=dh.make_toy_2d("moons", 100), num_paths=5, upto=0.5, title="paths",
                                 labels={"A": "length / distance: 1.000"})
    assert [ax.get_title() for ax in figure.axes[:2]] == ["A", "B"] and figure._suptitle.get_text() == "paths"
    segments = [collection for collection in figure.axes[0].collections if hasattr(collection, "get_segments")][0]
    assert len(segments.get_segments()) == 5 * 5  # 5 of the 10 steps walked, by 5 paths: half the steps
    assert any("after 5 of 10 steps" in text.get_text() for text in figure.axes[0].get_legend().get_texts())
    assert figure.axes[-1].get_ylabel().startswith("share of the steps walked")  # the colour bar
    plt.close(figure)
    for bad, match in (({"A": [torch.zeros(3, 2)]}, "at least two"), ({"A": [torch.zeros(3, 3)] * 2}, r"\(N, 2\)"),
                       ([torch.zeros(3, 2)] * 2, "dict")):
        with pytest.raises(ValueError, match=match):
            plots.plot_paths_2d(bad)
    with pytest.raises(ValueError, match="upto"):
        plots.plot_paths_2d(paths, upto=1.5)


def test_conditional_paths_draw_each_family_with_its_legend():
    t = torch.linspace(0, 1, 50)[:, None, None]
    x0, eps = torch.zeros(1, 3, 2), torch.ones(1, 3, 2)
    figure = plots.plot_conditional_paths({"straight": (1 - t) * x0 + t * eps, "curved": (1 - t) ** 2 * x0 + t.sqrt() * eps},
                                          marks=5, title="pairs")
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert labels[:2] == ["straight", "curved"] and figure.axes[0].get_title() == "pairs"
    plt.close(figure)
    with pytest.raises(ValueError, match=r"\(K, P, 2\)"):
        plots.plot_conditional_paths({"bad": torch.zeros(5, 2)})
