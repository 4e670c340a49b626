"""Install torch and torchvision into the environment that runs this script, the right build for
this machine, before the rest of requirements.txt (which then keeps them). `make lab` and
`make test` run it once, when they create .venv.

    python tools/install_torch.py            # choose, install, and say in one line what was chosen
    python tools/install_torch.py --dry-run  # only say what it would choose

- An NVIDIA GPU (nvidia-smi lists one): the default index, whose Linux wheels are CUDA builds.
- No NVIDIA GPU, on Linux or Windows: PyTorch's CPU index, whose wheels are a fraction of the CUDA
  build's size (README: about 1 GB in .venv against 6 GB). When that index cannot be reached
  (a closed network, a mirror), the default index, and the line says so.
- macOS: the default index (its wheels have no CUDA; Apple's MPS is in them).

The versions are the ranges of requirements.txt (one home for them). Nothing is done when torch
is already installed.
"""
import argparse
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def requirement(name, path=os.path.join(ROOT, "requirements.txt")):
    """The line of requirements.txt that asks for ``name``, e.g. "torch>=2.1"."""
    with open(path, encoding="utf-8") as file:
        for line in file:
            line = line.split("#")[0].strip()
            if line.split(">")[0].split("=")[0].split("<")[0].strip().lower() == name:
                return line
    raise SystemExit(f"requirements.txt has no line for {name}")


def has_nvidia_gpu():
    """True when nvidia-smi is present and lists at least one GPU."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return listed.returncode == 0 and "GPU" in listed.stdout


def reachable(url, timeout=5.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status < 400
    except Exception:
        return False


def choose(index=CPU_INDEX):
    """(extra pip arguments, the line that says what was chosen)."""
    if has_nvidia_gpu():
        return [], "torch: an NVIDIA GPU is present, so the default index (CUDA build)"
    if platform.system() == "Darwin":
        return [], "torch: macOS, so the default index (CPU and Apple MPS)"
    if reachable(index.rstrip("/") + "/torch/"):
        return ["--index-url", index], f"torch: no NVIDIA GPU, so the CPU-only build from {index}"
    return [], (f"torch: no NVIDIA GPU, but {index} cannot be reached, so the default index "
                "(on Linux that is the CUDA build, about 5 GB more on disk)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", default=os.environ.get("TORCH_CPU_INDEX", CPU_INDEX),
                        help="the CPU-only index (default: PyPI's PyTorch CPU index, or $TORCH_CPU_INDEX)")
    parser.add_argument("--dry-run", action="store_true", help="say what would be chosen; install nothing")
    args = parser.parse_args()
    if importlib.util.find_spec("torch") is not None:
        print("torch: already installed here, kept")
        return
    extra, line = choose(args.index)
    print(line, flush=True)
    if args.dry_run:
        return
    command = [sys.executable, "-m", "pip", "install", "--quiet", *extra,
               requirement("torch"), requirement("torchvision")]
    subprocess.run(command, check=True)
    build = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__, "
                            "'CUDA ' + torch.version.cuda if torch.version.cuda else 'CPU-only')"],
                           capture_output=True, text=True, check=True).stdout.strip()
    print(f"torch: installed {build}")


if __name__ == "__main__":
    main()
