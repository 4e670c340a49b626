"""The series as a site to teach from: build/site/index.html, one page a notebook, the instructor guide.

    python tools/export.py site     # runs what needs running (tools/export.py), then ``write_site``

Every page (the index, each notebook, the guide) goes through one template (tools/templates/series_site,
nbconvert's lab template plus a navigation bar), so each has previous / next links and the way back to
the index, and the maths typeset by the local MathJax (tools/offline_assets.py). The index is built as a
notebook of Markdown cells from the README's table (what you build, run times: rendered as Markdown, so
code shows as code and ``$...$`` as maths) and each notebook's introduction ("you will ..."); the guide is
docs/instructor_guide.md. On a notebook's page:
- the Colab and Binder badges of its first cell are text buttons (``export.text_badges``);
- a line says whether the outputs are a recorded full run or this machine's quick run;
- each widget's static drawing carries a caption: its sliders redraw it only with a kernel;
- no path of the machine that built it: warnings and tracebacks name files by their place in the
  package or the repository (``scrub_paths``), a notebook cell as IPython does ("Cell In[9]").
This file is imported by path (``export.load_tool("site")``): ``import site`` gives Python's own module.
"""
import copy
import functools
import html
import os
import re
import sys
import tempfile

import nbformat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tools/ is no package
import export  # noqa: E402
import offline_assets  # noqa: E402
from set_address import BINDER_BADGE, COLAB_BADGE, links, read_address, read_release  # noqa: E402

ROOT = export.ROOT
GUIDE = os.path.join(ROOT, "docs", "instructor_guide.md")
GUIDE_PAGE = "instructor_guide"
TITLE = "Diffusion models, from noise schedules to classifier-free guidance"
WIDGET_CAPTION = ("A widget: in JupyterLab or Colab (the buttons at the top) its controls redraw this figure. "
                  "This page has no running notebook behind it, so it shows the figure's first drawing.")
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


# ---- the pages --------------------------------------------------------------------------------------

def readme_rows():
    """{notebook name: (what you build, run times)} from the README's table, as Markdown."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as file:
        text = file.read()
    rows = {}
    for match in re.finditer(r"^\| \d \| \[`(\w+)`\][^|]*\|[^|]*\| (.*) \| ([^|]*) \|$", text, re.M):
        rows[match.group(1)] = (match.group(2).replace("\\|", "|"), match.group(3).strip())
    return rows


def title_of(notebook):
    """The notebook's title: its first "# " heading."""
    return next(line[2:].strip() for cell in notebook.cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("# "))


def teaches(notebook):
    """The Markdown list under "you will" in the notebook's introduction (empty if it has none)."""
    intro = next(cell.source for cell in notebook.cells if cell.cell_type == "markdown" and "\n# " in "\n" + cell.source)
    found = re.search(r"you will\s*\n((?:[-*] .*\n(?:[ \t]+\S.*\n)*)+)", intro + "\n", re.I)
    return found.group(1).rstrip() if found else ""


def run_line(notebook):
    """Which outputs a page shows: a recorded full run (when, on what) or this machine's quick run."""
    run = notebook.metadata.get("diffusion_run", {})
    if run.get("mode") == "full":
        return f"Shown as run in full mode on {run.get('date', '?')} ({run.get('device', '?')}): the real thing."
    return ("Shown as run in quick mode (`DIFFUSION_QUICK=1`: short trainings, few samples, rough figures); "
            "the notebook in full mode shows the real thing.")


def markdown_notebook(title, text):
    """A notebook of one Markdown cell, to go through the same template as the notebooks' pages."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    notebook.metadata["title"] = title
    return notebook


def index_notebook(executed):
    """The index: the notebooks in order, each with the README's "what you build" and run times, the
    introduction's "you will" list, the line on its run, and its Colab and Binder links."""
    rows, address, release = readme_rows(), read_address(), read_release()
    parts = [f"# {TITLE}\n\nSix notebooks that take you from what a noise schedule is to classifier-free guidance; "
             "read them in order (notebook 7, flow matching, is coming). Each page shows every cell and figure as "
             "run, its widgets as their first drawing; to run a notebook yourself and move its sliders, open it "
             "in Colab or Binder from its buttons, or on your own machine (`make lab`, see the README).\n\n"
             f"**Teaching from it?** Read the [instructor guide]({GUIDE_PAGE}.html): a six-lecture plan, run "
             "times, memory and disk, resetting an exercise, and what goes wrong in a classroom."]
    for name, notebook in executed.items():
        what, times = rows.get(name, ("", "?"))
        colab, binder = links(address, f"{name}.ipynb", release)
        learn = teaches(notebook)
        parts.append(f"## [{title_of(notebook)}]({name}.html)\n\n{what}\n\n"
                     f"[![Open in Colab]({COLAB_BADGE})]({colab}) [![Open in Binder]({BINDER_BADGE})]({binder}) "
                     f"Quick / full run on a 2-core CPU: {times}. {run_line(notebook)}"
                     + (f"\n\n<details><summary><b>What it teaches</b></summary>\n\n{learn}\n\n</details>" if learn else ""))
    return markdown_notebook(TITLE, "\n\n".join(parts))


def guide_notebook():
    """docs/instructor_guide.md as a page: its links to the repository's files point at the series'
    address, those to the notebooks at their pages."""
    with open(GUIDE, encoding="utf-8") as file:
        text = file.read()
    address, release = read_address(), read_release()
    text = re.sub(r"\]\(\.\./notebooks/(\w+)\.ipynb\)", r"](\1.html)", text)
    text = re.sub(r"\]\(\.\./([^)\s]+)\)", rf"]({address}/blob/{release}/\1)", text)
    return markdown_notebook("Instructor guide: " + TITLE, text)


def navigation(previous, following, home=True):
    """A page's bar: a link to the previous page, to the index (``home``) and to the next; ``previous``
    and ``following`` are (file name, title) or None."""
    def link(page, arrow):
        if page is None:
            return "<span></span>"
        label = f"← {page[1]}" if arrow == "previous" else f"{page[1]} →"
        return f'<a class="series-{arrow}" href="{page[0]}.html">{html.escape(label)}</a>'
    middle = '<a class="series-home" href="index.html">Contents</a>' if home else "<span></span>"
    return f'<nav class="series-nav">{link(previous, "previous")}{middle}{link(following, "next")}</nav>'


def inline_html(text):
    """One line of Markdown with `code` only, as HTML."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def write_site(executed, out_dir, guide=True):
    """index.html, one page a notebook of ``executed`` {name: executed notebook} (figures embedded) and,
    with ``guide``, the instructor guide's page; every page with its navigation bar. Returns index.html."""
    from nbconvert import HTMLExporter

    os.makedirs(out_dir, exist_ok=True)
    local = offline_assets.copy_into(out_dir)
    exporter = HTMLExporter(template_name="series_site", extra_template_basedirs=[export.TEMPLATES], **local)
    notebooks = {"index": index_notebook(executed)}
    notebooks.update({name: captioned(scrubbed(notebook)) for name, notebook in executed.items()})
    for name in executed:  # the browser tab's title (nbconvert's default: "Notebook")
        notebooks[name].metadata["title"] = title_of(executed[name])
    if guide:
        notebooks[GUIDE_PAGE] = guide_notebook()
    # previous / next: the index, then the notebooks in order; the guide (for instructors) stands aside,
    # between the index and the first notebook
    chain = [("index", "Contents")] + [(name, title_of(executed[name])) for name in executed]
    bars = {name: navigation(chain[position - 1] if position else None,
                             chain[position + 1] if position + 1 < len(chain) else None, home=position > 0)
            for position, (name, _) in enumerate(chain)}
    bars[GUIDE_PAGE] = navigation(chain[0], chain[1] if len(chain) > 1 else None)
    for name, notebook in notebooks.items():
        run = f'<p class="series-run">{inline_html(run_line(notebook))}</p>' if name in executed else ""
        bar = bars[name]
        body = export.text_badges(exporter.from_notebook_node(
            notebook, resources={"series_header": bar + run, "series_footer": bar})[0])
        body = offline_assets.localise(body) if local else body
        with open(os.path.join(out_dir, f"{name}.html"), "w", encoding="utf-8") as file:
            file.write(body)
    return os.path.join(out_dir, "index.html")
