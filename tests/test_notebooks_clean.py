"""Notebooks are committed without outputs: clean diffs, no stale figures."""
import glob
import json
import os

NOTEBOOKS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "notebooks", "*.ipynb")))


def test_committed_notebooks_carry_no_outputs():
    dirty = []
    for path in NOTEBOOKS:
        with open(path, encoding="utf-8") as file:
            notebook = json.load(file)
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count")):
                dirty.append(os.path.basename(path))
                break
    assert not dirty, f"strip the outputs of {dirty} (make strip) before committing"
