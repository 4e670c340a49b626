"""The classroom paths: one address for every badge and install cell, and the Colab setup cell."""
import glob
import os
import shutil
import subprocess
import sys
import types

import nbformat
import pytest
from conftest import load_tool

import diffusion_helpers as dh

ROOT = os.path.join(os.path.dirname(__file__), "..")
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
set_address = load_tool("set_address")


def setup_cell(path):
    return next(cell for cell in nbformat.read(path, 4).cells if cell.cell_type == "code").source


def test_every_badge_install_cell_and_readme_link_agrees_with_pyproject():
    address, release = set_address.read_address(ROOT), set_address.read_release(ROOT)
    assert set_address.planned_changes(ROOT) == {}, "run `python tools/set_address.py`"
    assert release == "v" + dh.__version__
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    for path in NOTEBOOKS:
        name = os.path.basename(path)
        colab, binder = set_address.links(address, name, release)
        assert f"/blob/{release}/" in colab and f"/{release}?" in binder  # a release tag, never a branch
        first = nbformat.read(path, 4).cells[0].source
        assert first.startswith("[![Open in Colab]") and colab in first and binder in first
        assert f'REPOSITORY = "{address}"' in setup_cell(path) and f'RELEASE = "{release}"' in setup_cell(path)
        assert colab in readme and binder in readme, f"the README's table lacks the links of {name}"


def test_one_command_moves_every_address_to_a_fork(tmp_path):
    for part in ("notebooks", "tools"):
        shutil.copytree(os.path.join(ROOT, part), tmp_path / part)
    (tmp_path / "diffusion_helpers").mkdir()
    (tmp_path / "diffusion_helpers" / "_version.py").write_text(f'__version__ = "2.0.1"\n')
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), tmp_path / name)
    pyproject = (tmp_path / "pyproject.toml").read_text()
    old = set_address.read_address(ROOT)
    (tmp_path / "pyproject.toml").write_text(pyproject.replace(old, "https://github.com/a-teacher/my-course"))
    run = [sys.executable, str(tmp_path / "tools" / "set_address.py"), "--root", str(tmp_path)]
    assert subprocess.run(run + ["--check"], capture_output=True).returncode == 1
    subprocess.run(run, check=True, capture_output=True)
    assert subprocess.run(run + ["--check"], capture_output=True).returncode == 0
    owner_name = old.removeprefix("https://github.com/")
    for path in [*glob.glob(str(tmp_path / "notebooks" / "*.ipynb")), str(tmp_path / "README.md")]:
        text = open(path, encoding="utf-8").read()
        assert owner_name not in text and "a-teacher/my-course" in text, path
        assert "/v0." not in text and "/blob/v2.0.1/" in text and "/my-course/v2.0.1?" in text, path


def test_a_bad_address_is_refused(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project.urls]\nRepository = "https://gitlab.com/x/y"\n')
    with pytest.raises(SystemExit, match="GitHub address"):
        set_address.read_address(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(SystemExit, match=r"\[project.urls\] Repository"):
        set_address.read_address(tmp_path)
    with pytest.raises(SystemExit, match=r"_version.py needs __version__"):
        set_address.read_release(tmp_path)


def run_setup_cell(path, monkeypatch, on_colab):
    """Run a notebook's setup cell as Colab would (a stand-in google.colab module, pip recorded,
    not run) or as anywhere else; return (pip commands, widget manager turned on?, namespace)."""
    commands, widget_manager = [], []
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: commands.append(command))
    if on_colab:
        colab = types.ModuleType("google.colab")
        colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: widget_manager.append(True))
        monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
        monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setenv("DIFFUSION_QUICK", "1")
    namespace = {}
    exec(compile(setup_cell(path), path, "exec"), namespace)
    return commands, bool(widget_manager), namespace


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_on_colab_the_setup_cell_installs_the_package_and_keeps_colabs_torch(path, monkeypatch):
    commands, widget_manager, namespace = run_setup_cell(path, monkeypatch, on_colab=True)
    address = set_address.read_address(ROOT)
    release = set_address.read_release(ROOT)
    assert commands == [[sys.executable, "-m", "pip", "install", "--quiet",
                         f"diffusion-helpers @ git+{address}@{release}"]]
    assert not any(word in " ".join(commands[0]) for word in ("torch", "--upgrade", "-U", "--force-reinstall"))
    assert widget_manager, "Colab needs its custom widget manager for ipywidgets 8"
    assert namespace["device"].type in ("cuda", "mps", "cpu")  # dh.setup picks the GPU when there is one


@pytest.mark.parametrize("on_colab", [True, False], ids=["colab", "elsewhere"])
def test_an_import_error_names_the_fix_where_the_notebook_runs(on_colab, monkeypatch):
    """A package that fails to import (e.g. a broken install) is answered with the fix for the
    place: on Colab, pip's message and a restart, never `make lab`; elsewhere, `make lab`."""
    monkeypatch.setitem(sys.modules, "diffusion_helpers", None)  # `import diffusion_helpers` raises ImportError
    with pytest.raises(ImportError) as raised:
        run_setup_cell(NOTEBOOKS[0], monkeypatch, on_colab=on_colab)
    message = str(raised.value)
    if on_colab:
        assert "Runtime > Restart session" in message and "make lab" not in message
    else:
        assert "make lab" in message and "Colab" not in message


@pytest.mark.parametrize("path", NOTEBOOKS[:1], ids=os.path.basename)
def test_elsewhere_the_setup_cell_installs_nothing(path, monkeypatch):
    commands, widget_manager, _ = run_setup_cell(path, monkeypatch, on_colab=False)
    assert commands == [] and not widget_manager


def binder_entries():
    lines = open(os.path.join(ROOT, "binder", "requirements.txt"), encoding="utf-8").read().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_binder_can_only_take_cpu_torch_and_the_series_requirements():
    entries = binder_entries()
    assert entries[0] == "--extra-index-url https://download.pytorch.org/whl/cpu" and entries[-1] == "-r ../requirements.txt"
    pins = {line.split("==")[0]: line.split("==")[1] for line in entries[1:-1]}
    assert set(pins) == {"torch", "torchvision"}
    assert all(version.endswith("+cpu") for version in pins.values()), "only a +cpu version is sure to be a CPU build"
    series = open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8").read().splitlines()
    assert "-e ." in series and any(line.startswith("torch>=") for line in series)
    runtime = open(os.path.join(ROOT, "binder", "runtime.txt"), encoding="utf-8").read().strip()
    assert runtime.startswith("python-3.") and int(runtime.split(".")[1]) >= 9  # pyproject: requires-python >= 3.9


@pytest.mark.full
def test_binder_post_build_prepares_the_first_cell():
    """postBuild runs as Binder runs it (bash, the environment's python first on PATH)."""
    path = os.path.join(ROOT, "binder", "postBuild")
    assert os.access(path, os.X_OK), "Binder runs postBuild only when it is executable"
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    result = subprocess.run(["bash", path], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "postBuild: diffusion_helpers" in result.stdout and "ready" in result.stdout
