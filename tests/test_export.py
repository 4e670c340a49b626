"""The series without a kernel: slide metadata in every notebook, and slides (the site: test_site.py)."""
import glob
import os
import re

import matplotlib.pyplot as plt
import nbformat
import pytest
from conftest import load_tool

import diffusion_helpers as dh

ROOT = os.path.join(os.path.dirname(__file__), "..")
export = load_tool("export")


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb"))), ids=os.path.basename)
def test_every_notebook_carries_its_slide_metadata(path):
    notebook = nbformat.read(path, 4)
    written = [cell.metadata.get("slideshow", {}).get("slide_type") for cell in notebook.cells]
    expected = [cell.metadata["slideshow"]["slide_type"] for cell in export.tagged(nbformat.read(path, 4)).cells]
    assert written == expected, "run `python tools/export.py tag`"
    assert written[0] == "slide" and written.count("skip") == 1 and written.count("slide") >= 6
    setup = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert setup.metadata["slideshow"]["slide_type"] == "skip" and "dh.setup" in setup.source


def test_presenter_mode_enlarges_every_figure():
    with plt.rc_context():
        os.environ["DIFFUSION_PRESENTER"] = "1"
        try:
            dh.setup(verbose=False)
            assert plt.rcParams["font.size"] == dh.plots.PRESENTER["font.size"] > dh.plots.READABLE["font.size"]
            assert plt.rcParams["figure.dpi"] > dh.plots.READABLE["figure.dpi"]
        finally:
            del os.environ["DIFFUSION_PRESENTER"]
        dh.setup(verbose=False)
        assert plt.rcParams["font.size"] == dh.plots.READABLE["font.size"]


@pytest.mark.full
def test_presenter_slides_of_notebook_1(tmp_path):
    """Notebook 1 run once in quick mode, presenter on; its slides show every figure and skip the
    setup cell. (The site's pages: tests/test_site.py.)"""
    name = "01_noise_schedules"
    executed = export.execute(os.path.join(ROOT, "notebooks", f"{name}.ipynb"), presenter=True)
    figures = sum("image/png" in output.get("data", {}) for cell in executed.cells for output in cell.get("outputs", []))
    errors = [output for cell in executed.cells for output in cell.get("outputs", []) if output.output_type == "error"]
    assert figures >= 5 and not errors
    [slides_path] = load_tool("slides").write_slides({name: executed}, tmp_path / "slides", presenter=True)
    slides = open(slides_path, encoding="utf-8").read()
    assert slides.count("data:image/png") >= figures and "--series-body: 30px" in slides  # presenter sizes
    assert "REPOSITORY" not in slides, "the setup cell is skipped in the slides"
    assert len(re.findall(r"<section", slides)) >= 6
