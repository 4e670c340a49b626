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
