"""The student version (tools/student.py): every solution fold out, every check in, one exercise reset."""
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("student", os.path.join(ROOT, "tools", "student.py"))
student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student)

NOTEBOOKS = student.series_notebooks()
FOLD = re.compile(r"<details>.*?</details>", re.S)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    student.build(str(out))
    return {name: nbformat.read(str(out / f"{name}.ipynb"), 4) for name in NOTEBOOKS}


def leaked_lines(shipped):
    """The lines of the shipped notebook's solution folds that appear nowhere else in it (so a student
    version holding one has a solution in it)."""
    text = "\n".join(cell.source for cell in shipped.cells)
    outside = FOLD.sub("", text)
    inside = [line.strip() for fold in FOLD.findall(text) for line in fold.splitlines()]
    return {line for line in inside if len(line) > 12 and line not in outside and not line.startswith("<")}


def test_the_series_has_solution_folds_to_take_out():
    """The test below means something only if the shipped notebooks have folds whose lines it can look for."""
    for name, path in NOTEBOOKS.items():
        shipped = nbformat.read(path, 4)
        assert FOLD.search("\n".join(cell.source for cell in shipped.cells)), f"{name} has no <details> fold"
        assert leaked_lines(shipped), name
    assert len(NOTEBOOKS) == 7  # notebooks 1-7


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_the_student_version_has_no_solution_and_every_check(built, name):
    shipped, version = nbformat.read(NOTEBOOKS[name], 4), built[name]
    text = "\n".join(cell.source for cell in version.cells)
    for marker in ["<details", "</details>", "<summary", "Show a solution", "Show the answer"]:
        assert marker not in text, f"{name}: {marker!r} is still in the student version"
    assert not [line for line in leaked_lines(shipped) if line in text], f"{name}: a solution's line is still there"
    folds = sum(len(FOLD.findall(cell.source)) for cell in shipped.cells)
    assert text.count("with your instructor.*") == folds  # each fold became its one line
    assert student.exercises(version) == student.exercises(shipped) != []  # every check call, in its cell
    assert [cell.get("id") for cell in version.cells] == [cell.get("id") for cell in shipped.cells]
    for before, after in zip(shipped.cells, version.cells):
        if FOLD.search(before.source):  # the text around the fold stays
            assert all(part.strip() in after.source for part in FOLD.split(before.source))
        else:  # everything else as shipped (and shipped without outputs: tests/test_notebooks_clean.py)
            assert after == before


def test_a_fold_that_is_not_a_solution_is_refused_naming_its_cell():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "Read on.\n\n<details><summary>Show the derivation</summary>\n\nmaths\n</details>")])
    with pytest.raises(ValueError, match=r"tiny, cell 1 .*'Show the derivation'.*\['solution', 'answer'\]"):
        student.student_version(notebook, "tiny")
    notebook.cells[0].source = "Before.\n<details><summary><b>Show the answer</b></summary>\n42\n</details>\nAfter."
    assert student.student_version(notebook).cells[0].source == \
        "Before.\n*The answer is with your instructor.*\nAfter."


@pytest.fixture
def alice(tmp_path):
    """Alice's copy of notebook 1, both answers written, a cell of her own added."""
    path = tmp_path / "alice_01_noise_schedules.ipynb"
    shutil.copy(NOTEBOOKS["01_noise_schedules"], path)
    notebook = nbformat.read(str(path), 4)
    for name, index in student.exercises(notebook):
        notebook.cells[index].source = f"# alice's answer to {name}\nexercises.check_{name}(lambda *args: 0)"
        notebook.cells[index].outputs = [nbformat.v4.new_output("stream", text="❌ Not yet: ...")]
    notebook.cells.insert(3, nbformat.v4.new_code_cell("print('my own experiment')"))
    nbformat.write(notebook, str(path))
    return path


def test_reset_puts_one_answer_cell_back_and_keeps_the_rest(alice):
    shipped = nbformat.read(NOTEBOOKS["01_noise_schedules"], 4)
    (first, first_index), (second, second_index) = student.exercises(shipped)
    before = nbformat.read(str(alice), 4)
    name, replaced = student.reset(str(alice), "2")
    after = nbformat.read(str(alice), 4)
    assert (name, replaced) == (second, f"# alice's answer to {second}\nexercises.check_{second}(lambda *args: 0)")
    restored = next(cell for cell in after.cells if cell.id == shipped.cells[second_index].id)
    assert restored.source == shipped.cells[second_index].source and "return None" in restored.source
    assert restored.outputs == [] and restored.execution_count is None
    kept = [cell for cell in after.cells if cell.id != restored.id]
    assert kept == [cell for cell in before.cells if cell.id != restored.id]  # her other answer, her own cell
    assert student.reset(str(alice), first)[0] == first  # by name too
    assert shipped.cells[first_index] in nbformat.read(str(alice), 4).cells


def test_reset_finds_the_cell_by_its_check_where_the_id_changed_and_says_what_exists(alice):
    notebook = nbformat.read(str(alice), 4)
    for number, cell in enumerate(notebook.cells):
        cell.id = f"new-{number}"  # an editor that gave new ids
    nbformat.write(notebook, str(alice))
    assert student.reset(str(alice), "alphas_cumprod")[0] == "alphas_cumprod"
    answers = [cell.source for cell in nbformat.read(str(alice), 4).cells if "exercises.check_" in cell.source]
    assert answers[0].startswith("# alice's answer") and answers[1].startswith("def alphas_cumprod_from_betas")
    with pytest.raises(ValueError, match=r"no exercise '3'.*1 \(exponential_schedule\), 2 \(alphas_cumprod\)"):
        student.reset(str(alice), "3")
    with pytest.raises(ValueError, match="file name should contain exactly one of the series' notebooks"):
        student.reset(str(alice.with_name("mine.ipynb")), "1")


def test_the_command_line_resets_and_refuses_clearly(alice):
    command = [sys.executable, os.path.join(ROOT, "tools", "student.py"), "reset", str(alice)]
    done = subprocess.run(command + ["--exercise", "1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "exercise exponential_schedule of" in done.stdout and "alice's answer to exponential_schedule" in done.stdout
    refused = subprocess.run(command + ["--exercise", "q_sample"], capture_output=True, text=True)
    assert refused.returncode == 1 and "error: no exercise 'q_sample'" in refused.stderr
