"""Colab's path, rebuilt as Colab runs it: a fresh virtual environment in Colab's situation (torch
and torchvision already installed, at a release older than ours; ipywidgets 7; a kernel that has
imported google.colab before any cell runs), each notebook's setup cell installing the built wheel
(not an editable install; the address it installs from on Colab is swapped for the wheel's path),
then notebooks 1 and 6 top to bottom in quick mode.

Minutes, and about 1 GB of disk (a CPU build of torch), removed at the end. Only in `make test-all`.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import venv

import nbformat
import pytest

pytestmark = pytest.mark.full

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
NOTEBOOKS = sorted(name for name in os.listdir(os.path.join(ROOT, "notebooks")) if name.endswith(".ipynb"))
RUN_WHOLE = ("01_noise_schedules.ipynb", "06_classifier_free_guidance.ipynb")
# What a Colab runtime has before the first cell: torch and torchvision of an older release than
# ours (2.13.0 is the CPU build this machine holds; its PyPI torchvision is pip-consistent with it,
# though its compiled ops do not load beside a CPU build, so MNIST comes from the offline digits,
# as DIFFUSION_OFFLINE=1 asks anyway), ipywidgets 7.7.1, and Jupyter's kernel and tools.
COLAB_PREINSTALLED = ["torch==2.13.0", "torchvision==0.28.0", "ipywidgets==7.7.1", "ipykernel", "nbconvert",
                      "matplotlib", "numpy", "tqdm", "scikit-learn"]
INSTALL_SPEC = 'f"diffusion-helpers @ git+{REPOSITORY}@{RELEASE}"'
STAND_IN = '''"""A stand-in for Colab's google.colab (tests/test_colab_path.py): records the widget-manager call."""
import os


class output:
    @staticmethod
    def enable_custom_widget_manager():
        with open(os.environ["COLAB_STAND_IN_LOG"], "a") as log:
            log.write("enable_custom_widget_manager\\n")
'''


def installed(python, *names):
    code = "import importlib.metadata as m; print(' '.join(m.version(n) for n in %r))" % (names,)
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def pointed_at(path, wheel, out_dir, setup_only):
    """A copy of the notebook whose setup cell installs ``wheel`` instead of the release's address."""
    notebook = nbformat.read(path, 4)
    setup = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert setup.source.count(INSTALL_SPEC) == 1, "the setup cell's install line changed: update this test"
    setup.source = setup.source.replace(INSTALL_SPEC, repr(f"diffusion-helpers @ file://{wheel}"))
    if setup_only:
        notebook.cells = notebook.cells[:notebook.cells.index(setup) + 1]
    copy = out_dir / os.path.basename(path)
    nbformat.write(notebook, copy)
    return copy


def test_colab_installs_the_wheel_and_runs_notebooks_1_and_6(built_distributions, tmp_path):
    wheel, _, _ = built_distributions
    env_dir = tmp_path / "colab-env"
    try:
        venv.create(env_dir, with_pip=True)
        python = str(env_dir / "bin" / "python")
        pip = [python, "-m", "pip", "install", "--quiet", "--retries", "0"]
        subprocess.run(pip + COLAB_PREINSTALLED, check=True, capture_output=True, timeout=1800)
        site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
        os.makedirs(os.path.join(site, "google", "colab"))
        with open(os.path.join(site, "google", "colab", "__init__.py"), "w") as file:
            file.write(STAND_IN)
        with open(os.path.join(site, "colab_stand_in.pth"), "w") as file:
            file.write("import google.colab\n")  # Colab's kernel has google.colab in sys.modules from the start
        before = installed(python, "torch", "torchvision", "ipywidgets")
        log = tmp_path / "widget-manager.log"
        env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(PATH=str(env_dir / "bin") + os.pathsep + env["PATH"], DIFFUSION_QUICK="1", DIFFUSION_OFFLINE="1",
                   COLAB_STAND_IN_LOG=str(log))
        env.pop("MPLBACKEND", None)  # the kernel draws inline, as on Colab
        seconds = {}
        for name in NOTEBOOKS:
            whole = name in RUN_WHOLE
            work = tmp_path / name.removesuffix(".ipynb")
            work.mkdir()
            copy = pointed_at(os.path.join(ROOT, "notebooks", name), wheel, work, setup_only=not whole)
            start = time.perf_counter()
            run = subprocess.run([python, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", str(copy),
                                  "--output-dir", str(work / "out"), "--ExecutePreprocessor.timeout=600"],
                                 cwd=work, env=env, capture_output=True, text=True, timeout=1200)
            seconds[name] = time.perf_counter() - start
            assert run.returncode == 0, f"{name}: {run.stderr[-3000:]}"
            executed = nbformat.read(work / "out" / name, 4)
            outputs = [out for cell in executed.cells for out in cell.get("outputs", [])]
            errors = [out for out in outputs if out.output_type == "error"]
            assert not errors, f"{name}: {errors[0].ename}: {errors[0].evalue}"
            if whole:
                assert sum("image/png" in out.get("data", {}) for out in outputs) >= 5, name
        after = installed(python, "torch", "torchvision", "ipywidgets", "diffusion-helpers")
        assert after[:2] == before[:2], f"the install changed Colab's torch: {before[:2]} -> {after[:2]}"
        assert log.read_text().count("enable_custom_widget_manager") == len(NOTEBOOKS)
        where = subprocess.run([python, "-c", "import diffusion_helpers as dh; print(dh.__file__)"],
                               cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
        assert str(env_dir) in where and ROOT not in where, f"imported from {where}, not the installed wheel"
        print(f"\nColab simulation: Python {sys.version.split()[0]}; preinstalled torch {before[0]}, torchvision "
              f"{before[1]}, ipywidgets {before[2]}; after the setup cell: torch {after[0]}, ipywidgets {after[2]}, "
              f"diffusion-helpers {after[3]} from {os.path.basename(wheel)}")
        print("seconds (nbconvert, kernel start included): " + json.dumps({k: round(v, 1) for k, v in seconds.items()}))
    finally:
        shutil.rmtree(env_dir, ignore_errors=True)
