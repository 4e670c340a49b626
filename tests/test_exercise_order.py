"""The teaching pattern: the student writes a piece, checks it, and only then does the notebook run
the package's version of it. A notebook that trains with dh.train before the student has written
the loss teaches the loss as an afterthought."""
import json
import os
import re

import pytest

NOTEBOOKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks")

# an exercise's check -> the package's calls that run what it checks
PACKAGE_VERSIONS = {
    "check_training_loss": ("dh.train(", "dh.diffusion_loss("),
    "check_ddpm_step": ("dh.ddpm_step(", "dh.ddpm_steps(", "dh.ddpm_sample("),
    "check_label_dropout": ("dh.drop_labels(", "dh.train("),  # dh.train drops labels with it at every step
    "check_flow_matching_loss": ("dh.flow_matching_loss(", 'objective="flow_matching"'),
    "check_euler_step": ("dh.euler_step(", "dh.flow_euler_sample(", "dh.flow_heun_sample(", "dh.FLOW_SAMPLERS["),
}


def code_cells(name):
    with open(os.path.join(NOTEBOOKS, f"{name}.ipynb"), encoding="utf-8") as file:
        cells = json.load(file)["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def first_cell(cells, needles):
    """Index of the first code cell that calls any of ``needles`` (comments ignored), else None."""
    for index, source in enumerate(cells):
        code = "\n".join(re.sub(r"#.*", "", line) for line in source.splitlines())
        if any(needle in code for needle in needles):
            return index
    return None


@pytest.mark.parametrize("notebook", ["04_mnist_unet", "06_classifier_free_guidance", "07_flow_matching"])
def test_each_exercise_comes_before_the_package_runs_its_piece(notebook):
    cells = code_cells(notebook)
    checked = [check for check in PACKAGE_VERSIONS if first_cell(cells, [f"exercises.{check}("]) is not None]
    assert checked, f"{notebook} has none of the exercises {list(PACKAGE_VERSIONS)}"
    for check in checked:
        exercise, package = first_cell(cells, [f"exercises.{check}("]), first_cell(cells, PACKAGE_VERSIONS[check])
        assert package is None or exercise < package, \
            f"{notebook}: code cell {package} runs {PACKAGE_VERSIONS[check]} before code cell {exercise} asks the " \
            f"student to write it ({check})"
