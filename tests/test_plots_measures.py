"""A student's numbers beside the reference run: the line naming both runs, and dashed reference lines."""
import matplotlib

matplotlib.use("Agg")

import diffusion_helpers as dh  # noqa: E402
from diffusion_helpers.references import Reference  # noqa: E402

REFERENCE = Reference({}, {"quick": False, "date": "2026-12-06", "device": "CPU (2 cores)", "torch": "2.9",
                           "commit": "abcdef0123"})


def test_run_line_names_both_runs_or_says_none_shipped(monkeypatch):
    monkeypatch.setenv("DIFFUSION_QUICK", "1")
    assert dh.plots.run_line(None, "64 digits") == "your run: 64 digits, quick mode; no reference run shipped yet"
    line = dh.plots.run_line(REFERENCE, "64 digits", "500 digits")
    assert line == ("your run: 64 digits, quick mode; reference: 500 digits, full mode, 2026-12-06, CPU (2 cores), "
                    "torch 2.9, commit abcdef0")


def test_reference_lines_are_drawn_dashed_beside_and_in_panels_only_the_reference_has():
    mine = {"confident": {"ddim": ([10, 20], [dh.share_estimate(0.8, 64), dh.share_estimate(0.9, 64)])}}
    theirs = {"confident": {"ddim": ([10, 20, 50], [dh.share_estimate(p, 500)._asdict() for p in (0.8, 0.88, 0.9)])},
              "frechet": {"ddim": ([10, 50], [40.0, 20.0])}}
    fig = dh.plots.plot_lines_beside(mine, theirs, "model calls", "a caption", title="t", logx=True)
    assert len(fig.axes) == 2
    dashed = [line for ax in fig.axes for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert dashed and "a caption" in fig._suptitle.get_text()
    labels = [text.get_text() for text in fig.axes[1].get_legend().get_texts()]
    assert labels == ["reference run (dashed)"]
    alone = dh.plots.plot_lines_beside(mine, None, "model calls", "no reference")
    assert len(alone.axes) == 1
    matplotlib.pyplot.close("all")


def test_series_nudged_apart_stay_near_their_x_and_log_ticks_do_not_run_together():
    """Bars at one x sit side by side, but no point strays a quarter of the way to the next x (six
    series over scales 0..7.5 once put s = 1 at 0.75); every series moves, bars or not, so a series
    keeps one place in every panel; log-axis tick labels are at least a factor 1.4 apart."""
    import numpy as np
    from diffusion_helpers.plots import _nudged
    from diffusion_helpers.plots import _spread_out

    scales = np.array([0.0, 1.0, 1.5, 2.0, 3.0, 7.5])
    moved = [_nudged(scales, index, 6, False, scales) for index in range(6)]
    assert all(np.abs(m - scales).max() <= 0.25 * 0.5 + 1e-12 for m in moved)  # a quarter of the smallest gap, 0.5
    assert len({round(float(m[1]), 9) for m in moved}) == 6, "six series at one x must sit apart"
    calls = np.array([5.0, 10.0, 20.0, 50.0])
    for index in range(3):
        ratio = _nudged(calls, index, 3, True, calls) / calls
        assert np.all(np.abs(np.log(ratio)) <= 0.25 * np.log(2) + 1e-12)
    assert _nudged(scales, 0, 1, False, scales) is scales
    assert _spread_out([5, 10, 15, 20, 25, 50, 100]) == [5, 10, 15, 25, 50, 100]


def test_a_long_y_label_is_wrapped_to_the_axis_height_and_stays_inside_the_figure():
    """A y label longer than the axis is tall ran past the figure's top into the title (notebook 4's
    clipping figure); it is wrapped onto lines, and every line of it lies within the figure."""
    long_label = "gradient norm before clipping (largest in each chunk)"
    fig = dh.plots.plot_lines({long_label: {"a": ([1, 2, 3], [1.0, 2.0, 3.0])}, "short": {"a": ([1, 2], [1.0, 2.0])}},
                              "step", title="a title")
    shown = fig.axes[0].get_ylabel()
    assert "\n" in shown and shown.replace("\n", " ") == long_label and fig.axes[1].get_ylabel() == "short"
    fig.canvas.draw()
    box, figure_box = fig.axes[0].yaxis.label.get_window_extent(), fig.bbox
    assert box.y0 >= figure_box.y0 and box.y1 <= figure_box.y1, (box, figure_box)
    with_newline = dh.plots.plot_lines({"chosen\nlines": {"a": ([1, 2], [1.0, 2.0])}}, "step")
    assert with_newline.axes[0].get_ylabel() == "chosen\nlines"  # a label already on lines is kept as written
