"""Binder's path, rebuilt here: a fresh virtual environment from binder/'s files (as repo2docker
installs them, from the repository's root), then binder/postBuild, then notebook 1 run in it.

It takes a few minutes (torch goes into a new environment) and about 2 GB of disk, removed at the
end. Where download.pytorch.org cannot be reached (as on the machine this was written on), the
"+cpu" pins cannot resolve; the test then installs a copy of binder/requirements.txt with the
pins swapped for another CPU build (torch 2.13.0+cpu, which this machine holds, and the torchvision
pip pairs with it), so only the torch release differs from Binder's; it says so in its output.
Only in `make test-all`.
"""
import os
import shutil
import socket
import subprocess
import venv

import nbformat
import pytest

pytestmark = pytest.mark.full

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OFFLINE_CPU_PINS = {"torch": "torch==2.13.0", "torchvision": "torchvision==0.28.0"}  # when the CPU index is out of reach


def reachable(host):
    try:
        socket.getaddrinfo(host, 443)
        return True
    except OSError:
        return False


def test_binder_environment_builds_and_runs_notebook_1(tmp_path):
    env_dir = tmp_path / "binder-env"
    try:
        venv.create(env_dir, with_pip=True)
        bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
        python = str(bin_dir / "python")
        requirements = os.path.join("binder", "requirements.txt")
        if not reachable("download.pytorch.org"):
            lines = open(os.path.join(ROOT, requirements), encoding="utf-8").read().splitlines()
            swapped = [OFFLINE_CPU_PINS.get(line.split("==")[0], line) if "+cpu" in line else line for line in lines]
            requirements = os.path.join("binder", ".requirements-offline.txt")  # beside the original: same -r paths
            with open(os.path.join(ROOT, requirements), "w", encoding="utf-8") as file:
                file.write("\n".join(swapped) + "\n")
            print(f"download.pytorch.org is out of reach here: the +cpu pins are swapped for {OFFLINE_CPU_PINS}")
        install = subprocess.run([python, "-m", "pip", "install", "--quiet", "--retries", "0", "-r", requirements],
                                 cwd=ROOT, capture_output=True, text=True, timeout=1800)
        assert install.returncode == 0, install.stderr[-3000:]
        env = dict(os.environ, PATH=str(bin_dir) + os.pathsep + os.environ["PATH"], VIRTUAL_ENV=str(env_dir))
        env.pop("PYTHONPATH", None)
        post_build = subprocess.run(["bash", os.path.join(ROOT, "binder", "postBuild")], cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=600)
        assert post_build.returncode == 0 and "ready" in post_build.stdout, post_build.stderr[-3000:]
        output = tmp_path / "executed"
        run = subprocess.run([python, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                              os.path.join(ROOT, "notebooks", "01_noise_schedules.ipynb"), "--output-dir", str(output)],
                             cwd=ROOT, env=dict(env, DIFFUSION_QUICK="1", DIFFUSION_OFFLINE="1"),
                             capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stderr[-3000:]
        executed = nbformat.read(output / "01_noise_schedules.ipynb", 4)
        outputs = [out for cell in executed.cells for out in cell.get("outputs", [])]
        assert not [out for out in outputs if out.output_type == "error"]
        assert sum("image/png" in out.get("data", {}) for out in outputs) >= 5
        where = subprocess.run([python, "-c", "import diffusion_helpers, torch; print(diffusion_helpers.__file__, "
                                "torch.__version__)"], env=env, capture_output=True, text=True)
        assert where.returncode == 0 and ROOT in where.stdout, "the package is installed from this checkout"
        print(f"Binder environment: {where.stdout.strip()}; {post_build.stdout.strip()}")
        build = subprocess.run([python, "-c", "import torch; print(torch.version.cuda)"], capture_output=True, text=True)
        assert build.stdout.strip() == "None", "Binder's environment must hold a CPU build of torch"
    finally:
        shutil.rmtree(env_dir, ignore_errors=True)
        if os.path.exists(os.path.join(ROOT, "binder", ".requirements-offline.txt")):
            os.remove(os.path.join(ROOT, "binder", ".requirements-offline.txt"))
