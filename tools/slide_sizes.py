"""How well each deck's slides fit a 1280x720 screen, before and after splitting them.

    python tools/slide_sizes.py                           # every deck in build/slides/
    python tools/slide_sizes.py build/slides-presenter/*.slides.html --each
    python tools/slide_sizes.py build/slides/01_noise_schedules.slides.html --shots build/shots --only 1 5

Opens each deck from disk in Debian's chromium (Playwright, network cut) at 1280x720 and visits
every slide. reveal.js lays a slide out at its configured size and scales that onto the screen,
so a slide fits when its section's scrollHeight and scrollWidth are within that size; "screens"
is scrollHeight / height (1.00: exactly one screen). "cut" counts slides where a code or output
block is wider than its box (its right edge hidden or behind a scroll bar). "Before" is the deck
as it was before tools/slides.py split it: a slide for each cell tagged slide or subslide in the
notebook (a `## ` section, a `### ` or "your turn" part; the deck's data-part), each as tall as
the sub-slides it became, their contents stacked (their padding counted once). --each
adds one line per slide; --shots saves each slide (or those --only names, counted from 1) as PNG.
``measure`` is what tests/test_slides_fit.py checks decks with.
"""
import argparse
import glob
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCREEN = {"width": 1280, "height": 720}
REVEAL = "() => require(Object.keys(require.s.contexts._.defined).find(name => name.endsWith('dist/reveal.js')))"
MEASURE = """async (shots) => {
    const reveal = (%s)();
    const config = reveal.getConfig(), rows = [];
    for (const slide of reveal.getSlides()) {
        const where = reveal.getIndices(slide);
        reveal.slide(where.h, where.v);
        await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
        // the deck re-typesets a slide's maths when it is shown: measure after MathJax's queue has run it
        await new Promise(resolve => window.MathJax ? MathJax.Hub.Queue(resolve) : resolve());
        await Promise.all(Array.from(slide.querySelectorAll('img')).map(image => image.decode().catch(() => null)));
        await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
        const named = (slide.querySelector('h1, h2, h3') || slide.querySelector('p, li, pre') || slide).cloneNode(true);
        named.querySelectorAll('.MathJax_Preview, .MathJax_CHTML, .mjx-chtml, .anchor-link').forEach(node => node.remove());
        const cut = Array.from(slide.querySelectorAll('pre, .jp-OutputArea-output'))
            .filter(block => block.scrollWidth > block.clientWidth + 1).length;
        const cells = Array.from(slide.querySelectorAll('.jp-Cell')).filter(cell => !cell.closest('aside.notes'));
        const first = cells.length ? cells[0].querySelector('.jp-RenderedMarkdown > *') : null;
        const heading = slide.querySelector('h2'), folds = Array.from(slide.querySelectorAll('details'));
        const style = getComputedStyle(slide);
        const body = slide.querySelector('.jp-RenderedMarkdown p, .jp-RenderedMarkdown li');
        const code = slide.querySelector('.jp-InputArea-editor pre');
        const table = slide.querySelector('.jp-RenderedMarkdown td');
        rows.push({title: named.textContent.replace(/\\s+/g, ' ').trim(),  // maths as its TeX source
                   part: slide.dataset.part || `${where.h}.${where.v}`, height: slide.scrollHeight,
                   width: slide.scrollWidth, cut: cut, h: where.h, v: where.v,
                   padding: parseFloat(style.paddingTop) + parseFloat(style.paddingBottom),
                   starts_with_fold: Boolean(first && first.tagName === 'DETAILS'),
                   fold_above_heading: Boolean(heading && folds.some(fold =>
                       fold.compareDocumentPosition(heading) & Node.DOCUMENT_POSITION_FOLLOWING)),
                   body_px: body ? parseFloat(getComputedStyle(body).fontSize) * reveal.getScale() : null,
                   code_px: code ? parseFloat(getComputedStyle(code).fontSize) * reveal.getScale() : null,
                   table_px: table ? parseFloat(getComputedStyle(table).fontSize) * reveal.getScale() : null,
                   notes: slide.querySelectorAll('aside.notes').length});
        if (shots) await window.__shot(rows.length);
    }
    return {width: config.width, height: config.height, rows: rows};
}""" % REVEAL


def measure(page, path, shot=None):
    """{width, height, rows: [...]} of the deck at ``path``, a row a slide in order: its title,
    height and width (scrollHeight, scrollWidth), cut blocks, place (h, v), padding, part (the slide
    it was before splitting), whether it starts with a solution fold (<details>) or holds one above
    a `## ` heading, the shown size of its body text, code and table text (px on the screen), its
    notes count.
    ``shot(number)`` is called with each slide shown."""
    page.goto("file://" + os.path.abspath(path), timeout=120_000)  # a deck of many figures loads slowly on busy cores
    page.wait_for_function(f"() => window.require && Object.keys(require.s.contexts._.defined)"
                           f".some(name => name.endsWith('dist/reveal.js')) && ({REVEAL})().isReady()", timeout=120_000)
    page.wait_for_function("() => !window.MathJax || (MathJax.Hub && MathJax.Hub.queue && "
                           "MathJax.Hub.queue.pending === 0)", timeout=120_000)
    if shot is not None:
        if not hasattr(page, "series_shot"):  # a page exposes a function once: it calls the latest shot
            page.expose_function("__shot", lambda number: page.series_shot(number))
        page.series_shot = shot
    return page.evaluate(MEASURE, shot is not None)


def before_and_after(deck):
    """(sections, sections that fit unsplit, largest section in screens), (slides, fit, largest
    (width, height)) of a measured deck."""
    rows, width, height = deck["rows"], deck["width"], deck["height"]
    fits = [row["height"] <= height and row["width"] <= width and row["cut"] == 0 for row in rows]
    sections = {}
    for row in rows:
        sections[row["part"]] = sections.get(row["part"], 0) + row["height"] - row["padding"]
    unsplit = [total + rows[0]["padding"] for total in sections.values()]
    largest = max(rows, key=lambda row: row["height"])
    return ((len(sections), sum(size <= height for size in unsplit), max(unsplit) / height),
            (len(rows), sum(fits), (largest["width"], largest["height"])))


def open_browser(driver):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium on this machine (`make chromium` installs Debian's)")
    browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
    page = browser.new_page(viewport=SCREEN)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
               else route.abort("internetdisconnected"))
    return browser, page


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("decks", nargs="*", help="slides files (default: build/slides/*.slides.html)")
    parser.add_argument("--each", action="store_true", help="one line per slide as well")
    parser.add_argument("--shots", help="a folder to save each slide to as PNG")
    parser.add_argument("--only", nargs="*", type=int, help="with --shots: these slides only (counted from 1)")
    args = parser.parse_args()
    decks = args.decks or sorted(glob.glob(os.path.join(ROOT, "build", "slides", "*.slides.html")))
    if not decks:
        raise SystemExit("no decks: run `make slides` first, or name the slides files")
    from playwright.sync_api import sync_playwright

    print(f"{'deck':<30} {'before: slides':>14} {'fit':>4} {'largest':>8}   {'after: slides':>13} {'fit':>4} "
          f"{'largest (px)':>13} {'screens':>7}  largest slide")
    with sync_playwright() as driver:
        browser, page = open_browser(driver)
        for path in decks:
            name = os.path.basename(path).replace(".slides.html", "")
            folder = os.path.basename(os.path.dirname(os.path.abspath(path)))  # slides, slides-presenter, ...

            def take(number, prefix=f"{folder}_{name}"):
                if not args.only or number in args.only:
                    page.screenshot(path=os.path.join(args.shots, f"{prefix}_{number:03d}.png"))
            if args.shots:
                os.makedirs(args.shots, exist_ok=True)
            deck = measure(page, path, take if args.shots else None)
            (sections, sections_fit, unsplit), (count, fit, size) = before_and_after(deck)
            largest = max(deck["rows"], key=lambda row: row["height"])
            print(f"{name:<30} {sections:>14} {sections_fit:>4} {unsplit:>7.2f}s   {count:>13} {fit:>4} "
                  f"{size[0]:>6}x{size[1]:<6} {size[1] / deck['height']:>7.2f}  {largest['title'][:40]}")
            if args.each:
                for number, row in enumerate(deck["rows"], 1):
                    over = row["height"] > deck["height"] or row["width"] > deck["width"] or row["cut"]
                    print(f"    {number:>3}. {row['h']}.{row['v']:<3} {'over' if over else 'fits':<5} "
                          f"{row['width']:>5}x{row['height']:<5} {row['cut']} cut  {row['title'][:60]}")
        browser.close()
    print(f"(laid out at {deck['width']}x{deck['height']}, scaled onto {SCREEN['width']}x{SCREEN['height']}; before: "
          "one slide a section, its height in screens; fit: scrollHeight and scrollWidth within the layout, no cut block)")


if __name__ == "__main__":
    main()
