"""Record the reference runs that ship with the package: run notebooks in full mode, collect what
their cells keep with ``dh.record(key, value)``, and write diffusion_helpers/references/<name>.pt
with its provenance (commit, date, device, torch version, mode, seconds).

    python tools/record_references.py                      # notebooks 3-7, full mode (about 50 min on 2 cores)
    python tools/record_references.py 05_ddim              # one notebook
    python tools/record_references.py --quick --out-dir /tmp/refs   # the mechanism only, in quick mode

Offline (DIFFUSION_OFFLINE=1), as CI runs. Commit the written files: the notebooks load them with
``dh.load_reference(name)`` and draw them beside a student's own numbers. Each executed notebook
is also kept in full-runs/ (commit it too), from which `make site` and `make slides` take full-run
outputs while the notebook's code cells stay as they ran.
"""
import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time

import nbformat
import torch
from nbclient import NotebookClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from diffusion_helpers.references import RECORD_VARIABLE, REFERENCE_DIR  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402  (tools/export.py: where the site and slides look for full runs)

DEFAULT_NOTEBOOKS = ["03_toy_2d_diffusion", "04_mnist_unet", "05_ddim", "06_classifier_free_guidance", "07_flow_matching"]


def commit():
    """HEAD's hash, with "-dirty" when the working tree differs from it ("unknown" outside git)."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        return "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return head.stdout.strip() + ("-dirty" if dirty else "")


def device_name():
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    model = platform.processor() or platform.machine()
    if os.path.exists("/proc/cpuinfo"):
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
        model = names[0] if names else model
    return f"CPU ({os.cpu_count()} cores, {model})"


def record_notebook(path, quick, out_dir, timeout=7200, executed_dir=None):
    """Execute ``path`` with $DIFFUSION_RECORD set; write <out_dir>/<name>.pt; return its provenance.
    With ``executed_dir``, also keep the executed notebook there (the site and slides show it)."""
    name = os.path.basename(path).removesuffix(".ipynb")
    with tempfile.TemporaryDirectory() as scratch:
        values_path = os.path.join(scratch, "values.pt")
        environment = {RECORD_VARIABLE: values_path, "DIFFUSION_QUICK": "1" if quick else "0", "DIFFUSION_OFFLINE": "1"}
        saved = {key: os.environ.get(key) for key in environment}
        os.environ.update(environment)  # the kernel inherits this process's environment
        try:
            notebook = nbformat.read(path, 4)
            start = time.perf_counter()
            NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                           resources={"metadata": {"path": os.path.dirname(path)}}).execute()
            seconds = time.perf_counter() - start
        finally:
            for key, value in saved.items():
                os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        if not os.path.exists(values_path):
            raise SystemExit(f"{name}: no cell called dh.record(...), so there is nothing to ship")
        values = torch.load(values_path, weights_only=True)
    provenance = {"notebook": name, "quick": quick, "seconds": round(seconds, 1), "commit": commit(),
                  "date": datetime.date.today().isoformat(), "device": device_name(), "torch": str(torch.__version__),
                  "python": platform.python_version(), "keys": sorted(values)}
    os.makedirs(out_dir, exist_ok=True)
    torch.save({"values": values, "provenance": provenance}, os.path.join(out_dir, f"{name}.pt"))
    if executed_dir is not None:
        notebook.metadata["diffusion_run"] = {"mode": "quick" if quick else "full", "date": provenance["date"],
                                              "device": provenance["device"], "commit": provenance["commit"]}
        os.makedirs(executed_dir, exist_ok=True)
        nbformat.write(notebook, os.path.join(executed_dir, os.path.basename(path)))
    return provenance


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", default=DEFAULT_NOTEBOOKS, help="names in notebooks/, without .ipynb")
    parser.add_argument("--quick", action="store_true", help="quick mode: try the mechanism, never ship the result")
    parser.add_argument("--out-dir", default=REFERENCE_DIR, help="where to write (default: the package's references/)")
    parser.add_argument("--executed-dir", default=None,
                        help="where to keep the executed notebooks (default: full-runs/, which the site and slides "
                             "show, for a full run; none kept for a quick one unless given)")
    args = parser.parse_args()
    if args.quick and args.executed_dir and os.path.abspath(args.executed_dir) == os.path.abspath(export.FULL_RUN_DIR):
        raise SystemExit("--quick runs are not full runs: give --executed-dir elsewhere (the site shows full runs only)")
    if args.quick and os.path.abspath(args.out_dir) == os.path.abspath(REFERENCE_DIR):
        raise SystemExit("--quick records rough numbers: give --out-dir elsewhere (the package ships full runs only)")
    for name in args.notebooks:
        path = os.path.join(ROOT, "notebooks", f"{name.removesuffix('.ipynb')}.ipynb")
        if not os.path.exists(path):
            raise SystemExit(f"no notebook {path}")
        provenance = record_notebook(path, args.quick, args.out_dir,
                                     executed_dir=args.executed_dir or (None if args.quick else export.FULL_RUN_DIR))
        print(f"{provenance['notebook']}: {len(provenance['keys'])} values in {provenance['seconds']:.0f} s "
              f"({'quick' if args.quick else 'full'} mode, {provenance['device']}): {', '.join(provenance['keys'])}")


if __name__ == "__main__":
    main()
