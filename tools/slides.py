"""reveal.js slides of the notebooks, every slide within a 1280x720 screen.

Each `## ` section is a slide (export.py's ``slide_type``, written into the notebooks); here it is
split into sub-slides (reveal.js's vertical slides: the space bar walks through them) so that each
fits: markdown at its blocks (paragraphs, list items, tables, $$ displays, folds), a code cell's
input at its lines and its outputs one by one; each piece's height is estimated by
tools/slide_layout.py and pieces are packed in order, a new sub-slide whenever the next does not
fit. A heading stays with what follows it (a paragraph ending with a colon too, where there is
room), a solution fold (<details>) and a speaker-notes cell
with what precedes them, a code cell's input with its first output, and a figure is scaled to the
space left (down to ``SHRINK`` of its size) or moves on. Outputs a slide has no use for stay off
it (tools/slide_outputs.py): progress bars, the check of an exercise not yet answered, and widgets
that cannot move outside a kernel (one line names their controls instead; their static figure shows).
A markdown cell tagged ``notes`` is shown in reveal.js's speaker view (press S), not on the slide.
"""
import copy
import os
import sys

import nbformat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tools/ is no package
import export  # noqa: E402
import offline_assets  # noqa: E402
import slide_layout as layout  # noqa: E402
from slide_outputs import ANSI, printout, slide_outputs  # noqa: E402

SHRINK = 0.6  # a figure may shrink to this share of its size to stay on the slide before it


def folder(presenter=False, code=True):  # build/slides, build/slides-presenter, ...-no-code
    return os.path.join(export.ROOT, "build", "slides" + ("-presenter" if presenter else "") + ("" if code else "-no-code"))


class Piece:
    """One unit of a slide: a markdown block, a few lines of a code cell's input, or one output."""

    def __init__(self, cell, kind, content, height, joiner="", natural=None):
        self.cell, self.kind, self.content, self.height = cell, kind, content, height
        self.joiner, self.natural, self.width = joiner, natural, None  # natural: a figure's size
        self.keep_with_next = self.keep_with_prev = self.lead_in = False  # lead-in: a paragraph ending with ":"
        self.min_height = height * SHRINK if natural else height


def markdown_blocks(source):
    """[(joiner, block)]: a markdown cell cut where it may be split, with the separator that
    preceded each block; blank lines end a block, a heading, a top-level list item and a $$ display
    at the start of a line start one (a display ends its block too), and fenced code, displays and
    <details> folds stay whole."""
    blocks, current, joiner, fence, maths, details = [], [], "", False, False, 0

    def flush(next_joiner):
        nonlocal current, joiner
        if current:
            blocks.append((joiner, "\n".join(current)))
            current, joiner = [], next_joiner
        elif blocks:
            joiner = next_joiner if next_joiner == "\n\n" else joiner

    for line in source.splitlines():
        free = not (fence or maths or details)
        if free and not line.strip():
            flush("\n\n")
            continue
        display = free and line.startswith("$$")
        if free and (layout.HEADING.match(line) or layout.LIST_ITEM.match(line) and not line[:1].isspace() or display):
            flush("\n")
        current.append(line)
        was_maths = maths
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence:
            maths ^= line.count("$$") % 2 == 1
            details += line.count("<details") - line.count("</details>")
        closed = (display or was_maths) and not maths and not details and current[0].startswith("$$")
        if free and layout.HEADING.match(line) or closed:
            flush("\n")
    flush("")
    return blocks


def line_chunks(text, height, limit):
    """``text`` cut at line ends into parts each within ``limit`` px (``height`` measures one)."""
    chunks, lines = [], []
    for line in text.rstrip("\n").split("\n"):
        if lines and height("\n".join(lines + [line])) > limit:
            blank = max((k for k, old in enumerate(lines) if not old.strip() and k > len(lines) // 2), default=None)
            cut = blank + 1 if blank else len(lines)  # at a blank line in the second half, if there is one
            chunks.append("\n".join(lines[:cut]).rstrip("\n"))
            lines = [old for old in lines[cut:]]
        lines.append(line)
    return chunks + ["\n".join(lines)]


def output_piece(cell, output, mode):
    data, gap = output.get("data", {}), layout.GAP * layout.sizes(mode)["body"]
    if output.output_type == "stream" or set(data) == {"text/plain"}:
        text = ANSI.sub("", output.text if output.output_type == "stream" else data["text/plain"])
        size = layout.printout_size(text, mode)
        pieces = []
        for part in line_chunks(text, lambda chunk: layout.code_height(chunk, mode, size) + gap, layout.PART):
            piece = printout(output, part, size if size < layout.sizes(mode)["code"] else None)
            pieces.append(Piece(cell, "output", piece, layout.code_height(part, mode, size) + gap))
        return pieces
    if "image/png" in data:
        width, height = layout.png_size(data["image/png"])
        shown = output.get("metadata", {}).get("image/png", {}).get("width")
        natural = (shown, height * shown / width) if shown else (width, height)
        piece = Piece(cell, "output", output, 0, natural=natural)
        piece.width = layout.figure_width(natural, mode, layout.BUDGET - gap)
        piece.height = piece.width * natural[1] / natural[0] + gap
        piece.min_height = piece.height * SHRINK
        return [piece]
    if "text/html" in data and "series-widget-note" in data["text/html"]:
        return [Piece(cell, "output", output, layout.text_height(data["text/html"], mode, "small") * layout.SAFETY + gap)]
    if "text/html" in data and 'class="animation"' in data["text/html"]:  # matplotlib's player
        return [Piece(cell, "output", output, layout.animation_height(mode))]
    return [Piece(cell, "output", output, layout.PART)]  # anything else: most of a slide


def pieces_of(cell, mode, code):
    """The pieces of one cell (see ``Piece``), their keep-together marks set."""
    if cell.cell_type == "markdown":
        if "notes" in cell.metadata.get("tags", []):
            piece = Piece(cell, "notes", cell.source, 0.0)
            piece.keep_with_prev = True
            return [piece]
        pieces = []
        for joiner, block in markdown_blocks(cell.source):
            if block.startswith("|") and layout.markdown_block_height(block, mode) > layout.PART:
                header, rows = block.split("\n")[:2], block.split("\n")[2:]  # a long table: its rows in parts
                parts = line_chunks("\n".join(rows), lambda part: layout.markdown_block_height(
                    "\n".join(header + [part]), mode), layout.PART)
                pieces += [Piece(cell, "markdown", "\n".join(header + [part]), layout.markdown_block_height(
                    "\n".join(header + [part]), mode), joiner if k == 0 else "\n\n") for k, part in enumerate(parts)]
                continue
            if layout.is_paragraph(block) and layout.markdown_block_height(block, mode) > layout.PART:
                parts = line_chunks(" ".join(block.split("\n")).replace(". ", ".\n"),
                                    lambda part: layout.markdown_block_height(part, mode), layout.PART)
                pieces += [Piece(cell, "markdown", part.replace(".\n", ". "), layout.markdown_block_height(part, mode),
                                 joiner if k == 0 else " ") for k, part in enumerate(parts)]  # at sentence ends
                continue
            piece = Piece(cell, "markdown", block, layout.markdown_block_height(block, mode), joiner)
            piece.keep_with_next = bool(layout.HEADING.match(block))
            piece.lead_in = layout.is_paragraph(block) and block.rstrip().endswith(":")
            piece.keep_with_prev = block.lstrip().startswith("<details")
            pieces.append(piece)
        return pieces
    outputs = [piece for output in slide_outputs(cell.get("outputs", [])) for piece in output_piece(cell, output, mode)]
    inputs = []
    if code and cell.source.strip():
        gap = layout.GAP * layout.sizes(mode)["body"]
        parts = line_chunks(cell.source, lambda chunk: layout.code_height(chunk, mode), layout.PART)
        inputs = [Piece(cell, "input", part, layout.code_height(part, mode) + gap) for part in parts]
        inputs[-1].keep_with_next = bool(outputs)
    return inputs + outputs


def groups(pieces, forced=()):
    """Runs of pieces that keep together (a lead-in never with a piece that starts a sub-slide)."""
    runs = []
    for piece in pieces:
        lead_in = runs and runs[-1][-1].lead_in and piece not in forced
        if runs and (runs[-1][-1].keep_with_next or lead_in or piece.keep_with_prev):
            runs[-1].append(piece)
        else:
            runs.append([piece])
    return runs


def fit_figures(group, room):
    """Shrink the group's figures (never below SHRINK) so that it takes ``room`` px; True if it does."""
    figures = [piece for piece in group if piece.natural]
    fixed = sum(piece.height for piece in group if not piece.natural)
    wanted = sum(piece.height for piece in figures)
    if not figures or fixed + sum(piece.min_height for piece in figures) > room:
        return False
    scale = min(1.0, (room - fixed) / wanted)
    for piece in figures:
        piece.width, piece.height = int(piece.width * scale), piece.height * scale
    return True


def pack(pieces, forced):
    """Sub-slides (lists of pieces) of one section; ``forced``: pieces that start a sub-slide."""
    slides, used = [[]], 0.0
    for group in groups(pieces, forced):
        height = sum(piece.height for piece in group)
        if slides[-1] and (group[0] in forced or used + height > layout.BUDGET
                           and not fit_figures(group, layout.BUDGET - used)):
            slides.append([])
            used = 0.0
        if height > layout.BUDGET and not fit_figures(group, layout.BUDGET) and len(group) > 1:
            for piece in group:  # too tall even alone: its pieces go one by one
                if slides[-1] and used + piece.height > layout.BUDGET:
                    tail = []  # a heading and its notes at the slide's end move on (a lead-in where it fits)
                    while slides[-1]:
                        last = slides[-1][-1]
                        room = sum(kept.height for kept in tail) + last.height + piece.height <= layout.BUDGET
                        if not (last.kind == "notes" or last.keep_with_next and last.kind == "markdown"
                                or last.lead_in and room):
                            break
                        tail.insert(0, slides[-1].pop())
                    slides.append(tail)
                    used = sum(kept.height for kept in tail)
                slides[-1].append(piece)
                used += piece.height
            continue
        slides[-1].extend(group)
        used += sum(piece.height for piece in group)
    return [slide for slide in slides if slide]


def cell_of(run, number):
    """One cell of the slide notebook from consecutive pieces of the same notebook cell."""
    source, height = run[0].cell, round(sum(piece.height for piece in run), 1)  # the estimate, for tests
    if run[0].kind in ("markdown", "notes"):
        text = run[0].content + "".join(piece.joiner + piece.content for piece in run[1:])
        return nbformat.v4.new_markdown_cell(text, id=f"{source.id}-{number}"[:64], metadata={
            "tags": source.metadata.get("tags", []), "series_height": height})
    lines = [piece.content for piece in run if piece.kind == "input"]
    cell = nbformat.v4.new_code_cell("\n".join(lines), id=f"{source.id}-{number}"[:64],
                                     execution_count=source.get("execution_count"), metadata={"series_height": height})
    for piece in run:
        if piece.kind == "output":
            output = copy.deepcopy(piece.content)
            if piece.width:
                output.setdefault("metadata", {}).setdefault("image/png", {})["width"] = int(piece.width)
            cell.outputs.append(output)
    if not lines:
        cell.metadata["transient"] = {"remove_source": True}
    return cell


def slide_notebook(notebook, mode="plain", code=True):
    """The notebook as its deck shows it: one cell per run of pieces, each sub-slide's first cell
    tagged "slide" (a section's first) or "subslide", speaker notes "notes"."""
    sections, previous = [], None
    for cell in notebook.cells:
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if kind == "skip":
            continue
        pieces = pieces_of(cell, mode, code)
        if kind == "slide" or not sections:
            sections.append(([], set()))
        if pieces and kind in ("slide", "subslide"):
            sections[-1][1].add(pieces[0])
        if kind == "notes" and previous == "slide":  # the section's notes: on its first slide
            for piece in pieces:  # between the heading and what the heading keeps with
                piece.keep_with_next = sections[-1][0][0].keep_with_next
            sections[-1][0][1:1] = pieces
        else:
            sections[-1][0].extend(pieces)
        previous = kind
    cells, number, part = [], 0, 0
    for pieces, forced in sections:
        for index, slide in enumerate(pack(pieces, forced)):
            part += index == 0 or slide[0] in forced  # the slide it was before splitting (tools/slide_sizes.py)
            runs = []
            for piece in slide:
                same = runs and runs[-1][-1].cell is piece.cell and (runs[-1][-1].kind == "notes") == (piece.kind == "notes")
                runs[-1].append(piece) if same else runs.append([piece])
            first = True
            for run in runs:
                number += 1
                cell = cell_of(run, number)
                notes = run[0].kind == "notes"
                cell.metadata["slideshow"] = {"slide_type": "notes" if notes else
                                              ("-" if not first else "slide" if index == 0 else "subslide")}
                if first and not notes:
                    cell.metadata["slideshow"]["data"] = {"part": part}
                first = first and notes
                cells.append(cell)
    deck = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(notebook.metadata))
    deck.metadata.pop("widgets", None)  # no widget is drawn on a slide (see slide_outputs)
    return deck


def write_slides(executed, out_dir, presenter=False, code=True, reveal_prefix=None):
    """reveal.js decks of the executed notebooks {name: notebook} in ``out_dir``; their paths."""
    from nbconvert import SlidesExporter

    mode = "presenter" if presenter else "plain"
    os.makedirs(out_dir, exist_ok=True)
    local = offline_assets.copy_into(out_dir)
    # reveal.js's theme "white" carries its fonts (nbconvert's default "simple" imports them from Google,
    # which fails with no network); slide numbers h.v: the section, and the sub-slide within it
    exporter = SlidesExporter(reveal_transition="none", reveal_theme="white", reveal_number="h.v",
                              reveal_width=str(layout.WIDTH), reveal_height=str(layout.HEIGHT),
                              exclude_input_prompt=True, exclude_output_prompt=True,
                              template_name="series_reveal", extra_template_basedirs=[export.TEMPLATES], **local)
    if reveal_prefix:
        exporter.reveal_url_prefix = reveal_prefix
    paths = []
    for name, notebook in executed.items():
        resources = {"series": {"css": layout.css_variables(mode), "margin": layout.MARGIN, "mode": mode,
                                "math_width": layout.math_width(mode)}}
        body = export.text_badges(exporter.from_notebook_node(slide_notebook(notebook, mode, code), resources=resources)[0])
        body = offline_assets.localise(body) if local else body
        paths.append(os.path.join(out_dir, f"{name}.slides.html"))
        with open(paths[-1], "w", encoding="utf-8") as file:
            file.write(body)
    return paths
