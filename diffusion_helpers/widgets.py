"""Interactive figures that are also static figures.

``interactive(draw, t=IntSlider(...), ...)`` draws ``draw(t=...)`` once as an ordinary output (so
nbval, slide export and a static HTML view show a real figure), then redraws that same output in
place whenever a control moves. Without a Jupyter front end the controls simply do nothing.
"""
import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

from .samplers import SAMPLERS


def interactive(draw, **controls):
    """Show ``draw(**values)`` (a function returning a matplotlib Figure) under its controls.

    Args:
        draw: called with one keyword argument per control, returns a Figure.
        controls: ipywidgets value widgets (IntSlider, FloatSlider, Dropdown, ...), by the name
            of the keyword they feed.
    Returns:
        the VBox of controls (already displayed), e.g. to read ``.children[0].value`` in tests.
    """
    if not controls:
        raise ValueError("interactive needs at least one control, e.g. t=ipywidgets.IntSlider(...)")
    for name, control in controls.items():
        if not isinstance(control, widgets.ValueWidget):
            raise TypeError(f"control {name!r} must be an ipywidgets value widget, got {type(control).__name__}")

    def render():
        figure = draw(**{name: control.value for name, control in controls.items()})
        return figure

    box = widgets.VBox(list(controls.values()))
    display(box)
    figure = render()
    handle = display(figure, display_id=True)
    plt.close(figure)

    def redraw(change):
        new_figure = render()
        handle.update(new_figure)
        plt.close(new_figure)

    for control in controls.values():
        control.observe(redraw, names="value")
    return box


class LiveFigure:
    """One figure output that redraws in place: pass it as a training ``callback``.

    ``draw(state)`` returns a Figure; the first call displays it, later calls replace it, e.g.
    ``dh.train(..., callback=LiveFigure(lambda s: plots.plot_losses(s.losses)), callback_every=100)``.
    """

    def __init__(self, draw):
        self.draw, self.handle = draw, None

    def __call__(self, state):
        figure = self.draw(state)
        if self.handle is None:
            self.handle = display(figure, display_id=True)
        else:
            self.handle.update(figure)
        plt.close(figure)


def int_slider(description, value, min, max, step=1, width="60%"):
    """An IntSlider that redraws when released (figures take a moment to draw)."""
    return widgets.IntSlider(value=value, min=min, max=max, step=step, description=description,
                             continuous_update=False, style={"description_width": "initial"},
                             layout=widgets.Layout(width=width))


def float_slider(description, value, min, max, step=0.1, width="60%"):
    """A FloatSlider that redraws when released."""
    return widgets.FloatSlider(value=value, min=min, max=max, step=step, description=description,
                               continuous_update=False, style={"description_width": "initial"},
                               layout=widgets.Layout(width=width))


def int_range_slider(description, value, min, max, step=1, width="60%"):
    """An IntRangeSlider (two handles: a low and a high end, value a pair) that redraws when released."""
    return widgets.IntRangeSlider(value=tuple(value), min=min, max=max, step=step, description=description,
                                  continuous_update=False, style={"description_width": "initial"},
                                  layout=widgets.Layout(width=width))


def dropdown(description, options, value=None):
    """A Dropdown over ``options`` (a list, or a dict label -> value)."""
    return widgets.Dropdown(options=options, value=value if value is not None else
                            (list(options.values())[0] if isinstance(options, dict) else options[0]),
                            description=description, style={"description_width": "initial"})


def sampler_dropdown(description="sampler", value="ddim", names=None):
    """A Dropdown over the samplers' names in ``dh.SAMPLERS`` (or the given subset ``names``); its
    value is a name, and ``dh.SAMPLERS[value]`` is the sampler to call."""
    names = list(SAMPLERS) if names is None else list(names)
    unknown = [name for name in names + [value] if name not in SAMPLERS]
    if unknown:
        raise ValueError(f"sampler names must be among {list(SAMPLERS)}, got {unknown}")
    return dropdown(description, names, value)
