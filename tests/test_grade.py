"""Grading (tools/grade.py): a folder of submissions run, one CSV row per student, notebook and exercise.

The fast test grades a small series of two tiny notebooks whose exercises use the real checks
(a kernel a submission: a few seconds each); the `full` one grades notebook 1's student version
in quick mode, answered right, left as shipped, and with a typical slip."""
import csv
import importlib.util
import os
import re
import sys

import nbformat
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
spec = importlib.util.spec_from_file_location("grade", os.path.join(ROOT, "tools", "grade.py"))
grade = importlib.util.module_from_spec(spec)
spec.loader.exec_module(grade)
student = sys.modules["student"]  # tools/student.py, which grade.py imports

SETUP = "import torch\nfrom diffusion_helpers import exercises"
ANSWER = {  # exercise -> (its function's name and arguments, a right body)
    "alphas_cumprod": ("alphas_cumprod_from_betas(betas)", "return torch.cumprod(1 - betas, 0)"),
    "q_sample": ("my_q_sample(x0, t, noise, alphas_cumprod)",
                 "abar = alphas_cumprod[t].reshape(-1, 1, 1, 1)\n    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise"),
    "exponential_schedule": ("exponential_betas(num_timesteps, beta_start=1e-4, beta_end=0.02)",
                             "t = torch.arange(num_timesteps, dtype=torch.float64)\n"
                             "    return beta_start * (beta_end / beta_start) ** (t / (num_timesteps - 1))"),
    "guided_noise": ("my_guided_noise(eps_conditional, eps_null, guidance_scale)",
                     "return eps_null + guidance_scale * (eps_conditional - eps_null)"),
    "training_loss": ("my_loss(model, x0, t, noise, alphas_cumprod)",
                      "abar = alphas_cumprod[t].reshape(-1, 1, 1, 1)\n"
                      "    return ((noise - model(abar.sqrt() * x0 + (1 - abar).sqrt() * noise, t)) ** 2).mean()"),
}
EXERCISES = list(ANSWER)


def answer(exercise, body="# YOUR CODE HERE\n    return None"):
    signature, _ = ANSWER[exercise]
    return f"def {signature}:\n    {body}\n\n\nexercises.check_{exercise}({signature.split('(')[0]});"


def right(exercise):
    return answer(exercise, ANSWER[exercise][1])


def write(path, sources):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources]), str(path))


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


@pytest.fixture(scope="module")
def tiny_grades(tmp_path_factory):
    """A series of two tiny notebooks (five exercises, then one) and two students: "right", who
    answers the first notebook right, and "slips", whose first notebook holds a slip, a cell that
    raises before an exercise left as shipped, a deleted exercise, a cell that raises in an exercise,
    a check commented out, and whose second notebook is no notebook: two kernels in all."""
    tmp = tmp_path_factory.mktemp("grading")
    write(tmp / "series" / "01_tiny.ipynb", [SETUP] + [answer(exercise) for exercise in EXERCISES])
    write(tmp / "series" / "02_tiny.ipynb", [SETUP, answer("q_sample")])
    folder = tmp / "submissions"
    write(folder / "right" / "01_tiny.ipynb", [SETUP] + [right(exercise) for exercise in EXERCISES])
    (folder / "right" / "notes.txt").write_text("not a notebook")
    write(folder / "slips" / "01_tiny.ipynb", [
        SETUP, answer("alphas_cumprod", "return 1 - betas"), "1 / 0", answer("q_sample"),
        right("guided_noise").replace("\n\n\nexercises", "\n\n\nprint(oops)\nexercises"),
        right("training_loss").replace("exercises.", "# exercises.")])
    (folder / "slips" / "02_tiny.ipynb").write_text("{ not json")
    rows = grade.grade(str(folder), str(tmp / "grades.csv"), timeout=120, reference=str(tmp / "series"))
    return rows, read_csv(tmp / "grades.csv")


def test_the_csv_has_a_row_per_student_notebook_and_exercise(tiny_grades):
    rows, written = tiny_grades
    assert written == rows and list(written[0]) == ["student", "notebook", "exercise", "passed", "message"]
    expected = [(student, notebook, exercise) for student in ["right", "slips"]
                for notebook, exercises in [("01_tiny", EXERCISES), ("02_tiny", ["q_sample"])] for exercise in exercises]
    assert [(row["student"], row["notebook"], row["exercise"]) for row in written] == expected


def results(rows, who):
    return {(row["notebook"], row["exercise"]): (row["passed"], row["message"]) for row in rows if row["student"] == who}


def test_a_right_submission_passes_with_the_checks_messages(tiny_grades):
    got = results(tiny_grades[1], "right")
    assert [got[("01_tiny", exercise)][0] for exercise in EXERCISES] == ["true"] * 5, got
    assert got[("01_tiny", "alphas_cumprod")][1] == "alpha-bar_t is the running product of alpha_t = 1 - beta_t."
    assert got[("02_tiny", "q_sample")] == ("false", "not submitted")


def test_a_wrong_submission_gets_the_checks_hints_and_later_exercises_still_count(tiny_grades):
    got = results(tiny_grades[1], "slips")
    assert got[("01_tiny", "alphas_cumprod")] == (
        "false", "those are the alphas, 1 - beta_t: alpha-bar is their running product (torch.cumprod). (The check "
        "called your function with betas, the (200,) float64 tensor of NoiseSchedule('linear', 200).betas.)")
    passed, message = got[("01_tiny", "q_sample")]  # after a cell that raised: it still ran
    assert passed == "false" and message.startswith("your function returned None: did you forget `return`?")


def test_a_check_that_never_ran_says_why(tiny_grades):
    got = results(tiny_grades[1], "slips")
    assert got[("01_tiny", "exponential_schedule")] == (
        "false", "the check never ran: no cell of the notebook calls exercises.check_exponential_schedule( "
        "(its cell deleted or changed?)")
    assert got[("01_tiny", "guided_noise")] == (
        "false", "the check never ran: its cell (5) raised NameError: name 'oops' is not defined; cell 3 raised "
        "ZeroDivisionError: division by zero before it")
    assert got[("01_tiny", "training_loss")] == (
        "false", "the check never ran: its cell (6) ran without reaching exercises.check_training_loss(")
    passed, message = got[("02_tiny", "q_sample")]
    assert passed == "false" and message.startswith("the notebook could not be read (NotJSONError")


@pytest.mark.parametrize("who, cells, timeout, expected", [
    ("slow", ["import time\ntime.sleep(600)", SETUP, right("alphas_cumprod"), right("q_sample")], 3,
     [("false", "the check never ran: the notebook ran past its limit of 3 s, in cell 1")] * 2),
    ("quits", [SETUP, right("alphas_cumprod"), "import os\nos._exit(1)", right("q_sample")], 120,
     [("true", "alpha-bar_t is the running product of alpha_t = 1 - beta_t."),
      ("false", "the check never ran: the run stopped: DeadKernelError: Kernel died")]),
])
def test_a_notebook_past_its_time_limit_or_whose_kernel_dies_is_stopped_and_its_checks_say_so(
        tmp_path, who, cells, timeout, expected):
    write(tmp_path / "series" / "01_tiny.ipynb", [SETUP, answer("alphas_cumprod"), answer("q_sample")])
    write(tmp_path / "submissions" / who / "01_tiny.ipynb", cells)
    rows = grade.grade(str(tmp_path / "submissions"), str(tmp_path / "grades.csv"), timeout=timeout,
                       reference=str(tmp_path / "series"))
    assert [(row["passed"], row["message"]) for row in rows] == expected


def test_an_error_reads_as_its_name_and_message_and_a_syntax_errors_line_as_the_cells():
    def cell(ename, evalue):
        return nbformat.v4.new_code_cell("...", outputs=[nbformat.v4.new_output("stream", text="x"), nbformat.v4.new_output(
            "error", ename=ename, evalue=evalue, traceback=[])])
    assert grade.first_error(cell("SyntaxError", "'(' was never closed (3414961052.py, line 2)")) == \
        "SyntaxError: '(' was never closed (line 2 of the cell)"
    assert grade.first_error(cell("NameError", "name 'x' is not defined")) == "NameError: name 'x' is not defined"
    assert grade.first_error(nbformat.v4.new_code_cell("1")) is None


def test_a_folder_of_loose_files_is_refused(tmp_path):
    (tmp_path / "alice_01_noise_schedules.ipynb").write_text("{}")
    with pytest.raises(SystemExit, match=r"no student folders in .*<student>/"):
        grade.grade(str(tmp_path), str(tmp_path / "grades.csv"))


def solutions(shipped):
    """{exercise: the code of the solution fold after its cell} of a shipped notebook."""
    found = {}
    for name, index in student.exercises(shipped):
        fold = next(cell.source for cell in shipped.cells[index + 1:] if "<details>" in cell.source)
        found[name] = re.search(r"```python\n(.*?)```", fold, re.S).group(1)
    return found


@pytest.mark.full
def test_grading_notebook_1s_student_version_right_as_shipped_and_with_a_slip(tmp_path):
    name = "01_noise_schedules"
    shipped = nbformat.read(student.series_notebooks()[name], 4)
    student.build(str(tmp_path / "student"))
    version = nbformat.read(str(tmp_path / "student" / f"{name}.ipynb"), 4)
    (first, first_cell), (second, second_cell) = student.exercises(version)
    folder, solved = tmp_path / "submissions", solutions(shipped)

    def submit(who, answers):
        notebook = nbformat.from_dict(version)
        for exercise, index in student.exercises(version):
            if exercise in answers:  # the student's code, then the check lines as shipped
                notebook.cells[index].source = answers[exercise] + "\n\n" + notebook.cells[index].source.split("\n\n\n", 1)[1]
        (folder / who).mkdir(parents=True)
        nbformat.write(notebook, str(folder / who / f"{name}.ipynb"))

    submit("ada", solved)
    submit("bea", {})
    submit("cy", {first: solved[first].replace("(num_timesteps - 1)", "num_timesteps"), second: solved[second]})
    grade.grade(str(folder), str(tmp_path / "grades.csv"), timeout=300)
    got = {(row["student"], row["exercise"]): (row["passed"], row["message"]) for row in read_csv(tmp_path / "grades.csv")}
    assert got[("ada", first)] == ("true", "your exponential schedule matches beta_t = beta_start (beta_end / "
                                           "beta_start)^(t / (T-1)).")
    assert got[("ada", second)] == ("true", "alpha-bar_t is the running product of alpha_t = 1 - beta_t.")
    for exercise in (first, second):
        passed, message = got[("bea", exercise)]
        assert passed == "false" and message.startswith("your function returned None: did you forget `return`?")
    assert got[("cy", first)][0] == "false" and got[("cy", first)][1].startswith(
        "close: with the exponent t / T the last beta falls short of beta_end; use t / (T - 1).")
    assert got[("cy", second)][0] == "true"
