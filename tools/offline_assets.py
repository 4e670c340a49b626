"""reveal.js, MathJax and the rest a page loads in a browser, kept local so slides and site work
with no network (a lecture hall without Wi-Fi, a deck opened from a USB stick).

    python tools/offline_assets.py install      # npm packages of tools/offline/package.json into build/vendor

``make slides`` and ``make site`` run ``install`` first; tools/export.py then copies the files a
page needs into <output folder>/assets/ (``copy_into``) and points nbconvert's templates there, so
the folder opens from disk as it does online. Versions are those nbconvert's templates are written
for: reveal.js 4 (its reveal template loads dist/reveal.js through require.js) and MathJax 2 (its
templates call ``MathJax.Hub``); font-awesome 4 is for the play buttons of matplotlib's
animations (``localise`` points their CDN link at it). @jupyter-widgets/html-manager (the static widgets) is unpacked
with ``npm pack``: ``npm install`` would pull JupyterLab's packages, which its bundle already holds.
Where npm or a file is missing, one line says so and the pages load these from their CDNs.
"""
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_JSON = os.path.join(ROOT, "tools", "offline", "package.json")
VENDOR = os.path.join(ROOT, "build", "vendor")
MODULES = os.path.join(VENDOR, "node_modules")
WIDGETS = ("@jupyter-widgets/html-manager", "1.0.15")
UNUSED = shutil.ignore_patterns("*.map", "embed.js", "libembed-amd.js")  # the pages load dist/embed-amd.js only
MATHJAX_CONFIG = "TeX-AMS_CHTML-full,Safe"  # nbconvert's default configuration

# what each package contributes (the files a deck and a page were seen to request, opened from disk);
# require.js carries its licence in its header, the widget bundle in dist/embed.js.LICENSE.txt;
# the theme folder holds the fonts of reveal.js's white theme (its "simple" theme imports Google's): (path in node_modules, path under assets/); folders copied whole
FILES = [
    ("reveal.js/LICENSE", "reveal.js/LICENSE"),
    ("reveal.js/dist/reveal.js", "reveal.js/dist/reveal.js"),
    ("reveal.js/dist/reveal.css", "reveal.js/dist/reveal.css"),
    ("reveal.js/dist/theme", "reveal.js/dist/theme"),
    ("reveal.js/plugin/notes/notes.js", "reveal.js/plugin/notes/notes.js"),
    ("mathjax/LICENSE", "mathjax/LICENSE"),
    ("mathjax/MathJax.js", "mathjax/MathJax.js"),
    ("mathjax/config/TeX-AMS_CHTML-full.js", "mathjax/config/TeX-AMS_CHTML-full.js"),
    ("mathjax/config/Safe.js", "mathjax/config/Safe.js"),
    ("mathjax/extensions", "mathjax/extensions"),
    ("mathjax/jax/input/TeX", "mathjax/jax/input/TeX"),
    ("mathjax/jax/element", "mathjax/jax/element"),
    ("mathjax/jax/output/CommonHTML", "mathjax/jax/output/CommonHTML"),
    ("mathjax/fonts/HTML-CSS/TeX/woff", "mathjax/fonts/HTML-CSS/TeX/woff"),
    ("requirejs/require.js", "require.js"),
    ("jquery/dist/jquery.min.js", "jquery.min.js"),
    ("jquery/LICENSE.txt", "jquery.LICENSE.txt"),
    ("@jupyter-widgets/html-manager/dist", "html-manager/dist"),
    ("font-awesome/css", "font-awesome/css"),
    ("font-awesome/fonts", "font-awesome/fonts"),
    ("font-awesome/README.md", "font-awesome/README.md"),  # its licences (OFL-1.1 fonts, MIT code)
]
# links a page's outputs carry to a CDN, and the local copy that replaces them (``localise``)
LOCAL_COPIES = {
    # matplotlib's animations (Animation.to_jshtml) draw their play buttons with font-awesome 4.4
    "https://maxcdn.bootstrapcdn.com/font-awesome/4.4.0/css/font-awesome.min.css": "assets/font-awesome/css/font-awesome.min.css",
}


def wanted_versions():
    with open(PACKAGE_JSON, encoding="utf-8") as file:
        versions = dict(json.load(file)["dependencies"])
    versions[WIDGETS[0]] = WIDGETS[1]
    return versions


def installed_version(package):
    try:
        with open(os.path.join(MODULES, package, "package.json"), encoding="utf-8") as file:
            return json.load(file)["version"]
    except (OSError, ValueError, KeyError):
        return None


def install():
    """npm packages into build/vendor (nothing to do where the pinned versions are there already).
    Returns True when every package is in place; else says why in one line and returns False."""
    stale = {name: version for name, version in wanted_versions().items() if installed_version(name) != version}
    if not stale:
        return True
    npm = shutil.which("npm")
    if npm is None:
        print("note: npm not found, so reveal.js and MathJax are not installed locally: slides and site will load "
              "them from their CDNs (they need a network when opened)")
        return False
    os.makedirs(VENDOR, exist_ok=True)
    shutil.copy(PACKAGE_JSON, os.path.join(VENDOR, "package.json"))
    try:
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=VENDOR, check=True)
        if installed_version(WIDGETS[0]) != WIDGETS[1]:  # npm install removes what package.json does not list
            with tempfile.TemporaryDirectory() as folder:
                subprocess.run([npm, "pack", f"{WIDGETS[0]}@{WIDGETS[1]}", "--loglevel=error"], cwd=folder,
                               check=True, stdout=subprocess.DEVNULL)
                [archive] = [name for name in os.listdir(folder) if name.endswith(".tgz")]
                with tarfile.open(os.path.join(folder, archive)) as tar:
                    tar.extractall(folder, filter="data")
                target = os.path.join(MODULES, WIDGETS[0])
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(os.path.join(folder, "package"), target)
    except (subprocess.CalledProcessError, ValueError, OSError) as error:
        print(f"note: npm could not install the offline assets ({error}): slides and site will load reveal.js and "
              "MathJax from their CDNs (they need a network when opened)")
        return False
    print(f"offline assets installed in {os.path.relpath(VENDOR, ROOT)}: "
          + ", ".join(f"{name} {version}" for name, version in wanted_versions().items()))
    return True


def missing():
    """The files of FILES not in build/vendor (empty when everything is there)."""
    return [source for source, _ in FILES if not os.path.exists(os.path.join(MODULES, source))]


def copy_into(out_dir):
    """Copy the assets into out_dir/assets and return nbconvert's settings pointing there (relative
    URLs, so the folder can move): {reveal_url_prefix, mathjax_url, require_js_url, jquery_url,
    widget_renderer_url}. Where files are missing, say so in one line and return {} (CDN defaults)."""
    absent = missing()
    if absent:
        print(f"note: {len(absent)} offline asset(s) missing from {os.path.relpath(VENDOR, ROOT)} (e.g. {absent[0]}; "
              "`python tools/offline_assets.py install` needs npm): these pages load reveal.js and MathJax from "
              "their CDNs and need a network when opened")
        return {}
    assets = os.path.join(out_dir, "assets")
    for source, target in FILES:
        source, target = os.path.join(MODULES, source), os.path.join(assets, target)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.isdir(source):
            shutil.copytree(source, target, dirs_exist_ok=True, ignore=UNUSED)
        else:
            shutil.copy2(source, target)
    return {"reveal_url_prefix": "assets/reveal.js",
            "mathjax_url": f"assets/mathjax/MathJax.js?config={MATHJAX_CONFIG}",
            "require_js_url": "assets/require.js",
            "jquery_url": "assets/jquery.min.js",
            "widget_renderer_url": "assets/html-manager/dist/embed-amd.js"}


def localise(body):
    """The page with each link of LOCAL_COPIES pointed at its copy in assets/ (after ``copy_into``)."""
    for url, local in LOCAL_COPIES.items():
        body = body.replace(url, local)
    return body


def main():
    if len(sys.argv) != 2 or sys.argv[1] != "install":
        raise SystemExit("usage: python tools/offline_assets.py install")
    install()  # a missing npm is a note, not a failure: the pages fall back to the CDNs


if __name__ == "__main__":
    main()
