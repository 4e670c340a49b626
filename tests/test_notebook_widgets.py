"""Every slider and dropdown of every notebook, moved: each position must redraw without error.

nbval runs the cells as written (the static figure); this test then moves each control, in the
same kernel, to its minimum, maximum and middle (every option of a dropdown), as a student would.
"""
import glob
import os

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "notebooks", "*.ipynb")))

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
print(f"MOVED {_moved} FAILURES {_failures}")
'''


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_every_control_redraws_without_error(path, monkeypatch):
    monkeypatch.setenv("DIFFUSION_QUICK", "1")
    monkeypatch.setenv("DIFFUSION_OFFLINE", "1")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(MOVE_EVERY_CONTROL))
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": os.path.dirname(path)}}).execute()
    text = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert "MOVED" in text, text
    moved = int(text.split("MOVED ")[1].split()[0])
    assert moved > 0 and "FAILURES []" in text, text
