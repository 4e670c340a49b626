"""Slides and a site page opened from disk with the network cut, as in a lecture hall without Wi-Fi.

One deck (notebook 3: its recorded full run, so no kernel runs; quick mode where the recording no
longer matches) and its site page are built with the local reveal.js and MathJax
(tools/offline_assets.py, which needs npm), opened as file:// in Debian's chromium with every
non-file request aborted, and checked: reveal.js initialised, the maths typeset by MathJax with no
raw ``$...$`` left in the text, and not one request left the machine. Screenshots land in
build/browser-test/.
"""
import os
import shutil

import pytest
from conftest import load_tool
from test_browser import CHROMIUM, SHOTS, playwright_api  # the same chromium, skipped where absent

ROOT = os.path.join(os.path.dirname(__file__), "..")
NAME = "03_toy_2d_diffusion"  # maths, widgets and an animation (its play buttons use font-awesome)
REVEAL = "assets/reveal.js/dist/reveal.js"  # nbconvert's template loads reveal.js as this AMD module (no global Reveal)
export = load_tool("export")
site = load_tool("site")
assets = load_tool("offline_assets")
pytestmark = [pytest.mark.full,
              pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (make test-all installs Debian's)")]

# text a reader sees that still holds TeX: MathJax's own output and the tags it never typesets (code,
# where a matplotlib title's "$\\mu$" is Python, and scripts) left out
RAW_TEX = """() => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const raw = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const parent = node.parentElement;
        if (!parent || parent.closest('script, noscript, style, textarea, pre, code, .MathJax_Preview, mjx-container, .mjx-chtml, .MJX_Assistive_MathML')) continue;
        if (/\\$[^$\\s][^$]*\\$|\\\\(frac|sqrt|mathbf|epsilon|alpha)\\b/.test(node.textContent)) raw.push(node.textContent.trim().slice(0, 80));
    }
    return raw;
}"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Notebook 3's deck and site page, built as `make slides` and `make site` build them."""
    if shutil.which("npm") is None and assets.missing():
        pytest.skip("no npm on this machine to install reveal.js and MathJax (the pages fall back to their CDNs)")
    if not assets.install() or assets.missing():
        pytest.fail(f"the offline assets could not be installed (missing: {assets.missing()}; the line above says why)")
    path = os.path.join(ROOT, "notebooks", f"{NAME}.ipynb")
    notebook = export.recorded_full_run(path)
    if notebook is None:
        notebook = export.execute(path)
    folder = tmp_path_factory.mktemp("offline")
    [deck] = load_tool("slides").write_slides({NAME: notebook}, folder / "slides")
    site.write_site({NAME: notebook}, folder / "site")
    return deck, str(folder / "site" / f"{NAME}.html")


def open_offline(driver, path):
    """A page opened from disk with every request that is not file:// (or data:) aborted and listed."""
    browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    left = []
    page.on("request", lambda request: None if request.url.startswith(("file:", "data:", "blob:"))
            else left.append(request.url))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:", "blob:"))
               else route.abort("internetdisconnected"))
    page.goto("file://" + os.path.abspath(path))
    return browser, page, left


def wait_for(page, script, what, left):
    """Wait up to a minute for ``script`` to be true; else fail saying what did not happen, and which
    requests tried to leave (the usual reason)."""
    try:
        page.wait_for_function(script, timeout=60_000)
    except playwright_api.TimeoutError:
        pytest.fail(f"{what} within a minute, opened from disk with no network; requests that tried to leave: {left}")


def wait_for_mathjax(page, left):
    wait_for(page, "() => window.MathJax && MathJax.Hub && MathJax.Hub.queue && MathJax.Hub.queue.pending === 0 && "
             "document.querySelector('.mjx-chtml, .MathJax_CHTML')", "MathJax typeset nothing", left)


def test_the_deck_opens_from_disk_with_no_network(built):
    deck, _ = built
    assert "unpkg.com" not in open(deck, encoding="utf-8").read(), "reveal.js should come from assets/"
    os.makedirs(SHOTS, exist_ok=True)
    with playwright_api.sync_playwright() as driver:
        browser, page, left = open_offline(driver, deck)
        wait_for(page, f"() => window.require && require.defined('{REVEAL}') && require('{REVEAL}').isReady()",
                 "reveal.js did not initialise", left)
        wait_for_mathjax(page, left)
        assert page.evaluate(f"() => require('{REVEAL}').getTotalSlides()") >= 10
        assert page.evaluate("() => getComputedStyle(document.querySelector('.reveal .slides')).pointerEvents") == "none", \
            "reveal.css is not applied"
        assert page.evaluate("() => document.fonts.check('20px \"Source Sans Pro\"') && getComputedStyle("
                             "document.querySelector('.reveal-viewport')).getPropertyValue('--r-main-font')"
                             ".includes('Source Sans Pro')"), "the theme or its font did not load"
        typeset = page.evaluate("() => document.querySelectorAll('.mjx-chtml, .MathJax_CHTML').length")
        assert typeset >= 10, f"only {typeset} formulas typeset"
        assert page.evaluate(RAW_TEX) == [], "raw TeX shows on the slides"
        page.screenshot(path=os.path.join(SHOTS, "offline_deck_first_slide.png"))
        page.evaluate(f"() => require('{REVEAL}').slide(3)")
        page.wait_for_timeout(500)
        page.screenshot(path=os.path.join(SHOTS, "offline_deck_slide_4.png"))
        browser.close()
    assert left == [], f"requests left the machine: {left}"


def test_the_site_page_opens_from_disk_with_no_network(built):
    _, site_page = built
    with playwright_api.sync_playwright() as driver:
        browser, page, left = open_offline(driver, site_page)
        wait_for_mathjax(page, left)
        assert page.evaluate(RAW_TEX) == [], "raw TeX shows on the page"
        page.screenshot(path=os.path.join(SHOTS, "offline_site_page.png"))
        browser.close()
    assert left == [], f"requests left the machine: {left}"
