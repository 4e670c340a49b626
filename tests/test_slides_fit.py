"""Every slide fits a 1280x720 screen, in Chromium, plain and presenter.

Notebook 1 (run here in quick mode, plain and presenter: about 15 s each on a quiet 2-core CPU) and
notebook 4 (its recorded full run where its code cells match, else quick mode: about 40 s) are built
into decks as `make slides` builds them (tools/slides.py), plain, presenter and without code, and
notebook 3 (its animation, its tallest formulas) in presenter mode without code; all are opened
from disk with the network cut, at 1280x720 (tools/slide_sizes.py's ``measure``). Each slide of
each deck must fit (scrollHeight and scrollWidth within reveal.js's layout, no code or output
block wider than its box), none may start with a solution fold or hold one above a section
heading, presenter body and table text must show at >= 28 px and code at >= 22 px, and the
speaker notes must be there for reveal.js's speaker view (press S). Screenshots of a few slides land in
build/browser-test/.
"""
import os
import re
import shutil

import pytest
from conftest import load_tool
from test_browser import CHROMIUM, SHOTS, playwright_api  # the same chromium, skipped where absent

ROOT = os.path.join(os.path.dirname(__file__), "..")
export = load_tool("export")
slides = load_tool("slides")
sizes = load_tool("slide_sizes")
assets = load_tool("offline_assets")
pytestmark = [pytest.mark.full,
              pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (make test-all installs Debian's)")]
NAMES = ("01_noise_schedules", "04_mnist_unet")
ANIMATED = "03_toy_2d_diffusion"  # an animation and the tallest formulas: in presenter mode without code


def executed(name, presenter=False):
    path = os.path.join(ROOT, "notebooks", f"{name}.ipynb")
    return export.recorded_full_run(path) or export.execute(path, presenter=presenter)


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    """{(kind, name): deck path} for kind in plain, presenter, no-code."""
    if shutil.which("npm") is None and assets.missing():
        pytest.skip("no npm on this machine to install reveal.js and MathJax (the decks would need a network)")
    if not assets.install() or assets.missing():
        pytest.fail(f"the offline assets could not be installed (missing: {assets.missing()})")
    runs = {name: executed(name) for name in NAMES}
    presenter_runs = dict(runs, **{NAMES[0]: executed(NAMES[0], presenter=True)})  # dh.setup's presenter figures
    folder = tmp_path_factory.mktemp("decks")
    built = {}
    for kind, notebooks, options in [("plain", runs, {}), ("presenter", presenter_runs, {"presenter": True}),
                                     ("no-code", {NAMES[0]: runs[NAMES[0]]}, {"code": False}),
                                     ("presenter-no-code", {ANIMATED: executed(ANIMATED)},
                                      {"presenter": True, "code": False})]:
        for path in slides.write_slides(notebooks, folder / kind, **options):
            built[kind, os.path.basename(path).replace(".slides.html", "")] = path
    return built


@pytest.fixture(scope="module")
def measured(decks):
    """{(kind, name): measured deck} (tools/slide_sizes.py's measure), with a few screenshots."""
    os.makedirs(SHOTS, exist_ok=True)
    result = {}
    with playwright_api.sync_playwright() as driver:
        browser, page = sizes.open_browser(driver)
        for (kind, name), path in decks.items():
            def shot(number, kind=kind, name=name):
                if number in (1, 3, 5):
                    page.screenshot(path=os.path.join(SHOTS, f"slides_{kind}_{name}_{number}.png"))
            result[kind, name] = sizes.measure(page, path, shot)
        browser.close()
    return result


def where(kind, name, number, row):
    return f"{kind} deck {name}, slide {number} ({row['h']}.{row['v']}, {row['title'][:50]!r})"


def test_every_slide_fits_the_screen(measured):
    over = []
    for (kind, name), deck in measured.items():
        for number, row in enumerate(deck["rows"], 1):
            if row["height"] > deck["height"] or row["width"] > deck["width"] or row["cut"]:
                over.append(f"{where(kind, name, number, row)}: {row['width']}x{row['height']} px, "
                            f"{row['cut']} cut block(s), on a {deck['width']}x{deck['height']} layout")
    assert not over, "slides that do not fit:\n" + "\n".join(over)
    assert all(deck["width"] == 1280 and deck["height"] == 720 for deck in measured.values())


def test_no_slide_starts_with_a_solution(measured):
    leaks = [f"{where(kind, name, number, row)}: " + ("starts with a solution fold" if row["starts_with_fold"]
                                                      else "a solution fold above its section heading")
             for (kind, name), deck in measured.items() for number, row in enumerate(deck["rows"], 1)
             if row["starts_with_fold"] or row["fold_above_heading"]]
    assert not leaks, "\n".join(leaks)


def test_presenter_text_and_code_are_large_and_plain_decks_are_smaller(measured):
    for name in NAMES:
        presenter = [row for row in measured["presenter", name]["rows"]]
        body = [row["body_px"] for row in presenter if row["body_px"]]
        code = [row["code_px"] for row in presenter if row["code_px"]]
        assert body and min(body) >= 28, f"presenter body text of {name} shows at {min(body):.1f} px"
        table = [row["table_px"] for row in presenter if row["table_px"]]
        assert min(table, default=28) >= 28, f"presenter table text of {name} shows at {min(table):.1f} px"
        assert code and min(code) >= 22, f"presenter code of {name} shows at {min(code):.1f} px"
        plain = [row["body_px"] for row in measured["plain", name]["rows"] if row["body_px"]]
        assert max(plain) < min(body)
        assert len(presenter) > len(measured["plain", name]["rows"]), "larger text takes more slides"


def test_code_is_left_out_on_request(decks, measured):
    assert all(row["code_px"] is None for row in measured["no-code", NAMES[0]]["rows"])
    inputs = re.compile(r'class="[^"]*jp-InputArea-editor')  # a code cell's input (the style sheet names it too)
    text = open(decks["no-code", NAMES[0]], encoding="utf-8").read()
    assert text.count("data:image/png") >= 5 and not inputs.search(text), "figures, and no code cell's input"
    assert inputs.search(open(decks["plain", NAMES[0]], encoding="utf-8").read()), "the plain deck shows its code"


def test_what_stays_off_the_slides_and_the_notes_that_do_not_show(decks, measured):
    for (kind, name), path in decks.items():
        text = open(path, encoding="utf-8").read()
        assert "Not yet:" not in text, f"an unanswered check on the {kind} deck of {name}"
        assert "it/s]" not in text, f"a progress bar on the {kind} deck of {name}"
        assert "assets/reveal.js/plugin/notes/notes.js" in text, "reveal.js's speaker view, offline"
    sections = {row["h"] for row in measured["plain", NAMES[0]]["rows"]}
    with_notes = {row["h"] for row in measured["plain", NAMES[0]]["rows"] if row["notes"]}
    assert len(with_notes) == len(sections) - 1, "notebook 1: each `## ` section's first slide carries its notes"


def test_the_speaker_view_opens_with_the_notes(decks):
    """Press S: reveal.js's notes plugin opens its speaker window, which shows the slide's notes."""
    with playwright_api.sync_playwright() as driver:
        browser, page = sizes.open_browser(driver)
        page.goto("file://" + os.path.abspath(decks["presenter", NAMES[0]]) + "#/2")
        page.wait_for_function(f"() => window.require && Object.keys(require.s.contexts._.defined).some(name => "
                               f"name.endsWith('dist/reveal.js')) && ({sizes.REVEAL})().isReady()", timeout=120_000)
        assert page.evaluate(f"() => ({sizes.REVEAL})().hasPlugin('notes')")
        with page.context.expect_page(timeout=30_000) as opened:
            page.keyboard.press("s")
        speaker = opened.value
        speaker.wait_for_function("() => document.querySelector('.speaker-controls-notes') && "
                                  "document.querySelector('.speaker-controls-notes').textContent.includes('Lecture notes')",
                                  timeout=60_000)
        speaker.screenshot(path=os.path.join(SHOTS, "slides_speaker_view.png"))
        browser.close()
