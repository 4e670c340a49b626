"""A student's measured numbers beside the shipped reference run (dh.load_reference): one line that
says where each set comes from, and line charts with the reference's series dashed beside one's own.
Part of dh.plots."""
import warnings

import matplotlib.pyplot as plt
from matplotlib.ticker import NullFormatter
import numpy as np

from .references import missing_reference_note
from .runtime import quick_mode


def run_line(reference, yours, theirs=None):
    """One line naming both runs, e.g. "your run: 64 digits a row, quick mode; reference: 500 digits a
    row, full mode, 2026-12-06, <device>, torch ..., commit ...". ``yours``/``theirs``: what each run
    measured ("64 digits a row"); ``reference``: a dh.Reference, or None ("no reference run shipped yet")."""
    mine = f"your run: {yours}, {'quick' if quick_mode() else 'full'} mode"
    if reference is None:
        return f"{mine}; {missing_reference_note()}"
    return f"{mine}; reference: {theirs + ', ' if theirs else ''}{reference.label.removeprefix('reference: ')}"


def _values(y):
    """Recorded values (numbers, or an Estimate or a Cost kept as a dict of its fields) -> (values, bars or None)."""
    from .claims import estimate

    if all(isinstance(v, dict) or hasattr(v, "low") for v in y):
        measured = [estimate(v) if isinstance(v, dict) else v for v in y]
        values = np.array([v.value for v in measured], dtype=float)
        return values, np.array([values - [v.low for v in measured], [v.high for v in measured] - values])
    return np.asarray(y, dtype=float), None


def plot_lines_beside(panels, reference_panels, xlabel, caption, title=None, logx=False, logy=False,
                      references=None, size=(5.6, 4.0)):
    """dh.plots.plot_lines(panels, ...) with the reference run's series drawn beside: the same colour
    as the student's series of that name, dashed, lighter, marked x. ``reference_panels``: like
    ``panels`` ({panel label: {series name: (x, y)}}, y numbers or recorded Estimates/Costs), or None
    (no reference shipped). ``caption`` (e.g. ``run_line(...)``) goes under the title."""
    from .plots import _spread_out, plot_lines

    reference_panels = {label: series for label, series in (reference_panels or {}).items() if series}
    everything = dict(panels) | {label: {} for label in reference_panels if label not in panels}
    with warnings.catch_warnings():  # a panel only the reference fills has no legend yet: it gets one below
        warnings.simplefilter("ignore")
        fig = plot_lines(everything, xlabel, title=title, logx=logx, logy=logy, references=references, size=size)
    names = list(dict.fromkeys(name for series in everything.values() for name in series))
    for ax, label in zip(fig.axes, everything):
        ticks = {float(value) for x, _ in everything[label].values() for value in x}
        for name, (x, y) in reference_panels.get(label, {}).items():
            color = f"C{names.index(name) % 10}" if name in names else "gray"
            values, bars = _values(y)
            ax.errorbar(np.asarray(x, dtype=float), values, yerr=bars, ls="--", marker="x", ms=5, capsize=2,
                        alpha=0.45, color=color)
            ticks |= {float(value) for value in x}
        if reference_panels.get(label):
            ax.plot([], [], ls="--", marker="x", color="gray", alpha=0.6, label="reference run (dashed)")
        if logx and 0 < len(ticks) <= 14:
            shown = _spread_out(sorted(value for value in ticks if value > 0))
            ax.set_xticks(shown, [f"{value:g}" for value in shown])
            ax.xaxis.set_minor_formatter(NullFormatter())
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=9)
    fig.suptitle(f"{title}\n{caption}" if title else caption, fontsize=plt.rcParams["axes.titlesize"])
    fig.tight_layout()
    return fig
