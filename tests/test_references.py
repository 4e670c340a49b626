"""Reference runs: dh.record keeps values only while a reference run records, load_reference reads
what tools/record_references.py wrote, with its provenance."""
import os

import nbformat
import pytest
import torch
from conftest import load_tool

import diffusion_helpers as dh
from diffusion_helpers import references

record_references = load_tool("record_references")


def test_outside_a_reference_run_record_keeps_nothing_and_returns_the_value(monkeypatch, tmp_path):
    monkeypatch.delenv(references.RECORD_VARIABLE, raising=False)
    rows = [{"steps": 10, "frechet": 3.5}]
    assert dh.record("rows", rows) is rows
    assert list(tmp_path.iterdir()) == []


def test_inside_a_reference_run_values_round_trip(monkeypatch, tmp_path):
    path = tmp_path / "values.pt"
    monkeypatch.setenv(references.RECORD_VARIABLE, str(path))
    grid = torch.rand(4, 1, 28, 28, requires_grad=True)
    dh.record("grid", grid)
    dh.record("table", {"ddim": [0.9, 12.5], "label": "x", "none": None, "pair": (1, 2)})
    dh.record("table", {"ddim": [0.8]})  # recorded again: the last value wins
    stored = torch.load(path, weights_only=True)
    assert torch.equal(stored["grid"], grid.detach()) and stored["table"] == {"ddim": [0.8]}


def test_bad_keys_and_values_are_named(monkeypatch):
    monkeypatch.delenv(references.RECORD_VARIABLE, raising=False)
    with pytest.raises(TypeError, match="key must be a non-empty string"):
        dh.record("", 1)
    with pytest.raises(TypeError, match=r"dh.record\('model', \.\.\.\) keeps numbers.*got a Linear"):
        dh.record("model", torch.nn.Linear(2, 2))


def test_an_unknown_reference_lists_the_shipped_ones(tmp_path):
    with pytest.raises(ValueError, match=r"one of \[\], got '05_ddim'"):
        dh.load_reference("05_ddim", directory=tmp_path)
    torch.save({"values": {}, "provenance": {}}, tmp_path / "05_ddim.pt")
    with pytest.raises(ValueError, match=r"one of \['05_ddim'\], got 'ddim'"):
        dh.load_reference("ddim", directory=tmp_path)


def test_the_recording_tool_runs_a_notebook_and_ships_its_values_with_provenance(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import torch, diffusion_helpers as dh\n"
        "quick = dh.quick_mode()\n"
        "dh.record('calls', 10)\ndh.record('quick', quick)\ndh.record('grid', torch.ones(2, 3))")])
    path = tmp_path / "99_tiny.ipynb"
    nbformat.write(notebook, path)
    provenance = record_references.record_notebook(str(path), quick=True, out_dir=str(tmp_path / "refs"))
    reference = dh.load_reference("99_tiny", directory=tmp_path / "refs")
    assert reference.values["calls"] == 10 and reference.values["quick"] is True
    assert torch.equal(reference.values["grid"], torch.ones(2, 3))
    assert reference.provenance == provenance and provenance["keys"] == ["calls", "grid", "quick"]
    assert provenance["quick"] is True and provenance["torch"] == torch.__version__ and provenance["seconds"] > 0
    assert "quick mode" in reference.label and provenance["date"] in reference.label
    assert os.environ.get(references.RECORD_VARIABLE) is None, "the tool restores the environment"


def test_the_tool_refuses_to_ship_quick_numbers(monkeypatch):
    monkeypatch.setattr("sys.argv", ["record_references.py", "--quick"])
    with pytest.raises(SystemExit, match="--quick records rough numbers"):
        record_references.main()


def test_a_recorded_full_run_is_what_the_site_shows_while_its_code_cells_match(tmp_path):
    export = load_tool("export")
    path = tmp_path / "98_tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 98. Tiny"),
        nbformat.v4.new_code_cell("import diffusion_helpers as dh\nprint('full' if not dh.quick_mode() else 'quick')\n"
                                  "dh.record('mode', dh.quick_mode())")]), path)
    record_references.record_notebook(str(path), quick=False, out_dir=str(tmp_path / "refs"),
                                      executed_dir=str(tmp_path / "executed"))
    shown = export.recorded_full_run(str(path), directory=str(tmp_path / "executed"))
    assert shown is not None and shown.cells[1].outputs[0]["text"] == "full\n"
    assert shown.metadata["diffusion_run"]["mode"] == "full"
    notebook = nbformat.read(path, 4)
    notebook.cells[0].source = "# 98. Tiny, its text edited"
    nbformat.write(notebook, path)
    shown = export.recorded_full_run(str(path), directory=str(tmp_path / "executed"))
    assert shown.cells[0].source == "# 98. Tiny, its text edited", "the page shows the notebook's current text"
    assert shown.cells[1].outputs[0]["text"] == "full\n", "with the recorded outputs: a text edit needs no new run"
    notebook.cells[1].source += "\nprint('changed')"
    nbformat.write(notebook, path)
    assert export.recorded_full_run(str(path), directory=str(tmp_path / "executed")) is None, "a stale run is not shown"


def test_measured_values_are_kept_as_dicts_of_their_fields(monkeypatch, tmp_path):
    monkeypatch.setenv(references.RECORD_VARIABLE, str(tmp_path / "values.pt"))
    dh.record("share", dh.share_estimate(0.5, 100))
    dh.record("cost", dh.Cost(10, 640, 1.5, 1.2, 2.0, 3, torch.zeros(64, 1, 28, 28)))
    stored = torch.load(tmp_path / "values.pt", weights_only=True)
    assert stored["share"] == {"value": 0.5, "error": 0.05, "low": pytest.approx(0.402, abs=1e-3),
                               "high": pytest.approx(0.598, abs=1e-3)}
    assert stored["cost"] == {"model_calls": 10, "rows": 640, "seconds": 1.5, "low": 1.2, "high": 2.0, "repeats": 3}
    assert dh.load_reference("missing", directory=tmp_path, missing_ok=True) is None


def test_diffusion_reference_dir_points_every_reader_at_another_folder(monkeypatch, tmp_path):
    from diffusion_helpers.claims import Claim, check_claims

    monkeypatch.setenv(references.DIRECTORY_VARIABLE, str(tmp_path))
    assert dh.load_reference("99_tiny", missing_ok=True) is None and references.reference_names() == []
    torch.save({"values": {"calls": 10}, "provenance": {"quick": True, "date": "2026-12-06"}}, tmp_path / "99_tiny.pt")
    assert references.reference_names() == ["99_tiny"]
    assert dh.load_reference("99_tiny").values == {"calls": 10}
    claims = [Claim("99_tiny", "1", "ten calls", ("calls",), lambda values: values["calls"] == 10)]
    rows = check_claims("99_tiny", values={}, claims=claims, show=False)  # the reference comes from the folder
    assert [(yours, theirs) for _, yours, theirs in rows] == [("not measured", "holds")]
    assert dh.load_reference("99_tiny", directory=tmp_path / "elsewhere", missing_ok=True) is None  # an explicit folder wins
    monkeypatch.delenv(references.DIRECTORY_VARIABLE)
    assert references.reference_dir() == references.REFERENCE_DIR


SHIPPED = sorted(name.removesuffix(".pt") for name in os.listdir(references.REFERENCE_DIR) if name.endswith(".pt"))


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_reference_comes_with_its_full_run_for_the_site(name):
    """The site and the slides of a fresh clone show full-run outputs for every notebook whose
    reference ships: its executed run is tracked in full-runs/, from the same recording as the
    reference, and its code cells are the notebook's (a code edit needs a new recording)."""
    export = load_tool("export")
    path = os.path.join(export.NOTEBOOK_DIR, f"{name}.ipynb")
    shown = export.recorded_full_run(path)
    assert shown is not None, (f"full-runs/{name}.ipynb is missing or its code cells differ from the notebook's: "
                               f"python tools/record_references.py {name}")
    provenance = dh.load_reference(name).provenance
    run = shown.metadata["diffusion_run"]
    assert (run["commit"], run["date"]) == (provenance["commit"], provenance["date"]), "one recording for both"


def test_while_a_reference_run_records_it_is_its_own_reference(monkeypatch, tmp_path):
    """During a recording the notebook draws no older reference beside itself (it would ship a stale
    comparison), and its tables say why no reference is drawn."""
    monkeypatch.delenv(references.RECORD_VARIABLE, raising=False)
    monkeypatch.setenv("DIFFUSION_QUICK", "0")
    assert dh.missing_reference_note() == "no reference run shipped yet"
    if SHIPPED:
        assert dh.load_reference(SHIPPED[0], missing_ok=True) is not None
    monkeypatch.setenv(references.RECORD_VARIABLE, str(tmp_path / "values.pt"))
    assert dh.missing_reference_note() == "this run is being recorded as the reference run"
    for name in SHIPPED:
        assert dh.load_reference(name, missing_ok=True) is None
    monkeypatch.setenv("DIFFUSION_QUICK", "1")  # a quick recording is a trial: it sees the shipped reference
    assert dh.missing_reference_note() == "no reference run shipped yet"
    for name in SHIPPED:
        assert dh.load_reference(name, missing_ok=True) is not None
