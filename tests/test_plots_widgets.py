"""Every plotting helper draws a titled figure; interactive figures draw once and redraw in place."""
import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import pytest  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import diffusion_helpers as dh  # noqa: E402
from diffusion_helpers import plots, widgets  # noqa: E402


def titles(figure):
    texts = [ax.get_title() for ax in figure.axes] + [figure._suptitle.get_text() if figure._suptitle else ""]
    return [text for text in texts if text]


def test_figures_have_titles_and_labels(tmp_path):
    points = dh.make_toy_2d("moons", 200)
    figures = [
        plots.show_images(torch.rand(10, 1, 8, 8) * 2 - 1, nrow=5, title="digits"),
        plots.show_image_grid({"linear": torch.zeros(3, 3, 8, 8), "cosine": torch.ones(3, 3, 8, 8)}, ["a", "b", "c"], "grid"),
        plots.plot_schedules({"linear": dh.NoiseSchedule("linear", 100), "cosine": dh.NoiseSchedule("cosine", 50)}, t=10),
        plots.scatter_points({"data": points, "noise": torch.randn(200, 2)}, title="clouds"),
        plots.plot_vector_fields({"field": -points}, points, title="field"),
        plots.plot_paths([torch.randn(40, 2) * (1 - k / 10) for k in range(10)], num_paths=5, data=points),
        plots.plot_losses([1.0 / (i + 1) for i in range(200)], reference={"zero predictor": 1.0}),
        plots.plot_histograms({"a": {"x": torch.randn(500), "y": torch.randn(500)}}, density=lambda g: g * 0, title="hist"),
        plots.plot_training_dashboard([1.0 / (i + 1) for i in range(80)], torch.rand(7, 1, 8, 8) * 2 - 1, title="run"),
        plots.plot_class_histograms({"a": {"histogram": [0.5, 0.5], "confident": 0.9},
                                     "b": {"histogram": [0.2, 0.8], "confident": 0.4}}),
        plots.plot_lines({"Frechet": {"DDIM": ([10, 50], [9.0, 4.0]), "UniPC": ([10], [5.0])}, "share": {}},
                         "model calls", title="lines", logx=True, references={"Frechet": {"real": 2.0}}),
    ]
    for index, figure in enumerate(figures):
        assert titles(figure), f"figure {index} has no title"
        figure.savefig(tmp_path / f"{index}.png")
        assert (tmp_path / f"{index}.png").stat().st_size > 1000
        plt.close(figure)
    labelled = plots.plot_losses([1.0, 0.5])
    assert labelled.axes[0].get_xlabel() and labelled.axes[0].get_ylabel()
    lines = plots.plot_lines({"Frechet": {"DDIM": ([10, 50], [9.0, 4.0])}}, "model calls", references={"Frechet": {"real": 2}})
    assert lines.axes[0].get_xlabel() == "model calls" and lines.axes[0].get_ylabel() == "Frechet"
    assert len(lines.axes[0].lines) == 2  # the series and the reference line
    two = plots.plot_lines({"a": {"DDPM": ([1], [1.0]), "DDIM": ([1, 2], [1.0, 2.0])}, "b": {"DDIM": ([1, 2], [3.0, 4.0])}},
                           "steps")
    assert two.axes[0].lines[1].get_color() == two.axes[1].lines[0].get_color(), "DDIM keeps its colour in every panel"
    measured = {"share": {"DDIM": ([10, 20], [dh.share_estimate(0.8, 64), dh.share_estimate(0.9, 64)])}}
    bars = plots.plot_lines(measured, "model calls")
    assert len(bars.axes[0].containers) == 1, "measured values are drawn with error bars"
    report = {"histogram": [0.5, 0.5], "digit_histogram": [0.3, 0.2], "digit": 0.5, "noise": 0.4, "blank": 0.1,
              "confident": 0.4}
    kinds = plots.plot_class_histograms({"a": report})
    assert [tick.get_text() for tick in kinds.axes[0].get_xticklabels()] == ["0", "1", "noise", "blank"]
    legend = [text.get_text() for text in kinds.axes[0].get_legend().get_texts()]
    assert "a: 50% digits (40% confident), 40% noise, 10% blank" in legend
    plt.close("all")


def test_animation_is_offline_html():
    frames = [torch.randn(50, 2) * (1 - k / 5) for k in range(5)]
    html = plots.animate_points(frames, [f"step {k}" for k in range(5)])
    assert "<script" in html.data and "base64" in html.data.replace("data:image/png;base64", "base64")
    assert plots.pick_frames(list(range(1001)), 5) == [0, 250, 500, 750, 1000]


def test_interactive_draws_once_then_redraws_on_change(monkeypatch):
    shown, updated, calls = [], [], []

    class Handle:
        def update(self, figure):
            updated.append(figure)

    def fake_display(obj, display_id=None):
        shown.append(obj)
        return Handle() if display_id else None

    monkeypatch.setattr(widgets, "display", fake_display)

    def draw(t, name):
        calls.append((t, name))
        figure, ax = plt.subplots()
        ax.set_title(f"{name} at t={t}")
        return figure

    slider = widgets.int_slider("t", 5, 0, 10)
    box = widgets.interactive(draw, t=slider, name=widgets.dropdown("schedule", ["linear", "cosine"]))
    assert calls == [(5, "linear")] and isinstance(shown[0], ipywidgets.VBox) and box is shown[0]
    slider.value = 7
    assert calls[-1] == (7, "linear") and len(updated) == 1


def test_interactive_refuses_non_widgets():
    import pytest
    with pytest.raises(TypeError, match="t"):
        widgets.interactive(lambda t: None, t=3)


def test_live_figure_displays_once_then_updates(monkeypatch):
    shown, updated = [], []

    class Handle:
        def update(self, figure):
            updated.append(figure)

    monkeypatch.setattr(widgets, "display", lambda obj, display_id=None: shown.append(obj) or Handle())
    live = widgets.LiveFigure(lambda state: plots.plot_losses(state.losses))
    result = dh.train(dh.MLPDenoiser(hidden_dim=8), dh.NoiseSchedule("linear", 20), torch.randn(50, 2),
                      steps=25, callback=live, callback_every=10, progress=False)
    assert len(shown) == 1 and len(updated) == 2 and len(result.losses) == 25


@pytest.mark.parametrize("images, words", [
    (torch.zeros(0, 1, 28, 28), "holds no images"),
    (torch.zeros(4, 28, 28, 1), "channels last? use images.permute(0, 3, 1, 2)"),
    (torch.zeros(28, 28), "(B, C, H, W) with C = 1 or 3"),
    (torch.full((4, 1, 28, 28), 255.0), "images must be images in [-1, 1], the series' range, got values from 255"),
    (torch.full((4, 1, 28, 28), float("nan")), "images hold NaN or inf values"),
])
def test_show_images_refuses_what_it_cannot_draw(images, words):
    with pytest.raises(ValueError) as info:
        plots.show_images(images)
    assert words in str(info.value)


def test_scatter_classes_draws_a_row_per_class_and_a_column_per_cloud(tmp_path):
    points, labels = dh.make_toy_classes(300)
    clouds = {"data": points, "s = 3": 1.5 * points}
    figure = plots.scatter_classes(clouds, labels, dh.TOY_CLASS_NAMES, dh.toy_class_outlines(), title="classes")
    axes = [ax for ax in figure.axes]
    assert len(axes) == 6 and titles(figure)[:2] == ["data", "s = 3"]
    for row, name in enumerate(dh.TOY_CLASS_NAMES):
        for column, cloud in enumerate(clouds.values()):
            ax = axes[row * 2 + column]
            others, mine = (collection.get_offsets() for collection in ax.collections)
            assert torch.allclose(torch.as_tensor(mine), cloud[labels == row].double()), f"{name}: its own points in colour"
            assert len(others) == int((labels != row).sum())
            assert len(ax.lines) == len(dh.toy_class_outlines()[name]), "the class's true shape is drawn over it"
        assert name in axes[row * 2].get_ylabel()
    figure.savefig(tmp_path / "classes.png")
    plt.close(figure)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\]"):
        plots.scatter_classes(clouds, labels + 1, dh.TOY_CLASS_NAMES)
    with pytest.raises(ValueError, match=r"clouds\['s = 3'\] must have shape \(300, 2\)"):
        plots.scatter_classes({"s = 3": points[:10]}, labels, dh.TOY_CLASS_NAMES)


def test_guidance_fields_colour_the_zoom_by_the_outward_direction(tmp_path):
    axis = torch.linspace(-2, 2, 9)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), dim=-1).reshape(-1, 2)
    zoom = torch.stack(torch.meshgrid(torch.linspace(-1, 1, 6), torch.linspace(-1, 1, 6), indexing="xy"), -1).reshape(-1, 2)
    figure = plots.plot_guidance_fields(-grid, -grid + 0.1 * grid, grid, zoom, zoom, limit=2, zoom_limit=1,
                                        outline=dh.toy_class_outlines()["square"][0], class_name="square", title="fields")
    panels = [ax for ax in figure.axes if ax.get_title()]
    assert len(panels) == 4 and "grad log p(square | x)" in panels[2].get_title()
    outward = panels[3].collections[0].get_array()
    assert outward.min() == pytest.approx(1.0), "a field pointing along x / |x| is coloured +1 everywhere"
    figure.savefig(tmp_path / "fields.png")
    plt.close(figure)
    inward = plots.plot_guidance_fields(-grid, -grid, grid, -zoom, zoom, limit=2, zoom_limit=1)
    assert [ax for ax in inward.axes if ax.get_title()][3].collections[0].get_array().max() == pytest.approx(-1.0)
    plt.close(inward)
    with pytest.raises(ValueError, match=r"zoom_difference must have shape \(36, 2\)"):
        plots.plot_guidance_fields(-grid, -grid, grid, zoom[:5], zoom)


def test_int_range_slider_holds_a_pair():
    slider = widgets.int_range_slider("guided at t in", (170, 880), 0, 999)
    assert isinstance(slider, ipywidgets.IntRangeSlider) and slider.value == (170, 880)
    assert not slider.continuous_update
