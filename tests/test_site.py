"""The site to teach from (tools/site.py): navigation, buttons, captions under static widgets, the index's
text rendered, the instructor guide, and no path of the building machine on any page.

The fast tests check the pieces (path scrubbing, captions, the index's Markdown); the ones marked ``full`` build a site of notebooks 1 and 2 run in quick mode
(about a minute on 2 cores), with a cell added to notebook 2 that prints what leaks paths (a package
warning pointed at the cell, a traceback through torch, a temporary file), and read its pages, then
open the index and a page in Chromium with the network cut.
"""
import os
import re
import tempfile

import nbformat
import pytest
import torch
from conftest import load_tool

import diffusion_helpers as dh

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
site = load_tool("site")
site_outputs = load_tool("site_outputs")
export = load_tool("export")
address = load_tool("set_address")


# ---- paths ------------------------------------------------------------------------------------------

def test_paths_become_names_a_reader_can_use():
    torch_file = os.path.join(os.path.dirname(torch.__file__), "utils", "_contextlib.py")
    package_file = os.path.join(os.path.dirname(dh.__file__), "plots.py")
    temporary = os.path.join(tempfile.mkdtemp(), "corrupted_copy.pt")
    cells = {"4055630257": "Cell In[26]"}
    text = (f"/tmp/ipykernel_16993/4055630257.py:2: UserWarning: in [0, 1]\n"
            f"/tmp/ipykernel_16993/111.py:5: UserWarning: elsewhere\n"
            f"{torch_file}:124: UserWarning: far outside\n{package_file}:81: UserWarning\n"
            f"checkpoint {temporary} is corrupted\nFile \x1b[0;32m{ROOT}/notebooks/x.py:3\x1b[0m, in f\n"
            f"{os.path.expanduser('~')}/.cache/diffusion_helpers/mnist\n"
            "https://github.com/owner/name/blob/v0.1.0/diffusion_helpers/plots.py\n"
            '<img src="data:image/png;base64,AAAA/tmp/abc/def+/x==">')
    assert site_outputs.scrub_paths(text, cells).splitlines() == [
        "Cell In[26], line 2: UserWarning: in [0, 1]", "a cell, line 5: UserWarning: elsewhere",
        "torch/utils/_contextlib.py:124: UserWarning: far outside", "diffusion_helpers/plots.py:81: UserWarning",
        "checkpoint .../corrupted_copy.pt is corrupted", "File \x1b[0;32mnotebooks/x.py:3\x1b[0m, in f",
        "~/.cache/diffusion_helpers/mnist", "https://github.com/owner/name/blob/v0.1.0/diffusion_helpers/plots.py",
        '<img src="data:image/png;base64,AAAA/tmp/abc/def+/x==">']


def test_a_cell_is_named_by_its_execution_count():
    """ipykernel names a cell's code after its murmur2 hash: the page says "Cell In[N]", as IPython does."""
    from ipykernel.compiler import get_file_name

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", execution_count=3),
                                               nbformat.v4.new_code_cell("y = 2\nz = 3", execution_count=7)])
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", name="stderr", text=get_file_name("y = 2\nz = 3")
                                                        + ":2: UserWarning: careful\n")]
    assert site_outputs.scrubbed(notebook).cells[1].outputs[0].text == "Cell In[7], line 2: UserWarning: careful\n"
    assert notebook.cells[1].outputs[0].text.startswith("/"), "scrubbed() copies; the run itself is kept"


# ---- widgets and the index ----------------------------------------------------------------------------

def widget_output(text):
    return nbformat.v4.new_output("display_data", data={site_outputs.WIDGET_VIEW: {"model_id": "m"}, "text/plain": text})


def test_a_caption_follows_each_widgets_static_drawing_and_no_progress_bar():
    figure = nbformat.v4.new_output("display_data", data={"image/png": "AAAA", "text/plain": "<Figure>"})
    cell = nbformat.v4.new_code_cell("...")
    cell.outputs = [widget_output("HBox(children=(HTML(value=''), FloatProgress(value=0.0, max=5.0)))"), figure,
                    widget_output("VBox(children=(IntSlider(value=501, description='step'), Dropdown(…"), figure,
                    nbformat.v4.new_output("stream", name="stdout", text="done\n"),
                    widget_output("VBox(children=(FloatSlider(value=1.0),))")]
    notebook = site_outputs.captioned(nbformat.v4.new_notebook(cells=[cell]))
    kinds = ["caption" if "series-widget-caption" in output.get("data", {}).get("text/html", "")
             else "widget" if site_outputs.WIDGET_VIEW in output.get("data", {}) else output.output_type
             for output in notebook.cells[0].outputs]
    assert kinds == ["widget", "display_data", "widget", "display_data", "caption", "stream", "widget", "caption"]


def test_index_text_comes_from_the_readme_and_the_notebooks():
    rows = site.readme_rows()
    names = [os.path.basename(path)[:-6] for path in export.notebook_paths()]
    # the six notebooks have their README rows; a notebook added later (07_flow_matching) joins the index
    # before its row is written (test_a_seventh_notebook_joins_the_navigation_and_the_index)
    assert names[:6] == sorted(rows)[:6] and set(rows) <= set(names)
    assert all(what and re.search(r"\d", times) for what, times in rows.values())
    for name in names:
        notebook = nbformat.read(os.path.join(ROOT, "notebooks", f"{name}.ipynb"), 4)
        assert site.teaches(notebook).startswith("- "), f"{name}: no 'you will' list in its introduction"
    assert "`" in "".join(what for what, _ in rows.values()), "the README's descriptions hold code to render"


def test_a_seventh_notebook_joins_the_navigation_and_the_index(tmp_path, monkeypatch):
    """Notebook 7 (flow matching, written on its own branch) needs no change here: once its file is in
    notebooks/, the index lists it (without a README row yet) and the last notebook's next link points at
    it. Built from notebooks not run (no outputs): the pages' text and links only."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    executed = {}
    for name in ("05_ddim", "06_classifier_free_guidance"):
        executed[name] = nbformat.read(os.path.join(ROOT, "notebooks", f"{name}.ipynb"), 4)
    executed["07_flow_matching"] = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "# 7. Flow matching\n\nIn this notebook you will\n- draw a straight path from noise to data\n")])
    for name, notebook in executed.items():
        nbformat.write(notebook, folder / f"{name}.ipynb")
    monkeypatch.setattr(site.export, "NOTEBOOK_DIR", str(folder))
    site.write_site(executed, str(tmp_path / "site"), guide=False)
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    guidance = (tmp_path / "site" / "06_classifier_free_guidance.html").read_text(encoding="utf-8")
    assert 'href="07_flow_matching.html"' in index and "7. Flow matching" in index
    assert "then on to flow matching" in index and "is being written" not in index
    assert "draw a straight path from noise to data" in index, "its 'you will' list"
    assert '<a class="series-next" href="07_flow_matching.html">' in guidance
    assert site.readme_rows()["06_classifier_free_guidance"][0][:40] in index.replace("&#39;", "'")


# ---- a site built from two notebooks ------------------------------------------------------------------

LEAKS = r'''
import os, tempfile, traceback, torch
plots.show_images(torch.rand(2, 1, 28, 28));  # [0, 1] images: a warning pointed at this cell
try:
    torch.load(os.path.join(tempfile.mkdtemp(), "missing.pt"))  # a traceback through torch's files
except FileNotFoundError:
    traceback.print_exc()
print("saved to", os.path.join(tempfile.mkdtemp(), "copy.pt"), "from", dh.__file__, "and", torch.__file__)
'''


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Notebooks 1 and 2 run in quick mode (notebook 2 with the LEAKS cell added), as `make site` builds them."""
    folder = tmp_path_factory.mktemp("notebooks")
    executed = {}
    for name in ("01_noise_schedules", "02_forward_process"):
        notebook = nbformat.read(os.path.join(ROOT, "notebooks", f"{name}.ipynb"), 4)
        if name == "02_forward_process":
            notebook.cells.append(nbformat.v4.new_code_cell(LEAKS.strip()))
        path = folder / f"{name}.ipynb"
        nbformat.write(notebook, path)
        executed[name] = export.execute(str(path))
        executed[name].metadata["diffusion_run"] = {"mode": "quick"}
    out = tmp_path_factory.mktemp("site")
    site.write_site(executed, str(out))
    pages = {path[:-5]: (out / path).read_text(encoding="utf-8") for path in os.listdir(out) if path.endswith(".html")}
    return out, executed, pages


def visible(page):
    """A page without its embedded images and scripts' data (base64 may spell anything)."""
    return re.sub(r"data:[\w/+.-]+;base64,[\w+/=]+", "data:", page)


@pytest.mark.full
def test_pages_link_previous_next_and_the_index(built):
    _, _, pages = built
    assert set(pages) == {"index", "01_noise_schedules", "02_forward_process", "instructor_guide"}
    def bar(name):
        return re.findall(r'<a class="series-(previous|home|guide|next)" href="([\w.]+)">', pages[name])
    assert bar("index") == [("guide", "instructor_guide.html"), ("next", "01_noise_schedules.html")] * 2  # top, bottom
    assert bar("01_noise_schedules") == [("previous", "index.html"), ("home", "index.html"),
                                         ("next", "02_forward_process.html")] * 2
    assert bar("02_forward_process") == [("previous", "01_noise_schedules.html"), ("home", "index.html")] * 2
    assert bar("instructor_guide") == [("previous", "index.html"), ("next", "01_noise_schedules.html")] * 2
    assert 'href="instructor_guide.html"' in pages["index"]
    assert "<title>1. Noise schedules</title>" in pages["01_noise_schedules"]
    for name in ("01_noise_schedules", "02_forward_process"):
        assert pages["index"].count(f'href="{name}.html"') >= 1


@pytest.mark.full
def test_each_page_has_its_colab_and_binder_buttons_and_run_line(built):
    _, _, pages = built
    repository, release = address.read_address(), address.read_release()
    for name in ("01_noise_schedules", "02_forward_process"):
        colab, binder = address.links(repository, f"{name}.ipynb", release)
        for link, label in ((colab, "Open in Colab"), (binder, "Open in Binder")):
            button = re.search(rf'<a href="{re.escape(link.replace("&", "&amp;"))}"[^>]*><span style="[^"]*">{label}</span></a>',
                               pages[name])
            assert button, f"{name}: no {label} button linking {link}"
            assert f'href="{link.replace("&", "&amp;")}"' in pages["index"], f"the index's {label} link for {name}"
        assert "Shown as run in quick mode" in pages[name] and "Shown as run in quick mode" in pages["index"]
        assert "colab-badge.svg" not in pages[name] and "badge_logo.svg" not in pages[name]


@pytest.mark.full
def test_every_static_widget_drawing_has_its_caption(built):
    _, executed, pages = built
    for name, notebook in executed.items():
        sliders = sum(site_outputs.is_control(output, {}) for cell in notebook.cells for output in cell.get("outputs", []))
        assert sliders >= 1 and pages[name].count('class="series-widget-caption"') == sliders, name


@pytest.mark.full
def test_no_page_shows_a_path_of_the_building_machine(built):
    _, _, pages = built
    leaks = re.compile(re.escape(ROOT) + r"|site-packages|dist-packages|/tmp/|ipykernel_|"
                       + re.escape(os.path.expanduser("~")) + "/")
    for name, page in pages.items():
        found = [page[max(0, m.start() - 60):m.end() + 60] for m in leaks.finditer(visible(page))]
        assert not found, f"{name}: {found[:3]}"
    page = pages["02_forward_process"]  # the LEAKS cell: what it printed, by names a reader can use
    for words in ("UserWarning: images are all &gt;= 0", "torch/serialization.py", ".../missing.pt",
                  "saved to .../copy.pt from diffusion_helpers/__init__.py and torch/__init__.py"):
        assert words in page, words
    assert re.search(r"Cell In\[\d+\], line 2: UserWarning", page), "the warning names the cell and its line"
    assert re.search(r'File "Cell In\[\d+\]", line 4, in &lt;module&gt;', page), "the traceback names the cell"


@pytest.mark.full
def test_index_text_is_rendered_and_the_guide_is_a_page(built):
    _, _, pages = built
    text = re.sub(r"<(script|style)\b.*?</\1>", "", pages["index"], flags=re.S)
    body = re.sub(r"<[^>]+>", "", text.split('<main>', 1)[1])
    assert "`" not in body, "raw backticks in the index"
    assert "<code>q_sample</code>" in pages["index"]  # notebook 2's description: `q_sample`
    assert "What it teaches" in pages["index"] and "Quick / full run on a 2-core CPU: 13 s / 13 s" in body
    assert "Six-lecture plan" in pages["instructor_guide"] or "six-lecture plan" in pages["instructor_guide"].lower()
    with open(site.GUIDE, encoding="utf-8") as file:
        first_heading = next(line[2:].strip() for line in file if line.startswith("# "))
    assert first_heading in pages["instructor_guide"]


@pytest.mark.full
def test_index_and_a_page_open_from_disk_with_no_network(built):
    """The index (the README's maths) and notebook 1's page, opened as files with every other request
    aborted: the maths typeset by the local MathJax, no raw TeX, nothing requested from the network.
    Screenshots: build/browser-test/site_index.png and site_page.png."""
    from test_offline_pages import CHROMIUM, RAW_TEX, SHOTS, open_offline, playwright_api, wait_for_mathjax

    if CHROMIUM is None:
        pytest.skip("no chromium on this machine (make test-all installs Debian's)")
    out, _, _ = built
    os.makedirs(SHOTS, exist_ok=True)
    with playwright_api.sync_playwright() as driver:
        for page_name, shot in (("index", "site_index.png"), ("01_noise_schedules", "site_page.png")):
            browser, page, left = open_offline(driver, str(out / f"{page_name}.html"))
            wait_for_mathjax(page, left)
            assert page.evaluate(RAW_TEX) == [], f"raw TeX shows on {page_name}"
            assert page.evaluate("() => document.querySelectorAll('nav.series-nav a').length") >= 2
            page.screenshot(path=os.path.join(SHOTS, shot))
            browser.close()
            assert left == [], f"{page_name}: requests left the machine: {left}"
