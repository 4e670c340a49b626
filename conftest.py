"""Every notebook runs once under nbval (`--nbval-lax`: every cell must run). After a notebook's
last cell, in the same kernel, one more item moves every slider and dropdown it made to its
minimum, maximum and middle (every option of a dropdown; a range slider to its minimum at both
ends, to its whole range and to its upper half), as a student would: each position must redraw
without error. So the widget moves share nbval's run instead of executing each notebook again.
"""
import collections

import nbformat

MOVE_EVERY_CONTROL = r'''
import ipywidgets as _w
from ipywidgets.widgets.widget import _instances
_moved, _failures = 0, []
for _control in list(_instances.values()):
    if isinstance(_control, (_w.IntSlider, _w.FloatSlider)):
        _kind = type(_control.value)
        _positions = [("value", p) for p in (_control.min, _control.max, _kind((_control.min + _control.max) / 2),
                                             _control.value)]
    elif isinstance(_control, (_w.IntRangeSlider, _w.FloatRangeSlider)):
        _kind, _low, _high = type(_control.value[0]), _control.min, _control.max
        _middle = _kind((_low + _high) / 2)
        _positions = [("value", p) for p in ((_low, _low), (_low, _high), (_middle, _high), tuple(_control.value))]
    elif isinstance(_control, _w.Dropdown):
        _positions = [("index", i) for i in range(len(_control.options))]
    else:
        continue
    for _attribute, _position in _positions:
        try:
            setattr(_control, _attribute, _position)
            _moved += 1
        except Exception as _error:
            _failures.append(f"{_control.description}={_position}: {type(_error).__name__}: {_error}")
print(f"moved controls to {_moved} positions; failures: {_failures}")
assert _moved > 0, "this notebook made no slider or dropdown to move"
assert not _failures, "\n".join(_failures)
'''


def pytest_collection_modifyitems(session, config, items):
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval not installed: no notebook items either
        return
    with_moves = []
    for index, item in enumerate(items):
        with_moves.append(item)
        following = items[index + 1] if index + 1 < len(items) else None
        if isinstance(item, IPyNbCell) and getattr(following, "parent", None) is not item.parent:
            cell = nbformat.v4.new_code_cell(MOVE_EVERY_CONTROL)
            with_moves.append(IPyNbCell.from_parent(item.parent, name="every control moved", cell_num=item.cell_num + 1,
                                                    cell=cell, options=collections.defaultdict(bool, check=False)))
    items[:] = with_moves
