"""How tall each piece of a slide is at 1280x720: the rule tools/slides.py splits decks by.

A deck is laid out at 1280x720 CSS px (reveal.js's width and height; at a 1280x720 screen it is
scaled by 1 - MARGIN), in the sizes of ``SIZES[mode]``, which the template's style sheet receives
as CSS variables (``css_variables``): the numbers here and the style sheet are one rule. Heights are
estimated without a browser, on the safe side: text is wrapped word by word at a width per
character a little above the fonts' own (Source Sans Pro for text, which reveal.js's white theme
carries, so every machine has it; a monospace font for code, 0.6 em wide in DejaVu Sans Mono,
Menlo and Courier), and code wraps where the style sheet wraps it (white-space: pre-wrap, so
nothing is cut at the right edge). tests/test_slides_fit.py opens every slide in Chromium and
checks that it fits.
"""
import base64
import math
import re
import struct

WIDTH, HEIGHT, MARGIN = 1280, 720, 0.02
PAD_X, PAD_Y = 36, 18  # the section's padding (px)
BODY_WIDTH = WIDTH - 2 * PAD_X
SLACK = 16  # px no estimate may use: a figure scaled to the space left stays clear of the bottom edge
BUDGET = HEIGHT - 2 * PAD_Y - SLACK  # the height a slide's content may take
PART = 0.8 * BUDGET  # the most a part of a long code cell, printout or table takes: a heading above it still fits
SIZES = {  # px at the layout's scale; presenter: body and table text >= 28 px on a 1280x720 screen after the scale
    "plain": {"body": 24, "code": 18, "h1": 44, "h2": 36, "h3": 30, "small": 18, "figure_upscale": 1.25},
    "presenter": {"body": 30, "code": 24, "h1": 52, "h2": 44, "h3": 36, "small": 29, "figure_upscale": 2.0},
}
MODES = tuple(SIZES)
LINE, CODE_LINE, HEADING_LINE = 1.3, 1.25, 1.15  # line heights (em)
TEXT_CHAR, CODE_CHAR = 0.48, 0.62  # width per character (em): no paragraph or list item of the six decks (255,
BOLD_CHAR = 0.52  # plain and presenter) wraps to more lines in Chromium; headings and tables (bold) take 0.52
GAP = 0.5  # em of body text between two cells, and below a paragraph
CODE_PAD = 0.3  # em of code: padding of a code or output block
SAFETY = 1.06  # every estimate is stretched by this much
PRINTOUT_SHRINK = 0.7  # a wide printout's smallest font, as a share of the code's
ANIMATION_CONTROLS = 7.5  # em of body text an animation takes beside its frames: margins, slider, buttons, loop choices


def sizes(mode):
    if mode not in SIZES:
        raise ValueError(f"mode {mode!r} is not one of {MODES}")
    return SIZES[mode]


def css_variables(mode):
    """The style sheet's variables for ``mode``: the same numbers the estimates use."""
    size = sizes(mode)
    names = {f"--series-{name}": f"{value}px" for name, value in size.items() if name != "figure_upscale"}
    names.update({"--series-pad-x": f"{PAD_X}px", "--series-pad-y": f"{PAD_Y}px", "--series-line": str(LINE),
                  "--series-code-line": str(CODE_LINE), "--series-heading-line": str(HEADING_LINE),
                  "--series-gap": f"{GAP}em", "--series-code-pad": f"{CODE_PAD}em",
                  "--series-animation": f"{animation_frame_height(mode):.0f}px"})
    return ":root { " + " ".join(f"{name}: {value};" for name, value in names.items()) + " }"


def animation_height(mode):
    """How tall an animation (matplotlib's HTML player) is counted: a slide, less two lines of
    text for a line that introduces it."""
    return BUDGET - 2 * LINE * sizes(mode)["body"]


def animation_frame_height(mode):
    """How tall its frames are shown (the style sheet's limit), so that it takes ``animation_height``."""
    return animation_height(mode) - ANIMATION_CONTROLS * sizes(mode)["body"]


def math_width(mode):
    """How wide (em of maths: MathJax draws it at 109% of the text) a formula may be before MathJax
    breaks it: the slide's width."""
    return round(BODY_WIDTH / (1.09 * sizes(mode)["body"]) * 0.97, 1)


def wrapped_lines(text, chars_per_line):
    """How many lines ``text`` takes wrapped word by word at ``chars_per_line``, as CSS
    white-space: pre-wrap wraps it: a line's indentation counts, the spaces before a break stay on
    the line they end, and a word longer than a line is broken (overflow-wrap: anywhere)."""
    chars_per_line = max(int(chars_per_line), 1)
    total = 0
    for line in text.split("\n"):
        count, used = 1, 0
        for word in re.findall(r"\s*\S+", line):  # each word with the spaces before it
            if used and used + len(word) > chars_per_line:
                count, used, word = count + 1, 0, word.lstrip()
            while len(word) > chars_per_line:
                count, word = count + 1, word[chars_per_line:]
            used += len(word)
        total += count
    return total


def code_chars(size):
    """How many characters of code at ``size`` px fit across the slide."""
    return (BODY_WIDTH - 2 * CODE_PAD * size) / (CODE_CHAR * size)


def code_height(text, mode, size=None):
    """A code block (a cell's input or a printout, at ``size`` px, else the mode's): wrapped lines
    of monospace plus padding."""
    size = size or sizes(mode)["code"]
    lines = wrapped_lines(text.rstrip("\n"), code_chars(size))
    return SAFETY * (lines * CODE_LINE * size + 2 * CODE_PAD * size)


def printout_size(text, mode):
    """The font size a printout is shown at: the mode's code size, smaller (down to PRINTOUT_SHRINK
    of it) where its longest line would otherwise wrap, so that a printed table keeps its columns."""
    size = sizes(mode)["code"]
    longest = max((len(line) for line in text.split("\n")), default=0)
    if longest <= code_chars(size):
        return size
    return max(PRINTOUT_SHRINK * size, size * code_chars(size) / longest * 0.98)


# markdown, as the eye reads it: what a link, emphasis, inline code and inline maths leave on the line
INLINE_MATH = re.compile(r"\$([^$]+)\$")
LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")  # first: a badge is an image inside a link
TAG = re.compile(r"<[^>]+>")
HEADING = re.compile(r"^(#{1,6}) ")
LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])\s")


def shown_maths(match):
    """Inline maths as the characters it takes on a line: a command (\\bar, \\alpha), a brace, a
    script sign or a space counts one, the sum halved (close to what MathJax draws)."""
    return "m" * (len(re.sub(r"\\[a-zA-Z]+|[{}_^ ]", "x", match.group(1))) // 2 + 1)


def visible_text(markdown):
    """The characters a paragraph shows, roughly: maths as ``shown_maths`` counts it, inline code
    at 1.2 (a wider font)."""
    text = INLINE_MATH.sub(shown_maths, LINK.sub(r"\1", IMAGE.sub(r"\1", markdown)))
    text = re.sub(r"`([^`]*)`", lambda match: "c" * round(1.2 * len(match.group(1))), text)
    text = TAG.sub("", text).replace("**", "").replace("__", "")
    return re.sub(r"(?<!\w)\*|\*(?!\w)", "", text)


TALL_MATH = re.compile(r"\\(frac|tfrac|dfrac|sqrt|sum|prod|int|big|Big|binom|hat|tilde|bar|overline)")


def text_height(markdown, mode, size_name="body", indent=0.0):
    """Wrapped lines of text; a line with a fraction, a root or an accent in its maths stands taller."""
    size = sizes(mode)[size_name]
    chars = (BODY_WIDTH - indent * size) / (TEXT_CHAR * size)
    lines = wrapped_lines(" ".join(visible_text(markdown).split()), chars)
    tall = min(lines, sum(bool(TALL_MATH.search(maths)) for maths in INLINE_MATH.findall(markdown)))
    return (lines * LINE + tall * 0.3) * size


TEXT_IN_MATHS = re.compile(r"\\(?:text|mathrm|operatorname)\{([^{}]*)\}")


def display_math_height(tex, mode):
    """A $$...$$ block, as MathJax draws it in Chromium: 1 em margins above and below, 1.5 em a
    line, 2 em more for each line with a fraction, a sum, product or integral with limits or a
    matrix (as many lines as it has those), 1 em more with an under- or overbrace, 0.4 em in a box;
    as many lines as MathJax breaks it into where it is wider than the slide (``math_width``;
    words in \\text at their full width; a broken line counted 3/4 full)."""
    size = sizes(mode)["body"]
    body = tex.strip().strip("$")
    rows = 1 + body.count("\\\\")
    stacked = len(re.findall(r"\\(frac|dfrac|sum|prod|int|binom|begin\{(cases|pmatrix|bmatrix))", body))
    tall = 1.0 if re.search(r"\\(underbrace|overbrace)", body) else 0.0
    tall += 0.4 if "\\boxed" in body else 0.0
    words = sum(len(text) for text in TEXT_IN_MATHS.findall(body))
    rest = TEXT_IN_MATHS.sub("", body)
    wide = (len(shown_maths(re.match(r"(?s)(.*)", rest))) * 0.6 + words * 0.5) * 1.09 * size
    broken = 1 if wide <= 0.95 * BODY_WIDTH else math.ceil(wide / (0.75 * BODY_WIDTH))  # breaks waste a line's end
    lines = max(rows, broken)
    return (lines * 1.5 + 2.0 * min(stacked, lines) + tall) * size + 2.0 * size


def is_paragraph(block):
    """Plain text: not a heading, list item, table, quote, display, fenced code or fold."""
    first = block.lstrip()
    return not (HEADING.match(first) or LIST_ITEM.match(block) or first[:1] in "|>$`<")


def table_height(lines, mode):
    """A markdown table: each row as tall as its longest cell wrapped in its column, columns as
    wide as their longest cell asks (a browser's automatic table layout)."""
    size = sizes(mode)["small"]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines
            if not re.match(r"^\s*\|?\s*:?-{3,}", line)]
    columns = max(len(row) for row in rows)
    longest = [max(len(visible_text(row[k])) if k < len(row) else 0 for row in rows) + 2 for k in range(columns)]
    chars = BODY_WIDTH / (BOLD_CHAR * size)
    share = [max(chars * wide / sum(longest), min(wide, 8)) for wide in longest]
    height = 0.0
    for row in rows:
        height += max(wrapped_lines(visible_text(cell), share[k] - 2) for k, cell in enumerate(row)) * LINE * size
        height += 0.5 * size  # the cells' padding
    return height




def markdown_block_height(block, mode):
    """One block of markdown (see tools/slides.py markdown_blocks): a heading, a paragraph, a list
    item, a table, a $$ display, a fenced code block, a closed <details> fold."""
    size = sizes(mode)
    stripped = block.strip()
    heading = HEADING.match(stripped)
    if heading:
        level = min(len(heading.group(1)), 3)
        font = size[f"h{level}"]
        chars = BODY_WIDTH / (BOLD_CHAR * font)
        return SAFETY * (wrapped_lines(visible_text(stripped[heading.end():]), chars) * HEADING_LINE * font + 0.5 * font)
    if stripped.startswith("<details"):  # shown closed: its summary line
        return SAFETY * (LINE * size["body"] + GAP * size["body"])
    if stripped.startswith("```"):
        return code_height("\n".join(stripped.splitlines()[1:-1]), mode) + GAP * size["body"]
    if stripped.startswith("$$") and stripped.endswith("$$"):
        return SAFETY * display_math_height(stripped, mode)
    if stripped.startswith("|"):
        return SAFETY * table_height(stripped.splitlines(), mode) + GAP * size["body"]
    if stripped.startswith(">"):  # a quote: a paragraph a little indented, with its padding
        text = "\n".join(re.sub(r"^>\s?", "", line) for line in stripped.splitlines())
        return SAFETY * (text_height(text, mode, indent=1.5) + (0.5 + GAP) * size["body"])
    item = LIST_ITEM.match(block)
    height, indent = 0.0, 1.6 if item else 0.0
    for part in re.split(r"(\$\$.*?\$\$)", stripped, flags=re.S):  # a paragraph may hold a display
        if part.startswith("$$"):
            height += display_math_height(part, mode)
        elif part.strip():
            height += text_height(LIST_ITEM.sub("", part), mode, indent=indent)
    return SAFETY * (height + (0.15 if item else GAP) * size["body"])


def png_size(data):
    """(width, height) in pixels of a base64 PNG, read from its header."""
    head = base64.b64decode(data[:44])
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    return struct.unpack(">II", head[16:24])


def figure_width(natural, mode, height_left):
    """The width a figure of ``natural`` (width, height) CSS px is shown at: as large as
    ``figure_upscale`` allows, never wider than the slide nor taller than ``height_left``."""
    width, height = natural
    scale = min(sizes(mode)["figure_upscale"], BODY_WIDTH / width, max(height_left, 1) / height)
    return max(int(width * scale), 1)
