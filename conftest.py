"""Every notebook runs once under nbval (`--nbval-lax`: every cell must run). After a notebook's
last cell, in the same kernel, one more item moves every slider and dropdown it made to its
minimum, maximum and middle (every option of a dropdown), as a student would: each position must
redraw without error. So the widget moves share nbval's run instead of executing each notebook again.
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
        _positions = [_control.min, _control.max, _kind((_control.min + _control.max) / 2), _control.value]
    elif isinstance(_control, _w.Dropdown):
        _positions = [("index", i) for i in range(len(_control.options))]
    else:
        continue
    for _position in _positions:
        try:
            if isinstance(_position, tuple):
                _control.index = _position[1]
            else:
                _control.value = _position
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
