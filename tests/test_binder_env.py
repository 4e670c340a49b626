"""Binder's path, rebuilt here: a fresh virtual environment from binder/'s files (as repo2docker
installs them, from the repository's root), then binder/postBuild, then notebook 1 run in it.

It takes a few minutes (torch goes into a new environment) and about 6 GB of disk, removed at the
end. Where download.pytorch.org cannot be reached (as on the machine this was written on), pip
skips that index at once (--retries 0) and takes torch from PyPI, so only the torch build differs
from Binder's CPU one; the test says so in its output.
"""
import os
import shutil
import socket
import subprocess
import venv

import nbformat

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


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
        if not reachable("download.pytorch.org"):
            print("download.pytorch.org is out of reach here: torch comes from PyPI instead of the CPU index")
        install = subprocess.run([python, "-m", "pip", "install", "--quiet", "--retries", "0", "-r",
                                  os.path.join("binder", "requirements.txt")],
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
    finally:
        shutil.rmtree(env_dir, ignore_errors=True)
