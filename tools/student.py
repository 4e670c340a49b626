"""The student version of the series: the notebooks without their solutions, and resetting one exercise.

    python tools/student.py build                                  # build/student/<notebook>.ipynb, all six
    python tools/student.py build --out FOLDER
    python tools/student.py reset MY_COPY.ipynb --exercise 2       # or --exercise alphas_cumprod

``build`` writes each notebook of notebooks/ with every solution fold taken out: a markdown
``<details><summary>Show a solution</summary> ... </details>`` (or "Show the answer", under a
question) becomes one line saying that it is with the instructor; the text around the fold in
the same cell stays. Everything else is unchanged (cell ids too), outputs stripped. The answer
cells and their checks stay as shipped, so each check still tells the student what is wrong;
the checks live in the package (diffusion_helpers/exercises), which the student version installs
like the full one. A fold whose summary is neither raises, naming the cell: decide whether it is
a solution before it ships.

``reset`` puts one exercise's answer cell of a student's notebook back as shipped (from the
repository's notebook of the same name: the file's name must contain it, e.g.
"01_noise_schedules.ipynb" or "alice_01_noise_schedules.ipynb"), keeping every other cell, and
prints the answer it replaced. An exercise is named by its number in the notebook (1, 2, ...) or
by its check's name without "check_" (``exercises`` lists them; tools/grade.py's CSV uses the
same names). Its cell is the one with the shipped cell's id, else the one that calls its check.
"""
import argparse
import os
import re
import sys

import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK_DIR = os.path.join(ROOT, "notebooks")
FOLD = re.compile(r"<details>\s*<summary>(.*?)</summary>.*?</details>", re.S)
# what a fold's summary says -> the line that replaces it in the student version
WITH_THE_INSTRUCTOR = {"solution": "*Solutions are with your instructor.*",
                       "answer": "*The answer is with your instructor.*"}
CHECK_CALL = re.compile(r"\bexercises\.check_(\w+)\(")


def series_notebooks(directory=NOTEBOOK_DIR):
    """{name: path} of the series' notebooks in ``directory`` (01_noise_schedules ...), in order."""
    names = sorted(name for name in os.listdir(directory) if name.endswith(".ipynb"))
    return {name[:-len(".ipynb")]: os.path.join(directory, name) for name in names}


def without_folds(source, where):
    """A markdown cell's source with each solution fold replaced by its one line (see WITH_THE_INSTRUCTOR)."""
    def replace(match):
        summary = re.sub(r"<[^>]+>", "", match.group(1)).strip().lower()
        kinds = [kind for kind in WITH_THE_INSTRUCTOR if kind in summary]
        if not kinds:
            raise ValueError(f"{where}: a <details> fold whose summary {match.group(1)!r} names none of "
                             f"{list(WITH_THE_INSTRUCTOR)}: is it a solution? Say so in its summary, or add its kind "
                             "to WITH_THE_INSTRUCTOR in tools/student.py")
        return WITH_THE_INSTRUCTOR[kinds[0]]
    return FOLD.sub(replace, source)


def student_version(notebook, name="notebook"):
    """A copy of ``notebook`` without solution folds and without outputs."""
    notebook = nbformat.from_dict(notebook)  # a deep copy
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            cell.source = without_folds(cell.source, f"{name}, cell {index + 1} (id {cell.get('id')})")
        elif cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def build(out_dir, notebook_dir=NOTEBOOK_DIR):
    """Write the student version of every notebook of ``notebook_dir`` into ``out_dir``; return the paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, path in series_notebooks(notebook_dir).items():
        paths.append(os.path.join(out_dir, f"{name}.ipynb"))
        nbformat.write(student_version(nbformat.read(path, 4), name), paths[-1])
    return paths


def exercises(notebook):
    """The notebook's exercises in order: [(name, index of the cell that calls its check)], the name
    being the check's without "check_" (``exercises.check_q_sample(...)``: "q_sample")."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            found += [(name, index) for name in CHECK_CALL.findall(cell.source) if name not in dict(found)]
    return found


def series_name(path, notebook_dir=NOTEBOOK_DIR):
    """The name of the series notebook that the file at ``path`` is a copy of (its name contains it)."""
    known = series_notebooks(notebook_dir)
    matches = [name for name in known if name in os.path.basename(path)]
    if len(matches) != 1:
        raise ValueError(f"{path}: its file name should contain exactly one of the series' notebooks {list(known)}")
    return matches[0]


def find_exercise(notebook, exercise):
    """(name, cell index) of ``exercise`` (its number from 1, or its name) in the shipped ``notebook``."""
    found = exercises(notebook)
    names = [name for name, _ in found]
    if str(exercise).isdigit() and 1 <= int(exercise) <= len(found):
        return found[int(exercise) - 1]
    if exercise in names:
        return found[names.index(exercise)]
    raise ValueError(f"no exercise {exercise!r} in this notebook; its exercises: "
                     + ", ".join(f"{number} ({name})" for number, name in enumerate(names, 1)))


def reset(path, exercise, notebook_dir=NOTEBOOK_DIR):
    """Put exercise ``exercise``'s answer cell of the notebook at ``path`` back as shipped; keep every
    other cell. Return (exercise name, the source it replaced)."""
    shipped = nbformat.read(series_notebooks(notebook_dir)[series_name(path, notebook_dir)], 4)
    name, index = find_exercise(shipped, exercise)
    original = shipped.cells[index]
    notebook = nbformat.read(path, 4)
    same_id = [cell for cell in notebook.cells if cell.get("id") == original.get("id")]
    calling = [cell for cell in notebook.cells if cell.cell_type == "code" and name in CHECK_CALL.findall(cell.source)]
    if not (same_id or calling):
        raise ValueError(f"{path}: no cell with id {original.get('id')} nor one that calls exercises.check_{name}(: "
                         "was the exercise's cell deleted? Copy it from the student version instead")
    cell = (same_id or calling)[0]
    replaced = cell.source
    cell.cell_type, cell.source, cell.outputs, cell.execution_count = "code", original.source, [], None
    nbformat.write(notebook, path)
    return name, replaced


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="write the student version of every notebook")
    build_command.add_argument("--out", default=os.path.join(ROOT, "build", "student"), help="default build/student")
    reset_command = commands.add_parser("reset", help="put one exercise's answer cell back as shipped")
    reset_command.add_argument("notebook", help="the student's notebook (its name contains the series notebook's)")
    reset_command.add_argument("--exercise", required=True, help="its number in the notebook (1, 2, ...) or its name")
    args = parser.parse_args()
    try:
        if args.command == "build":
            for path in build(args.out):
                print(f"wrote {os.path.relpath(path)}")
        elif args.command == "reset":
            name, replaced = reset(args.notebook, args.exercise)
            print(f"exercise {name} of {args.notebook} is back as shipped; the answer it replaced was:\n\n{replaced}")
        else:
            raise ValueError(f"unknown command {args.command!r}; the commands are build and reset")
    except ValueError as error:
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
