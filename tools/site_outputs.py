"""A run's outputs made fit for a page of the site (tools/site.py): no path of the building machine, and a
caption under each widget's static drawing.

- Warnings and tracebacks name files by their place in the package or the repository (``scrub_paths``),
  a notebook cell as IPython does ("Cell In[9]"), a temporary file as .../name, the home folder as ~.
- A widget's controls cannot move on a static page: its first drawing gets a caption saying where it
  moves (``captioned``); tqdm's progress bars are widgets too, and get none.
"""
import copy
import functools
import os
import re
import sys
import tempfile

import nbformat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tools/ is no package
from export import ROOT  # noqa: E402

WIDGET_CAPTION = ("A widget, drawn still: move it in JupyterLab or Colab (the buttons at the top of the page), where "
                  "its controls redraw this figure. This page has no kernel behind it, so it shows the first drawing.")
# the ipywidgets a student moves (tqdm's progress bars, an HBox of HTML and FloatProgress, are not controls)
CONTROLS = ("IntSlider", "FloatSlider", "FloatLogSlider", "IntRangeSlider", "FloatRangeSlider", "SelectionSlider",
            "SelectionRangeSlider", "Dropdown", "ToggleButtons", "RadioButtons", "Checkbox", "ToggleButton",
            "Select", "SelectMultiple", "IntText", "FloatText", "BoundedIntText", "BoundedFloatText", "Text", "Play")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


# ---- no path of the building machine on a page ----------------------------------------------------

def package_parent():
    """The folder holding the diffusion_helpers the kernels import (this repository, or another
    checkout an editable install points at), found without importing it; None if it is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("diffusion_helpers")
    return os.path.dirname(os.path.dirname(os.path.abspath(spec.origin))) if spec and spec.origin else None


@functools.lru_cache(maxsize=None)
def path_rules(root=ROOT):
    """(pattern, replacement) pairs, applied in order, that turn the builder's paths into names a reader
    can use: an installed package's file by its name in the package (torch/utils/_contextlib.py), a file
    of the series by its place in the repository (diffusion_helpers/plots.py), Python's own by
    python3.X/..., a temporary file by .../name, the home folder by ~."""
    part = r"[^\s\"'<>:;,()\[\]]"  # a character a path may hold here
    temporary = re.escape(tempfile.gettempdir().rstrip("/"))
    series = sorted({os.path.abspath(root), os.path.realpath(root), package_parent()} - {None}, key=len, reverse=True)
    rules = [(rf"/{part}*?/(?:site|dist)-packages/", "")] + [(re.escape(folder) + "/", "") for folder in series] + [
        (rf"/{part}*?/lib/(python3\.\d+)/", r"\1/"),
        (rf"(?<![\w.-])(?:{temporary}|/tmp|/var/folders/{part}*?)/{part}+/", ".../"),
    ]
    home = os.path.expanduser("~").rstrip("/")
    rules += [(re.escape(home) + "/", "~/")] if home else []
    # any other checkout's package file (a kernel that imported the package from elsewhere)
    return tuple(rules + [(rf"(?<![\w.~-])/{part}*?/(?=diffusion_helpers/[\w/]+\.py)", "")])


# left as they are: web addresses (a link's path is no local path), data: URIs (an animation's frames,
# whose base64 may spell "/tmp/") and a traceback's colour codes (the text between them is scrubbed)
KEEP = re.compile(r"\b[a-z][a-z+.-]*://[^\s\"'<>]*|data:[\w/+.-]+;base64,[\w+/=]+|\x1b\[[\d;]*m")


def _scrub_plain(text, cells, root):
    def cell(match):
        name = (cells or {}).get(match.group(1), "a cell")
        return f"{name}, line {match.group(2)}" if match.group(2) else name
    text = re.sub(r"[^\s\"'<>]*?/ipykernel_\d+/(\d+)\.py(?::(\d+))?", cell, text)
    for pattern, replacement in path_rules(root):
        text = re.sub(pattern, replacement, text)
    return text


def cell_names(notebook):
    """{the file name ipykernel gives a cell's code (its murmur2 hash): "Cell In[N]"} for the notebook's
    run cells: a warning pointed at a student's cell names that file, a traceback names the cell."""
    try:
        from ipykernel.compiler import get_tmp_hash_seed, murmur2_x86
    except ImportError:
        return {}
    return {str(murmur2_x86(cell.source, get_tmp_hash_seed())): f"Cell In[{cell.execution_count}]"
            for cell in notebook.cells if cell.cell_type == "code" and cell.get("execution_count")}


def scrub_paths(text, cells=None, root=ROOT):
    """``text`` with the building machine's paths replaced (``path_rules``; what ``KEEP`` matches is left
    alone); a cell's file (/tmp/ipykernel_<pid>/<hash>.py:8) becomes "Cell In[9], line 8" where
    ``cells`` (``cell_names``) knows it, else "a cell, line 8"."""
    pieces, start = [], 0
    for match in KEEP.finditer(text):
        pieces += [_scrub_plain(text[start:match.start()], cells, root), match.group()]
        start = match.end()
    return "".join(pieces) + _scrub_plain(text[start:], cells, root)


def scrubbed(notebook):
    """A copy of the notebook whose outputs' text (streams, tracebacks, text, HTML) holds no local path."""
    notebook, cells = copy.deepcopy(notebook), cell_names(notebook)

    def clean(value):
        return [scrub_paths(part, cells) for part in value] if isinstance(value, list) else scrub_paths(value, cells)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = clean(output["text"])
            if output.get("output_type") == "error":
                output["evalue"], output["traceback"] = clean(output["evalue"]), clean(output["traceback"])
            for kind in ("text/plain", "text/html", "text/markdown"):
                if kind in output.get("data", {}):
                    output["data"][kind] = clean(output["data"][kind])
    return notebook


# ---- widgets: a caption under each static drawing ---------------------------------------------------

def is_control(output, state):
    """Whether a display output is a widget a student moves (sliders, dropdowns ... in a box), judged by
    the run's saved widget state, else by the widget's text form, "VBox(children=(IntSlider(...". """
    data = output.get("data", {})
    if WIDGET_VIEW not in data:
        return False
    models, seen = [data[WIDGET_VIEW].get("model_id")], set()
    while models:
        model_id = models.pop()
        if model_id in seen or model_id not in state:
            continue
        seen.add(model_id)
        model = state[model_id]
        if model.get("model_name", "").removesuffix("Model") in CONTROLS:
            return True
        models += [child.removeprefix("IPY_MODEL_") for child in model.get("state", {}).get("children", [])]
    if seen:
        return False
    text = "".join(data.get("text/plain", ""))
    return re.search(r"\b(?:%s)\(" % "|".join(CONTROLS), text) is not None


def captioned(notebook):
    """The notebook, changed in place, with a caption output after each widget's static drawing (the
    first figure after its controls in the cell; after the controls where no figure follows)."""
    state = notebook.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    caption = nbformat.v4.new_output("display_data", data={
        "text/html": f'<p class="series-widget-caption">{WIDGET_CAPTION}</p>', "text/plain": WIDGET_CAPTION})
    for cell in notebook.cells:
        outputs, waiting = [], False
        for output in cell.get("outputs", []):
            if waiting and "image/png" in output.get("data", {}):
                outputs += [output, copy.deepcopy(caption)]
                waiting = False
                continue
            if is_control(output, state):
                if waiting:
                    outputs.append(copy.deepcopy(caption))
                waiting = True
            outputs.append(output)
        if waiting:
            outputs.append(copy.deepcopy(caption))
        if cell.cell_type == "code":
            cell.outputs = outputs
    return notebook
