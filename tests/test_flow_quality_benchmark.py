"""benchmarks/flow_quality.py, the table of quality against model calls (issue 33): a tiny run on an
untrained continuous-time U-Net standing in for "mnist-flow" (the shipped "mnist" as itself) counts
the calls each grid promises, prints every row, and states a goal that follows from its numbers."""
import importlib.util
import os
import re

import pytest
import torch

import diffusion_helpers as dh

PATH = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "flow_quality.py")


@pytest.fixture(scope="module")
def benchmark():
    spec = importlib.util.spec_from_file_location("flow_quality", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def estimate(value, low, high):
    return dh.Estimate(value, (high - low) / 4, low, high)


WITHIN = "goal met within the noise (no worse beyond it, and not better beyond it either)"


@pytest.mark.parametrize("ratio, flow_share, verdict, ending", [
    (estimate(1.0, 0.8, 1.3), estimate(0.80, 0.76, 0.84), "Frechet within the noise, confident share within the noise", WITHIN),
    (estimate(0.7, 0.6, 0.9), estimate(0.80, 0.76, 0.84), "Frechet mnist-flow lower beyond the noise", "goal met"),
    (estimate(1.0, 0.8, 1.3), estimate(0.90, 0.86, 0.94), "confident share mnist-flow higher beyond the noise", "goal met"),
    (estimate(1.4, 1.2, 1.6), estimate(0.80, 0.76, 0.84), "Frechet mnist-flow higher beyond the noise", "goal NOT met"),
    (estimate(0.9, 0.7, 1.1), estimate(0.60, 0.56, 0.64), "confident share mnist-flow lower beyond the noise", "goal NOT met"),
])
def test_the_goal_is_met_unless_mnist_flow_is_worse_beyond_the_noise_and_says_within_the_noise(
        benchmark, ratio, flow_share, verdict, ending):
    mnist = {"confident": estimate(0.80, 0.77, 0.83)}  # the flow's shares above: overlapping, or apart from it
    met, words = benchmark.goal({"confident": flow_share}, mnist, ratio)
    assert met is (ending != "goal NOT met") and verdict in words and words.endswith(ending), words


def test_a_tiny_run_counts_the_grids_calls_prints_every_row_and_its_goal_follows_from_the_numbers(
        benchmark, tmp_path, capsys):
    torch.manual_seed(0)
    flow = dh.UNet(base_channels=8, continuous_time=True)  # untrained: it stands in for mnist-flow's weights
    path = tmp_path / "flow.pt"
    dh.save_checkpoint(path, flow, None, "none", training={"steps": 10, "minutes": 0.5, "threads": 1, "batch_size": 8})
    out = benchmark.main(["--samples", "4", "--repeats", "2", "--bootstrap", "10", "--calls", "5,10", "--check", "2",
                          "--flow-checkpoint", str(path)])
    printed = capsys.readouterr().out
    results = out["results"]
    heun_steps = {budget: (budget + 1) // 2 for budget in (5, 10)}  # 2n - 1 calls: 3 steps in 5, 5 in 9
    expected = {("mnist-flow", "euler", 5): 5, ("mnist-flow", "euler", 10): 10,
                ("mnist-flow", "heun", heun_steps[5]): 5, ("mnist-flow", "heun", heun_steps[10]): 9,
                ("mnist", "ddim", 5): 5, ("mnist", "ddim", 10): 10, ("mnist", "unipc", 5): 5, ("mnist", "unipc", 10): 10,
                ("mnist", "dpm_solver", 10): 10, ("mnist", "heun", heun_steps[5]): 5, ("mnist", "heun", heun_steps[10]): 9}
    assert {case: row["calls"] for case, row in results.items()} == expected
    assert {steps: v["calls"] for steps, v in out["velocity_euler"].items()} == {5: 5, 10: 10}
    # DDIM is Euler on the velocity field: the same digits, to less than one 8-bit grey level
    assert all(v["difference"] < 2 / 255 for v in out["velocity_euler"].values())
    table = [line for line in printed.splitlines() if line.startswith("| mnist")]
    assert len(table) == len(expected)
    for (model, name, steps), calls in expected.items():
        assert any(line.startswith(f"| {model} | {benchmark.TITLES[name]} |") and f"| {steps} | {calls} |" in line
                   for line in table), (model, name, steps)
    # the comparator is mnist's 10-call row of lowest Frechet distance, and its ratio to itself is 1
    ten = [case for case in results if case[0] == "mnist" and results[case]["budget"] == 10]
    assert out["comparator"] == min(ten, key=lambda case: results[case]["frechet_value"])
    assert results[out["comparator"]]["ratio"].value == pytest.approx(1.0)
    # every mnist-flow row meets mnist's row of the same step rule and steps (Euler: DDIM), paired
    assert {case: (case[1], case[2]) for case in out["same_rule"]} == {
        case: (case[1], case[2]) for case in results if case[0] == "mnist-flow"}
    for case, ratio in out["same_rule"].items():
        other = ("mnist", "ddim" if case[1] == "euler" else "heun", case[2])
        assert ratio.value == pytest.approx(results[case]["frechet_value"] / results[other]["frechet_value"])
    # the goal line follows from the numbers: the paired ratio's interval and the shares' ordering
    flow_row, mnist_row = results[out["challenger"]], results[out["comparator"]]
    met = flow_row["ratio"].low <= 1 and dh.ordering(flow_row["confident"], mnist_row["confident"]) >= 0
    assert out["met"] is met
    goal_line = next(line for line in printed.splitlines() if line.startswith("Goal of issue 33"))
    assert ("goal met" in goal_line) is met and ("goal NOT met" in goal_line) is (not met)
    mnist = next(row for row in dh.list_pretrained() if row["name"] == "mnist")["training"]
    assert re.search(rf"mnist-flow 10 steps, 0\.5 min .*mnist {mnist.get('total_steps', mnist['steps']):,} steps", printed)
    assert "unequal training, in mnist's favour" in printed
