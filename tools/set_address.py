"""Write the series' address and release into every place that needs them, from the one place
each lives: pyproject.toml's ``[project.urls] Repository`` and the package's ``__version__``
(diffusion_helpers/_version.py).

    python tools/set_address.py          # rewrite the badges and install cells from pyproject.toml
    python tools/set_address.py --check  # change nothing; list what disagrees, exit 1 if anything does

It keeps in step: each notebook's Colab and Binder badges (first line of its first cell), the
``REPOSITORY = "..."`` and ``RELEASE = "..."`` lines of its setup cell (Colab installs the package
from that address at that release), and the README's Colab and Binder links. The release is the
git tag ``v`` + the version (version 0.1.0: tag v0.1.0): badges and installs name a tag, never a
moving branch, so a student runs the notebook and the package of one release. Publishing a fork
or a release: set ``Repository`` in pyproject.toml (and ``__version__`` in _version.py), run this, commit, then tag
that commit (``git tag v0.1.0``) and push the commit and the tag. Until the tag is pushed to the
address, the badges and Colab's install point at nothing. Notebooks are read and written as JSON
text, so nothing but the addresses changes.
"""
import argparse
import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"


def pyproject_value(root, section, key, expected):
    """The string ``key = "..."`` of pyproject.toml's ``[section]``; exits naming ``expected`` if absent."""
    with open(os.path.join(root, "pyproject.toml"), encoding="utf-8") as file:
        text = file.read()
    found = re.search(rf"^\[{re.escape(section)}\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    match = found and re.search(rf'^{key}\s*=\s*"([^"]+)"', found.group(1), re.M)
    if not match:
        raise SystemExit(f'pyproject.toml needs [{section}] {key} = "{expected}"')
    return match.group(1)


def read_address(root=ROOT):
    """The Repository entry of pyproject.toml's [project.urls], e.g. https://github.com/owner/name."""
    address = pyproject_value(root, "project.urls", "Repository", "https://github.com/OWNER/NAME").rstrip("/")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", address):
        raise SystemExit(f"Repository must be a GitHub address https://github.com/OWNER/NAME, got {address!r}")
    return address


def read_release(root=ROOT):
    """The git tag of this release, "v" + the package's version (diffusion_helpers/_version.py,
    its one home; pyproject.toml reads it from there), e.g. v0.1.0."""
    path = os.path.join(root, "diffusion_helpers", "_version.py")
    try:
        with open(path, encoding="utf-8") as file:
            match = re.search(r'^__version__\s*=\s*"([0-9][0-9A-Za-z.+-]*)"', file.read(), re.M)
    except FileNotFoundError:
        match = None
    if not match:
        raise SystemExit(f'{os.path.relpath(path, root)} needs __version__ = "X.Y.Z" (the release is tagged vX.Y.Z)')
    return "v" + match.group(1)


def owner_name(address):
    """"OWNER/NAME" of a GitHub address."""
    return address.removeprefix("https://github.com/")


def links(address, notebook, release):
    """(Colab link, Binder link) that open ``notebook`` (a file name in notebooks/) at ``release``."""
    name = owner_name(address)
    return (f"https://colab.research.google.com/github/{name}/blob/{release}/notebooks/{notebook}",
            f"https://mybinder.org/v2/gh/{name}/{release}?labpath=notebooks%2F{notebook}")


def badge_line(address, notebook, release):
    colab, binder = links(address, notebook, release)
    return f"[![Open in Colab]({COLAB_BADGE})]({colab}) [![Open in Binder]({BINDER_BADGE})]({binder})"


def with_address(text, address, release):
    """``text`` with every Colab link, Binder link, REPOSITORY and RELEASE line pointing at
    ``address`` and ``release``."""
    name = owner_name(address)
    text = re.sub(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w.+-]+/",
                  f"https://colab.research.google.com/github/{name}/blob/{release}/", text)
    text = re.sub(r"https://mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/[\w.+-]+\?",
                  f"https://mybinder.org/v2/gh/{name}/{release}?", text)
    text = re.sub(r'REPOSITORY = "[^"]*"', f'REPOSITORY = "{address}"', text)
    return re.sub(r'RELEASE = "[^"]*"', f'RELEASE = "{release}"', text)


def updated_notebook(path, address, release):
    """The notebook's JSON text with its badges (added if missing) and setup cell at ``address``."""
    with open(path, encoding="utf-8") as file:
        notebook = json.load(file)
    first = notebook["cells"][0]
    source = "".join(first["source"])
    line = badge_line(address, os.path.basename(path), release)
    source = line + source[source.index("\n"):] if source.startswith("[![Open in Colab]") else f"{line}\n\n{source}"
    first["source"] = source.splitlines(keepends=True)
    for cell in notebook["cells"]:
        cell["source"] = with_address("".join(cell["source"]), address, release).splitlines(keepends=True)
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def planned_changes(root=ROOT):
    """{path: new text} for every file whose text would change."""
    address, release = read_address(root), read_release(root)
    changes = {}
    for path in sorted(glob.glob(os.path.join(root, "notebooks", "*.ipynb"))):
        new = updated_notebook(path, address, release)
        with open(path, encoding="utf-8") as file:
            if file.read() != new:
                changes[path] = new
    readme = os.path.join(root, "README.md")
    with open(readme, encoding="utf-8") as file:
        text = file.read()
    if with_address(text, address, release) != text:
        changes[readme] = with_address(text, address, release)
    return changes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if any file disagrees")
    parser.add_argument("--root", default=ROOT, help="the series' folder (default: this checkout)")
    args = parser.parse_args()
    changes = planned_changes(args.root)
    for path, text in changes.items():
        print(("disagrees: " if args.check else "updated: ") + os.path.relpath(path, args.root))
        if not args.check:
            with open(path, "w", encoding="utf-8") as file:
                file.write(text)
    print(f"address {read_address(args.root)} at {read_release(args.root)}: {len(changes)} file(s) {'disagree' if args.check else 'updated'}")
    sys.exit(1 if args.check and changes else 0)


if __name__ == "__main__":
    main()
