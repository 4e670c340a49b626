"""Grade a folder of submitted notebooks: run each, and write one CSV row per student, notebook and exercise.

    python tools/grade.py SUBMISSIONS --out grades.csv        # or: make grade SUBMISSIONS=folder
    python tools/grade.py SUBMISSIONS --out grades.csv --timeout 600

Layout: one folder per student, named after the student, holding that student's notebooks under
their series names (as the student version has them):

    SUBMISSIONS/alice/01_noise_schedules.ipynb
    SUBMISSIONS/alice/02_forward_process.ipynb
    SUBMISSIONS/bob/01_noise_schedules.ipynb

Any other file is skipped with a line saying so. Each notebook runs top to bottom in a fresh
kernel, in quick and offline mode (DIFFUSION_QUICK=1, DIFFUSION_OFFLINE=1), in an empty
temporary folder, within ``--timeout`` seconds in all (default 300; a quick run takes under a
minute). A cell that raises does not stop the run: later exercises still count.

Each check reports its result to a log (the environment variable DIFFUSION_CHECK_LOG, see
diffusion_helpers/exercises/_core.py), so nothing is read from printed text. The exercises of a
notebook are those of the shipped notebook (``--reference``, default notebooks/; their names as
in tools/student.py: the check's name without "check_"). The CSV's columns: student, notebook,
exercise, passed (true/false), message: the check's own message, or why it never ran (a cell
that raised before it or in its cell, the time limit, its cell missing or not calling the check).
Every student gets rows for every notebook anyone submitted ("not submitted" where missing). If
a check ran more than once, its last result counts.

The submitted code runs with your rights on this machine: grade untrusted submissions inside a
container or a throwaway account. A student who wants to can write the log file too: this is a
teaching aid, not an exam lock.
"""
import argparse
import atexit
import csv
import json
import os
import re
import sys
import tempfile
import time

import nbformat

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tools/ is no package; tests load this file by path
from student import CHECK_CALL, NOTEBOOK_DIR, exercises, series_notebooks  # noqa: E402

COLUMNS = ["student", "notebook", "exercise", "passed", "message"]


def submissions(folder, known):
    """{student: {notebook name: path}} from ``folder``/<student>/<notebook>.ipynb, ``known`` the
    series' notebook names; every other file is skipped with a line saying so."""
    found = {}
    for student in sorted(os.listdir(folder)):
        directory = os.path.join(folder, student)
        if student.startswith(".") or not os.path.isdir(directory):
            print(f"skipped {directory}: not a student's folder (SUBMISSIONS/<student>/<notebook>.ipynb)")
            continue
        found[student] = {}
        for file in sorted(os.listdir(directory)):
            if file.endswith(".ipynb") and file[:-len(".ipynb")] in known:
                found[student][file[:-len(".ipynb")]] = os.path.join(directory, file)
            elif not file.startswith("."):
                print(f"skipped {os.path.join(directory, file)}: not one of the series' notebooks {sorted(known)}")
    return found


def first_error(cell):
    """'NameError: name 'x' is not defined' for a code cell whose outputs hold an error, else None (a
    SyntaxError's "(3414961052.py, line 2)", the kernel's name for the cell, read "(line 2 of the cell)")."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            where = re.sub(r"\(\d+\.py, line (\d+)\)", r"(line \1 of the cell)", str(output.get("evalue")))
            return f"{output.get('ename')}: {where}"
    return None


def run(path, timeout):
    """Run the notebook at ``path`` (outputs stripped first) in quick and offline mode, with at most
    ``timeout`` seconds in all. Return (the notebook as run, the checks' log lines, the index of the
    cell where time ran out or None, or an error message if it could not run at all)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    from diffusion_helpers.exercises import CHECK_LOG_VARIABLE

    try:
        notebook = nbformat.read(path, 4)
    except Exception as error:  # not JSON, not a notebook: a row says so
        return None, [], None, f"the notebook could not be read ({type(error).__name__}: {error})"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    started, timed_out, running = time.monotonic(), None, [None]
    with tempfile.TemporaryDirectory() as work:
        log = os.path.join(work, "checks.jsonl")
        env = dict(os.environ, DIFFUSION_QUICK="1", DIFFUSION_OFFLINE="1", DIFFUSION_PRESENTER="0",
                   **{CHECK_LOG_VARIABLE: log})
        client = NotebookClient(notebook, kernel_name="python3", allow_errors=True, interrupt_on_timeout=False,
                                shutdown_kernel="immediate",  # a kernel stopped mid-cell: no traceback of its own
                                startup_timeout=max(60, timeout),
                                timeout_func=lambda cell: max(timeout - (time.monotonic() - started), 0.01),
                                on_cell_start=lambda cell, cell_index: running.__setitem__(0, cell_index),
                                resources={"metadata": {"path": work}})
        try:
            client.execute(env=env)
        except CellTimeoutError:
            timed_out = running[0]
        except Exception as error:  # the kernel died or would not start: what ran still counts
            atexit.unregister(client._cleanup_kernel)  # nbclient's cleanup at exit would fail on the kernel gone
            return notebook, read_log(log), None, f"the run stopped: {type(error).__name__}: {error}"
        return notebook, read_log(log), timed_out, None


def read_log(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as file:
        return [json.loads(line) for line in file if line.strip()]


def never_ran(notebook, name, timed_out, timeout, stopped):
    """Why the check of exercise ``name`` left no result in the run ``notebook``."""
    if stopped:
        return f"the check never ran: {stopped}"
    cells = [index for index, cell in enumerate(notebook.cells)
             if cell.cell_type == "code" and name in CHECK_CALL.findall(cell.source)]
    if not cells:
        return f"the check never ran: no cell of the notebook calls exercises.check_{name}( (its cell deleted or changed?)"
    index = cells[0]
    if timed_out is not None and timed_out <= index:
        return f"the check never ran: the notebook ran past its limit of {timeout:g} s, in cell {timed_out + 1}"
    own = first_error(notebook.cells[index])
    if own is None:  # e.g. the call commented out
        return f"the check never ran: its cell ({index + 1}) ran without reaching exercises.check_{name}("
    earlier = [(number, first_error(cell)) for number, cell in enumerate(notebook.cells[:index], 1) if first_error(cell)]
    return f"the check never ran: its cell ({index + 1}) raised {own}" + \
        (f"; cell {earlier[0][0]} raised {earlier[0][1]} before it" if earlier else "")


def grade_notebook(path, shipped, timeout):
    """[(exercise, passed, message)] for the submission at ``path`` of the shipped notebook ``shipped``."""
    names = [name for name, _ in exercises(shipped)]
    notebook, log, timed_out, stopped = run(path, timeout)
    if notebook is None:
        return [(name, False, stopped) for name in names]
    results = {line["exercise"]: (bool(line["passed"]), line["message"]) for line in log}  # the last run counts
    return [(name, *results[name]) if name in results else (name, False, never_ran(notebook, name, timed_out, timeout, stopped))
            for name in names]


def one_line(message):
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


def grade(folder, out, timeout=300.0, reference=NOTEBOOK_DIR):
    """Grade every submission under ``folder`` and write the CSV ``out``; return its rows."""
    shipped_paths = series_notebooks(reference)
    found = submissions(folder, shipped_paths)
    if not found:
        raise SystemExit(f"no student folders in {folder}: put each student's notebooks in {folder}/<student>/")
    submitted = [name for name in shipped_paths if any(name in notebooks for notebooks in found.values())]
    rows = []
    for student, notebooks in found.items():
        for name in submitted:
            shipped = nbformat.read(shipped_paths[name], 4)
            if name not in notebooks:
                results = [(exercise, False, "not submitted") for exercise, _ in exercises(shipped)]
            else:
                print(f"{student}: running {name} ...", flush=True)
                results = grade_notebook(notebooks[name], shipped, timeout)
            rows += [{"student": student, "notebook": name, "exercise": exercise, "passed": str(passed).lower(),
                      "message": one_line(message)} for exercise, passed, message in results]
            print(f"{student}: {name}: {sum(passed for _, passed, _ in results)} of {len(results)} exercises passed",
                  flush=True)
    with open(out, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out}: {len(rows)} rows")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="SUBMISSIONS/<student>/<notebook>.ipynb")
    parser.add_argument("--out", default="grades.csv", help="the CSV to write (default grades.csv)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a notebook may run in all (default 300)")
    parser.add_argument("--reference", default=NOTEBOOK_DIR, help="the shipped notebooks (default notebooks/)")
    args = parser.parse_args()
    if args.timeout <= 0:
        parser.error(f"--timeout must be a number of seconds above 0, got {args.timeout:g}")
    if not os.path.isdir(args.folder):
        parser.error(f"{args.folder} is not a folder: give the folder holding one folder per student")
    grade(args.folder, args.out, args.timeout, args.reference)


if __name__ == "__main__":
    main()
