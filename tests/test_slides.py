"""The rules that split a deck into slides that fit (tools/slides.py, tools/slide_layout.py), without
a browser: tests/test_slides_fit.py opens the decks in Chromium."""
import base64
import glob
import os
import struct
import zlib

import nbformat
import pytest
from conftest import load_tool

ROOT = os.path.join(os.path.dirname(__file__), "..")
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
export = load_tool("export")
slides = load_tool("slides")
outputs_tool = load_tool("slide_outputs")
layout = slides.layout


def png(width, height):
    """A blank PNG of ``width`` x ``height`` pixels, base64 as a notebook stores it."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff" * width for _ in range(height))
    body = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return base64.b64encode(body).decode()


def figure(width, height):
    return nbformat.v4.new_output("display_data", data={"image/png": png(width, height), "text/plain": "<Figure>"})


def stream(text, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_a_section_heading_opens_its_cell(path):
    """Text above a `## ` heading in the same cell would show on the next section's slide (as exercise
    answers did on "8. Your turn" and "Summary"): such a cell is two cells."""
    for index, cell in enumerate(nbformat.read(path, 4).cells):
        if cell.cell_type == "markdown":
            lines = cell.source.splitlines()
            headings = [k for k, line in enumerate(lines) if line.startswith("## ")]
            assert headings in ([], [0]), f"cell {index} ({cell.id}): a `## ` heading below other text: split the cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_every_section_opens_with_speaker_notes(path):
    name, cells = os.path.basename(path), nbformat.read(path, 4).cells
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            notes = cells[index + 1]
            assert notes.cell_type == "markdown" and "notes" in notes.metadata.get("tags", []), \
                f"{name}: no notes cell after {cell.source.splitlines()[0]!r}"
            assert 1 <= len(notes.source.splitlines()) <= 4
            assert notes.metadata["slideshow"]["slide_type"] == "notes"


def test_notes_cells_are_markdown_only():
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, 4).cells:
            if "notes" in cell.metadata.get("tags", []):
                assert cell.cell_type == "markdown", f"{os.path.basename(path)}: a code cell tagged notes"


def test_markdown_blocks_cut_where_a_slide_may_break_and_join_back():
    source = ("## A heading\nIntro line,\nsecond line.\n\n- one\n- two\n  continued\n\n1. first\n2. second\n\n"
              "$$\nx = 1\n\ny = 2\n$$\n\n```python\na = 1\n\nb = 2\n```\n\n<details><summary>Show</summary>\n\n"
              "hidden\n\n</details>\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    blocks = slides.markdown_blocks(source)
    texts = [block for _, block in blocks]
    assert texts[0] == "## A heading" and texts[1] == "Intro line,\nsecond line."
    assert texts[2:4] == ["- one", "- two\n  continued"] and texts[4:6] == ["1. first", "2. second"]
    assert texts[6] == "$$\nx = 1\n\ny = 2\n$$" and texts[7].startswith("```") and texts[7].endswith("```")
    assert texts[8].startswith("<details>") and texts[8].endswith("</details>") and texts[9].startswith("| a |")
    assert texts[0] + "".join(joiner + block for joiner, block in blocks[1:]) == source
    inline = "A sentence that leads to\n$$\nx = y + z,\n$$\nand goes on. Then\n$$a = b$$\nends."
    parts = slides.markdown_blocks(inline)
    assert [block for _, block in parts] == ["A sentence that leads to", "$$\nx = y + z,\n$$", "and goes on. Then",
                                             "$$a = b$$", "ends."]
    assert parts[0][1] + "".join(joiner + block for joiner, block in parts[1:]) == inline


def test_code_wraps_instead_of_running_off_the_slide():
    one_line = layout.code_height("x = 1", "plain")
    assert layout.code_height("x = " + "1 + " * 100, "plain") > 3 * one_line  # 400 characters: several lines
    assert layout.wrapped_lines("a" * 250, 100) == 3 and layout.wrapped_lines("ab cd", 3) == 2
    assert layout.code_height("x = 1", "presenter") > one_line


def test_outputs_a_slide_has_no_use_for_stay_off_it():
    tqdm_widget = nbformat.v4.new_output("display_data", data={
        outputs_tool.WIDGET: {"model_id": "m"}, "text/plain": "training:   0%|          | 0/4000 [00:00<?, ?it/s]"})
    sliders = nbformat.v4.new_output("display_data", data={
        outputs_tool.WIDGET: {"model_id": "v"},
        "text/plain": "VBox(children=(IntSlider(value=3, description='t'), Dropdown(description='schedule')))"})
    outputs = [stream("epoch 1\r 45%|####5     | 450/1000 [00:02<00:03]\r100%|##########| 1000/1000 [00:04<00:00]\n",
                      "stderr"),
               tqdm_widget,
               stream("❌ Not yet: your function returned None: did you forget `return`?\n   (The check called it.)\n"),
               stream("✅ Correct! well done\n"),
               sliders, figure(10, 10)]
    kept = outputs_tool.slide_outputs(outputs)
    assert [output.output_type for output in kept] == ["stream", "stream", "display_data", "display_data"]
    assert kept[0].text == "epoch 1\n" and kept[1].text == "✅ Correct! well done\n"
    note = kept[2].data["text/html"]
    assert "t, schedule" in note and outputs_tool.WIDGET not in kept[2].data
    assert "Not yet" not in "".join(output.get("text", "") for output in kept)


def section(cells):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import diffusion_helpers as dh")] + cells)
    return export.tagged(notebook)


def deck_slides(deck):
    """The deck's sub-slides as lists of cells (a cell tagged slide or subslide starts one)."""
    result = []
    for cell in deck.cells:
        kind = cell.metadata["slideshow"]["slide_type"]
        if kind in ("slide", "subslide"):
            result.append([])
        result[-1].append(cell)
    return result


@pytest.mark.parametrize("mode", layout.MODES)
def test_a_long_section_is_split_into_sub_slides_that_fit(mode):
    paragraphs = "\n\n".join(f"Paragraph {k}: " + "words that go on " * 12 for k in range(12))
    code = "\n".join(f"value_{k} = compute({k})  # a comment that makes the line long enough to wrap" for k in range(60))
    long_cell = nbformat.v4.new_code_cell(code)
    long_cell.outputs = [stream("".join(f"row {k}: {k * k}\n" for k in range(80))), figure(900, 600)]
    exercise = nbformat.v4.new_code_cell("def answer():\n    return None\n\ncheck(answer)")
    exercise.outputs = [stream("❌ Not yet: your function returned None\n")]
    notebook = section([nbformat.v4.new_markdown_cell("## 1. A long section\n\n" + paragraphs),
                        nbformat.v4.new_markdown_cell("Say this.", metadata={"tags": ["notes"]}),
                        long_cell, exercise,
                        nbformat.v4.new_markdown_cell("<details><summary>Show a solution</summary>\n\nx\n</details>"),
                        nbformat.v4.new_markdown_cell("## 2. Next\n\nShort.")])
    deck = slides.slide_notebook(notebook, mode)
    kinds = [cell.metadata["slideshow"]["slide_type"] for cell in deck.cells]
    assert kinds.count("slide") == 2 and kinds.count("subslide") >= 4 and kinds.count("notes") == 1
    assert kinds[1] == "notes", "the notes stay on the section's first slide"
    for number, cells in enumerate(deck_slides(deck)):
        first = cells[0]
        assert not first.source.lstrip().startswith("<details"), f"slide {number} starts with a solution"
        last = [cell for cell in cells if cell.metadata["slideshow"]["slide_type"] != "notes"][-1]
        assert not (last.cell_type == "markdown" and last.source.splitlines()[-1].startswith("#")), \
            f"slide {number} ends with a heading"
        height = sum(cell.metadata["series_height"] for cell in cells)
        assert height <= layout.BUDGET, f"slide {number}: {height:.0f} px estimated, {layout.BUDGET} px room"
    text = "".join(cell.source for cell in deck.cells)
    assert "value_59" in text and "Paragraph 11" in text, "nothing is lost"
    figures = [output for cell in deck.cells if cell.cell_type == "code" for output in cell.outputs
               if "image/png" in output.get("data", {})]
    assert len(figures) == 1 and figures[0].metadata["image/png"]["width"] <= layout.BODY_WIDTH
    assert all("Not yet" not in output.get("text", "") for cell in deck.cells if cell.cell_type == "code"
               for output in cell.outputs)


def test_leaving_code_out_keeps_text_and_figures():
    cell = nbformat.v4.new_code_cell("fig = plot()")
    cell.outputs = [figure(400, 300), stream("a printout\n")]
    deck = slides.slide_notebook(section([nbformat.v4.new_markdown_cell("## 1. Figures\n\nText."), cell]), code=False)
    [shown] = [cell for cell in deck.cells if cell.cell_type == "code"]
    assert shown.metadata["transient"] == {"remove_source": True} and len(shown.outputs) == 2


def test_presenter_figures_are_larger_and_stay_on_the_slide():
    plain, presenter = (layout.figure_width((780, 217), mode, layout.BUDGET) for mode in ("plain", "presenter"))
    assert presenter > plain >= 780 and presenter <= layout.BODY_WIDTH
    assert layout.figure_width((600, 1800), "presenter", layout.BUDGET) * 3 <= layout.BUDGET
    with pytest.raises(ValueError, match="mode 'hall' is not one of"):
        layout.sizes("hall")


def test_presenter_text_is_at_least_28_px_on_a_1280x720_screen():
    scale = min(1280 / layout.WIDTH, 720 / layout.HEIGHT) * (1 - layout.MARGIN)
    assert layout.SIZES["presenter"]["body"] * scale >= 28 and layout.SIZES["presenter"]["small"] * scale >= 28  # tables
    assert "--series-body: 30px" in layout.css_variables("presenter")


def test_a_long_table_is_split_at_its_rows_with_its_header_on_each_part():
    rows = "\n".join(f"| `name_{k}` | what it does, in a few words {k} |" for k in range(60))
    notebook = section([nbformat.v4.new_markdown_cell("## 1. Names\n\n| name | meaning |\n|---|---|\n" + rows)])
    deck = slides.slide_notebook(notebook, "presenter")
    tables = [cell.source for cell in deck.cells if "|---|---|" in cell.source]
    assert len(tables) >= 3 and all(table.count("| name | meaning |") == 1 for table in tables)
    assert sum(table.count("`name_") for table in tables) == 60
    assert all(cell.metadata["series_height"] <= layout.BUDGET for cell in deck.cells)


@pytest.mark.parametrize("mode", layout.MODES)
def test_a_heading_is_never_left_alone_by_its_notes(mode):
    """A heading, its notes, then a code cell and a figure that fill a slide: the heading moves on with them."""
    cell = nbformat.v4.new_code_cell("\n".join(f"line_{k} = {k}" for k in range(20)))
    cell.outputs = [figure(1000, 900)]
    notebook = section([nbformat.v4.new_markdown_cell("## 1. A figure"),
                        nbformat.v4.new_markdown_cell("Say this.", metadata={"tags": ["notes"]}), cell])
    deck = slides.slide_notebook(notebook, mode)
    kinds = [cell.metadata["slideshow"]["slide_type"] for cell in deck.cells]
    assert kinds[:3] == ["slide", "notes", "-"], kinds


@pytest.mark.parametrize("mode", layout.MODES)
def test_a_paragraph_ending_with_a_colon_stays_with_what_it_introduces(mode):
    """Text that fills most of a slide, then "The names:" and a long table: the colon's line moves on
    with the table's first rows; a sub-slide's heading after a lead-in still starts its sub-slide."""
    filler = "\n\n".join("Words that fill the slide " * 6 for _ in range(7 if mode == "plain" else 4))
    rows = "\n".join(f"| `name_{k}` | what it does, in a few words {k} |" for k in range(40))
    notebook = section([nbformat.v4.new_markdown_cell(f"## 1. Names\n\n{filler}\n\nThe names:\n\n"
                                                      f"| name | meaning |\n|---|---|\n{rows}\n\nAnd then:"),
                        nbformat.v4.new_markdown_cell("### 1.1 A part of its own\n\nShort.")])
    deck = slides.slide_notebook(notebook, mode)
    for cells in deck_slides(deck):
        text = "\n\n".join(cell.source for cell in cells)
        assert ("The names:" in text) == ("| `name_0` |" in text), f"the lead-in apart from its table:\n{text}"
        assert sum(cell.metadata["series_height"] for cell in cells) <= layout.BUDGET
    [part] = [cell for cell in deck.cells if cell.source.startswith("### 1.1")]
    assert part.metadata["slideshow"]["slide_type"] == "subslide"


def test_a_badge_counts_as_its_words():
    """A badge is an image inside a link: its words show, not the addresses (they were counted as text)."""
    badges = ("[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google"
              ".com/github/owner/repository/blob/main/notebooks/04_mnist_unet.ipynb) [![Open in Binder](https://mybinder"
              ".org/badge_logo.svg)](https://mybinder.org/v2/gh/owner/repository/main?labpath=notebooks)")
    assert layout.visible_text(badges) == "Open in Colab Open in Binder"
    assert layout.markdown_block_height(badges, "plain") == layout.markdown_block_height("Open in Colab", "plain")
