"""The series for readers without a kernel: a static site, or reveal.js slides for a lecture.

    python tools/export.py site                 # build/site/index.html, a page a notebook, the guide (tools/site.py)
    python tools/export.py slides               # build/slides/<notebook>.slides.html
    python tools/export.py slides --presenter   # build/slides-presenter/: sized for a lecture hall
    python tools/export.py slides --no-code     # build/slides-no-code/: text and figures only
    python tools/export.py tag                  # write each cell's slide metadata (see slide_type)

Pages and slides show full-run outputs wherever a full run is recorded: `python
tools/record_references.py` runs notebooks 3-7 in full mode and keeps each executed notebook in
full-runs/ (tracked in git, so a fresh clone builds the same site). A recorded run is used while
its code cells match the notebook's: the page shows the notebook's current text with the recorded
outputs (text edits need no new run; any code edit does). Any other notebook runs here first, in quick mode (DIFFUSION_QUICK=1; --full for
the real thing, slower), and the line printed for it says so. Every page shows every figure: each
widget draws its static figure when it is made. Images are
embedded, so a page is one self-contained file. The slides (tools/slides.py) split each section
into sub-slides that fit a 1280x720 screen. --presenter sets DIFFUSION_PRESENTER=1 while the
notebooks run (``dh.setup`` then draws larger fonts and figures) and enlarges the slides' text,
code and figures, in a folder of its own.
Slides and pages work offline: reveal.js, MathJax, require.js, jQuery and the widget renderer are
copied into <output folder>/assets/ from build/vendor (tools/offline_assets.py, which ``make site``
and ``make slides`` run first; it needs npm), and the pages point there. Without them, one line
says so and the pages load them from their CDNs; --reveal-prefix still points the slides at
another copy of reveal.js. ``make site`` and ``make slides`` run these commands.
"""
import argparse
import glob
import os
import re
import sys

import nbformat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tools/ is no package; tests load this file by path
import offline_assets  # noqa: E402
from set_address import BINDER_BADGE, COLAB_BADGE  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK_DIR = os.path.join(ROOT, "notebooks")
FULL_RUN_DIR = os.path.join(ROOT, "full-runs")  # executed full-mode notebooks (tools/record_references.py), tracked
TEMPLATES = os.path.join(ROOT, "tools", "templates")  # series_reveal: the reveal template, mermaid.js only where used


def slide_type(cell, is_setup):
    """Where a cell goes in the slides: the setup cell is skipped; a markdown cell tagged ``notes``
    is the speaker's (reveal.js's speaker view); a cell with a title ("# ") or a section heading
    ("## ") starts a slide (a heading opens its cell: see tests/test_slides.py); one that opens with
    a "your turn" or "### " heading starts a sub-slide; every other cell follows on the slide before
    it ("-"), and tools/slides.py splits a slide into as many sub-slides as it needs to fit. Hidden
    solutions stay folded (<details>) beside their exercise."""
    if is_setup:
        return "skip"
    if cell.cell_type != "markdown":
        return "-"
    if "notes" in cell.metadata.get("tags", []):
        return "notes"
    lines = [line for line in cell.source.splitlines() if line.strip()]
    if any(line.startswith(("# ", "## ")) for line in lines):
        return "slide"
    if lines and lines[0].startswith(("### ", "**Your turn")):
        return "subslide"
    return "-"


def tagged(notebook):
    """The notebook with every cell's metadata.slideshow.slide_type set by ``slide_type``."""
    setup = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")
    for index, cell in enumerate(notebook.cells):
        cell.metadata["slideshow"] = {"slide_type": slide_type(cell, index == setup)}
    return notebook


def load_tool(name):
    """A module of tools/ loaded by its path: tools/site.py cannot be imported by name, since ``import site``
    finds Python's own site module, loaded when Python starts."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"series_{name}", os.path.join(ROOT, "tools", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notebook_paths(names=None):
    paths = sorted(glob.glob(os.path.join(NOTEBOOK_DIR, "*.ipynb")))
    if names:
        known = {os.path.basename(path)[:-6]: path for path in paths}
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise SystemExit(f"unknown notebook(s) {unknown}; the series has {sorted(known)}")
        paths = [known[name] for name in names]
    return paths


def execute(path, full=False, presenter=False, timeout=1800):
    """Run a notebook top to bottom in a fresh kernel (quick mode unless ``full``); return it."""
    from nbconvert.preprocessors import ExecutePreprocessor

    notebook = nbformat.read(path, 4)
    saved = {name: os.environ.get(name) for name in ("DIFFUSION_QUICK", "DIFFUSION_PRESENTER")}
    os.environ["DIFFUSION_QUICK"] = "0" if full else "1"
    os.environ["DIFFUSION_PRESENTER"] = "1" if presenter else "0"
    try:
        # a kernel on busy cores may take minutes to answer (nbclient's default wait is 60 s)
        ExecutePreprocessor(timeout=timeout, startup_timeout=300, kernel_name="python3").preprocess(
            notebook, {"metadata": {"path": os.path.dirname(path)}})
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return tagged(notebook)


def code_sources(notebook):
    """The sources of a notebook's code cells, in order: what a recorded run's outputs depend on."""
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def recorded_full_run(path, directory=FULL_RUN_DIR):
    """The notebook at ``path`` with the outputs of its recorded full-mode run, while the run's code
    cells are the notebook's (markdown may have changed since); else None."""
    recorded = os.path.join(directory, os.path.basename(path))
    if not os.path.exists(recorded):
        return None
    run_notebook, notebook = nbformat.read(recorded, 4), nbformat.read(path, 4)
    run = run_notebook.metadata.get("diffusion_run", {})
    if run.get("mode") != "full" or code_sources(run_notebook) != code_sources(notebook):
        return None
    ran = iter(cell for cell in run_notebook.cells if cell.cell_type == "code")
    for cell in notebook.cells:
        if cell.cell_type == "code":
            source = next(ran)
            cell.outputs, cell.execution_count = source.outputs, source.execution_count
    notebook.metadata["diffusion_run"] = run
    if "widgets" in run_notebook.metadata:  # the widget state the run saved, for the static page
        notebook.metadata["widgets"] = run_notebook.metadata["widgets"]
    return tagged(notebook)


BADGE_STYLE = ("display:inline-block;padding:0.15em 0.6em;border-radius:0.3em;background:#555;color:#fff;"
               "font:600 0.8em sans-serif")


def text_badges(body):
    """The page with its Colab and Binder badge images (fetched from colab.research.google.com and
    mybinder.org when shown) drawn as text buttons instead: the links stay, and a page opened with no
    network requests nothing and shows no broken images."""
    badges = "|".join(re.escape(url) for url in (COLAB_BADGE, BINDER_BADGE))
    return re.sub(rf'<img alt="([^"]*)" src="(?:{badges})"\s*/?>',
                  lambda match: f'<span style="{BADGE_STYLE}">{match.group(1)}</span>', body)




def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["site", "slides", "tag"])
    parser.add_argument("--notebooks", nargs="*", help="names such as 01_noise_schedules (default: every notebook)")
    parser.add_argument("--full", action="store_true", help="run in full mode (the stated times; slow)")
    parser.add_argument("--presenter", action="store_true", help="fonts and figures for a lecture hall")
    parser.add_argument("--no-code", action="store_true", help="slides of text and figures only")
    parser.add_argument("--out", default=None, help="output folder (default build/site, build/slides, "
                        "build/slides-presenter, build/slides-no-code, ...)")
    parser.add_argument("--reveal-prefix", default=None, help="where reveal.js lives (default: the local copy in <out>/assets, else its CDN)")
    args = parser.parse_args()
    paths = notebook_paths(args.notebooks)
    if args.what == "tag":
        for path in paths:
            nbformat.write(tagged(nbformat.read(path, 4)), path)
        print(f"slide metadata written into {len(paths)} notebook(s)")
        return
    executed = {}
    for path in paths:
        name = os.path.basename(path)[:-6]
        recorded = recorded_full_run(path)
        if recorded is not None:
            run = recorded.metadata["diffusion_run"]
            print(f"{name}: the full run recorded on {run.get('date')} ({run.get('device')})", flush=True)
            executed[name] = recorded
            continue
        print(f"{name}: no full run in full-runs/ with these code cells (tools/record_references.py records one); running "
              f"it now in {'full' if args.full else 'quick'} mode ...", flush=True)
        executed[name] = execute(path, args.full, args.presenter and args.what == "slides")
        executed[name].metadata["diffusion_run"] = {"mode": "full" if args.full else "quick"}
    if args.what == "site":
        print(f"wrote {load_tool('site').write_site(executed, args.out or os.path.join(ROOT, 'build', 'site'))}")
    else:
        import slides  # tools/slides.py, which imports this file

        out = args.out or slides.folder(args.presenter, not args.no_code)
        for path in slides.write_slides(executed, out, args.presenter, not args.no_code, args.reveal_prefix):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
