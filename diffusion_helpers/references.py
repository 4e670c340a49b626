"""Reference runs: what notebooks 3-6 measure in full mode, recorded once and shipped, so that a
quick-mode run (or a run on a busy laptop) shows its own numbers beside the full run's.

In a notebook, a cell that measures something records it and draws the reference beside it:

    dh.record("sampler_table", rows)                     # kept only while a reference run records
    reference = dh.load_reference("05_ddim")             # the shipped full run, with its provenance
    reference.values["sampler_table"], reference.label   # "reference: full mode, 2026-12-06, ..."

`python tools/record_references.py` runs the notebooks in full mode with $DIFFUSION_RECORD set and
writes diffusion_helpers/references/<notebook>.pt: {"values": {key: value}, "provenance": {...}}.
Values are plain numbers, strings, lists, dicts and tensors (loaded with weights_only=True).

$DIFFUSION_REFERENCE_DIR, when set, is read instead of the shipped folder (by load_reference,
reference_names and dh.check_claims): to try a notebook against a run recorded elsewhere, e.g.
`python tools/record_references.py 04_mnist_unet --quick --out-dir /tmp/refs`, then the notebook
with DIFFUSION_REFERENCE_DIR=/tmp/refs.
"""
import os
from typing import NamedTuple

import torch

from .runtime import quick_mode

REFERENCE_DIR = os.path.join(os.path.dirname(__file__), "references")
RECORD_VARIABLE = "DIFFUSION_RECORD"  # the file a reference run collects the recorded values in
DIRECTORY_VARIABLE = "DIFFUSION_REFERENCE_DIR"  # a folder read instead of REFERENCE_DIR, when set
# what this kernel recorded so far, key -> value: the student's own numbers, for dh.check_claims
THIS_RUN = {}  # (updated and cleared in place, never rebound: claims.py holds it by name)


class Reference(NamedTuple):
    """A shipped reference run: the recorded ``values`` (key -> value) and ``provenance`` (commit,
    date, device, torch version, mode, seconds the notebook took)."""
    values: dict
    provenance: dict

    @property
    def label(self):
        """One line for a figure or a table: where these numbers come from."""
        p = self.provenance
        return (f"reference: {'quick' if p.get('quick') else 'full'} mode, {p.get('date', '?')}, {p.get('device', '?')}, "
                f"torch {p.get('torch', '?')}, commit {str(p.get('commit', '?'))[:7]}")


def _plain(value, key):
    """``value`` as something torch.load(weights_only=True) reads back: tensors on the CPU, detached."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if hasattr(value, "_asdict"):  # an Estimate or a Cost: a dict of its fields (a Cost's result, the samples, left out)
        return _plain({k: v for k, v in value._asdict().items() if k != "result"}, key)
    if isinstance(value, dict):
        return {str(k): _plain(v, key) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, key) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"dh.record({key!r}, ...) keeps numbers, strings, lists, dicts and tensors; "
                    f"got a {type(value).__name__}")


def recording():
    """The file a reference run records into ($DIFFUSION_RECORD), or None outside one."""
    return os.environ.get(RECORD_VARIABLE) or None


def recording_reference():
    """True while a full-mode run records the reference ($DIFFUSION_RECORD set, quick mode off): that
    run is the reference. A quick-mode recording is a trial and is shown the shipped reference."""
    return recording() is not None and not quick_mode()


def missing_reference_note():
    """What a table or figure says where it draws no reference run beside the student's: the run
    being recorded is itself the reference, or none ships yet."""
    return "this run is being recorded as the reference run" if recording_reference() else "no reference run shipped yet"


def record(key, value):
    """Keep ``value`` under ``key``: in THIS_RUN (this kernel's own numbers, which dh.check_claims
    reads), and, during a reference run ($DIFFUSION_RECORD set), in the file that becomes the
    shipped reference. Returns ``value``, so that a cell may write ``rows = dh.record("rows", measure())``."""
    if not isinstance(key, str) or not key:
        raise TypeError(f"key must be a non-empty string naming the measurement, got {key!r}")
    plain = _plain(value, key)
    THIS_RUN[key] = plain
    path = recording()
    if path is not None:
        values = torch.load(path, weights_only=True) if os.path.exists(path) else {}
        values[key] = plain
        torch.save(values, path)
    return value


def reference_dir(directory=None):
    """``directory`` if given, else $DIFFUSION_REFERENCE_DIR if set, else the shipped REFERENCE_DIR."""
    return directory if directory is not None else (os.environ.get(DIRECTORY_VARIABLE) or REFERENCE_DIR)


def reference_names(directory=None):
    """The notebooks that have a shipped reference run, e.g. ["04_mnist_unet", "05_ddim"]
    (in ``directory``, default: reference_dir())."""
    directory = reference_dir(directory)
    if not os.path.isdir(directory):
        return []
    return sorted(name[:-3] for name in os.listdir(directory) if name.endswith(".pt"))


def load_reference(notebook, directory=None, missing_ok=False):
    """The shipped full-mode reference run of ``notebook`` (its file name without .ipynb, e.g.
    "05_ddim"), as a Reference(values, provenance); with ``missing_ok``, None when none ships
    (a notebook's first reference run, or a key it has not recorded yet), and None while a reference
    run is being recorded in full mode ($DIFFUSION_RECORD set, quick mode off: that run is the reference). ``directory``, default
    reference_dir(): $DIFFUSION_REFERENCE_DIR if set, else the package's references/."""
    directory = reference_dir(directory)
    names = reference_names(directory)
    if missing_ok and recording_reference():
        return None  # this run is being recorded as the reference: the last one beside it would ship stale
    if notebook not in names and missing_ok:
        return None
    if notebook not in names:
        raise ValueError(f"notebook must name a shipped reference run, one of {names}, got {notebook!r} "
                         "(tools/record_references.py records them)")
    stored = torch.load(os.path.join(directory, f"{notebook}.pt"), weights_only=True)
    if set(stored) != {"values", "provenance"}:
        raise ValueError(f"{notebook}.pt is not a reference run (keys {sorted(stored)}): record it again")
    return Reference(stored["values"], stored["provenance"])

