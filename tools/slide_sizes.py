"""How well each deck's slides fit the screen: the groundwork for splitting long slides.

    python tools/slide_sizes.py                           # every deck in build/slides/
    python tools/slide_sizes.py build/slides/04_mnist_unet.slides.html --each

Opens each deck from disk in Debian's chromium (Playwright, network cut) at 1280x720 and visits
every slide. reveal.js lays a slide out at its configured size (nbconvert's 960x700) and scales
that onto the screen, so a slide fits when its section's scrollHeight and scrollWidth are within
that size; "screens" is scrollHeight / height (1.0: exactly one screen). "cut blocks" counts slides
where a code or output block is wider than its box (its right edge hidden or behind a scroll bar).
--each adds one line per slide.
"""
import argparse
import glob
import os
import shutil
import statistics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCREEN = {"width": 1280, "height": 720}
MEASURE = """async () => {
    const reveal = require(Object.keys(require.s.contexts._.defined).find(name => name.endsWith('dist/reveal.js')));
    const config = reveal.getConfig(), rows = [];
    for (const slide of reveal.getSlides()) {
        const where = reveal.getIndices(slide);
        reveal.slide(where.h, where.v);
        // the deck re-typesets a slide's maths when it is shown: measure after MathJax's queue has run it
        await new Promise(resolve => window.MathJax ? MathJax.Hub.Queue(resolve) : resolve());
        await Promise.all(Array.from(slide.querySelectorAll('img')).map(image => image.decode().catch(() => null)));
        await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
        const named = (slide.querySelector('h1, h2, h3') || slide.querySelector('p, li, pre') || slide).cloneNode(true);
        named.querySelectorAll('.MathJax_Preview, .MathJax_CHTML, .mjx-chtml, .anchor-link').forEach(node => node.remove());
        const cut = Array.from(slide.querySelectorAll('pre, .jp-OutputArea-output'))
            .filter(block => block.scrollWidth > block.clientWidth + 1).length;
        rows.push({title: named.textContent.replace(/\s+/g, ' ').trim(),  // maths as its TeX source
                   height: slide.scrollHeight, width: slide.scrollWidth, cut: cut});
    }
    return {width: config.width, height: config.height, rows: rows};
}"""


def measure(page, path):
    """{width, height, rows: [{title, height, width, cut}]} of the deck at ``path``."""
    page.goto("file://" + os.path.abspath(path))
    page.wait_for_function("() => window.require && Object.keys(require.s.contexts._.defined)"
                           ".some(name => name.endsWith('dist/reveal.js'))", timeout=60_000)
    page.wait_for_function("() => document.querySelector('.reveal.ready') && (!window.MathJax || "
                           "(MathJax.Hub && MathJax.Hub.queue && MathJax.Hub.queue.pending === 0))", timeout=60_000)
    return page.evaluate(MEASURE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("decks", nargs="*", help="slides files (default: build/slides/*.slides.html)")
    parser.add_argument("--each", action="store_true", help="one line per slide as well")
    args = parser.parse_args()
    decks = args.decks or sorted(glob.glob(os.path.join(ROOT, "build", "slides", "*.slides.html")))
    if not decks:
        raise SystemExit("no decks: run `make slides` first, or name the slides files")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium on this machine (`make chromium` installs Debian's)")
    from playwright.sync_api import sync_playwright

    print(f"{'deck':<34} {'slides':>6} {'fit':>4} {'median screens':>15} {'largest (screens, px)':>22} "
          f"{'cut blocks':>10}  largest slide")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport=SCREEN)
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                   else route.abort("internetdisconnected"))
        for path in decks:
            deck = measure(page, path)
            rows, width, height = deck["rows"], deck["width"], deck["height"]
            fits = [row["height"] <= height and row["width"] <= width for row in rows]
            screens = [row["height"] / height for row in rows]
            largest = max(rows, key=lambda row: row["height"])
            name = os.path.basename(path).replace(".slides.html", "")
            print(f"{name:<34} {len(rows):>6} {sum(fits):>4} {statistics.median(screens):>15.2f} "
                  f"{max(screens):>10.2f} ({largest['width']}x{largest['height']}) "
                  f"{sum(row['cut'] > 0 for row in rows):>10}  {largest['title'][:50]}")
            if args.each:
                for number, (row, fit) in enumerate(zip(rows, fits), 1):
                    print(f"    {number:>3}. {'fits' if fit else 'over':<5} {row['width']:>5}x{row['height']:<6} "
                          f"{row['height'] / height:5.2f} screens, {row['cut']} cut block(s)  {row['title'][:60]}")
        browser.close()
    print(f"(slides laid out at {width}x{height} and scaled onto {SCREEN['width']}x{SCREEN['height']}; "
          "fit: scrollHeight and scrollWidth within that)")


if __name__ == "__main__":
    main()
