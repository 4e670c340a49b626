"""The series as a site to teach from: build/site/index.html, one page a notebook, the instructor guide.

    python tools/export.py site     # runs what needs running (tools/export.py), then ``write_site``

Every page (the index, each notebook, the guide) goes through one template (tools/templates/series_site,
nbconvert's lab template plus a navigation bar), so each has previous / next links and the way back to
the index, and the maths typeset by the local MathJax (tools/offline_assets.py). The index is built as a
notebook of Markdown cells from the README's table (what you build, run times: rendered as Markdown, so
code shows as code and ``$...$`` as maths) and each notebook's introduction ("you will ..."); the guide is
docs/instructor_guide.md. On a notebook's page:
- previous / next links (the notebooks in order: a notebook added to notebooks/, such as 07_flow_matching,
  joins the chain and the index by itself);
- the Colab and Binder badges of its first cell are text buttons (``export.text_badges``);
- a line says whether the outputs are a recorded full run or this machine's quick run;
- the outputs as tools/site_outputs.py leaves them: no path of the building machine, a caption under
  each widget's static drawing (its sliders redraw it only with a kernel).
This file is imported by path (``export.load_tool("site")``): ``import site`` gives Python's own module.
"""
import html
import os
import re
import sys

import nbformat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tools/ is no package
import export  # noqa: E402
import offline_assets  # noqa: E402
from set_address import BINDER_BADGE, COLAB_BADGE, links, read_address, read_release  # noqa: E402
from site_outputs import captioned, scrubbed  # noqa: E402

ROOT = export.ROOT
GUIDE = os.path.join(ROOT, "docs", "instructor_guide.md")
GUIDE_PAGE = "instructor_guide"
TITLE = "Diffusion models, from noise schedules to classifier-free guidance"
FLOW_MATCHING = "07_flow_matching"  # notebook 7, written on its own branch: in the index once it exists


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
    seventh = os.path.exists(os.path.join(export.NOTEBOOK_DIR, f"{FLOW_MATCHING}.ipynb"))
    parts = [f"# {TITLE}\n\nNotebooks that take you from what a noise schedule is to classifier-free guidance"
             + (", then on to flow matching" if seventh else " (notebook 7, flow matching, is being written)")
             + "; read them in order. Each page shows every cell and figure as run, its widgets as their first "
             "drawing; to run a notebook yourself and move its sliders, open it in Colab or Binder from its "
             "buttons, or on your own machine (`make lab`, see the README).\n\n"
             f"**Teaching from it?** Read the [instructor guide]({GUIDE_PAGE}.html): a lecture plan (a notebook a "
             "lecture), run times, memory and disk, resetting an exercise, and what goes wrong in a classroom."]
    for name, notebook in executed.items():
        what, times = rows.get(name, ("", ""))  # a new notebook before its README row: no description yet
        colab, binder = links(address, f"{name}.ipynb", release)
        learn = teaches(notebook)
        parts.append(f"## [{title_of(notebook)}]({name}.html)\n\n{what}\n\n"
                     f"[![Open in Colab]({COLAB_BADGE})]({colab}) [![Open in Binder]({BINDER_BADGE})]({binder}) "
                     + (f"Quick / full run on a 2-core CPU: {times}. " if times else "") + run_line(notebook)
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


def navigation(previous, following, middle=("index", "Contents")):
    """A page's bar: links to the previous page, to ``middle`` (the index from a notebook, the guide from the
    index) and to the next; each is (file name, title) or None."""
    def link(page, kind):
        if page is None:
            return "<span></span>"
        label = {"previous": f"← {page[1]}", "next": f"{page[1]} →"}.get(kind, page[1])
        return f'<a class="series-{kind}" href="{page[0]}.html">{html.escape(label)}</a>'
    kind = "home" if middle and middle[0] == "index" else "guide"
    return f'<nav class="series-nav">{link(previous, "previous")}{link(middle, kind)}{link(following, "next")}</nav>'


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
    guide_link = (GUIDE_PAGE, "Instructor guide") if guide else None
    bars = {name: navigation(chain[position - 1] if position else None,
                             chain[position + 1] if position + 1 < len(chain) else None,
                             ("index", "Contents") if position else guide_link)
            for position, (name, _) in enumerate(chain)}
    bars[GUIDE_PAGE] = navigation(chain[0], chain[1] if len(chain) > 1 else None, None)
    for name, notebook in notebooks.items():
        run = f'<p class="series-run">{inline_html(run_line(notebook))}</p>' if name in executed else ""
        bar = bars[name]
        body = export.text_badges(exporter.from_notebook_node(
            notebook, resources={"series_header": bar + run, "series_footer": bar})[0])
        body = offline_assets.localise(body) if local else body
        with open(os.path.join(out_dir, f"{name}.html"), "w", encoding="utf-8") as file:
            file.write(body)
    return os.path.join(out_dir, "index.html")
