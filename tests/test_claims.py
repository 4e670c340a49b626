"""Claims: each is judged on recorded values as holds / contradicted / within the noise / not
measured, on the student's run and on the reference run."""
import pytest

import diffusion_helpers as dh
from diffusion_helpers.claims import Claim, check_claims, judge
from diffusion_helpers.references import Reference


def faster(values):
    low, high = values["ten"], values["twenty"]
    if abs(high - low) < 0.1:
        return None  # within the noise
    return low < high


CLAIMS = [Claim("99_test", "1", "ten steps cost less than twenty", ("ten", "twenty"), faster),
          Claim("99_test", "2", "twenty is positive", ("twenty",), lambda values: values["twenty"] > 0)]


@pytest.mark.parametrize("values, verdict", [({"ten": 1.0, "twenty": 2.0}, "holds"),
                                             ({"ten": 2.0, "twenty": 1.0}, "contradicted"),
                                             ({"ten": 1.0, "twenty": 1.05}, "within the noise"),
                                             ({"ten": 1.0}, "not measured"), (None, "not measured")])
def test_a_claim_is_judged_by_its_numbers(values, verdict):
    assert judge(CLAIMS[0], values) == verdict


@pytest.fixture
def empty_run():
    saved = dict(dh.references.THIS_RUN)
    dh.references.THIS_RUN.clear()
    yield dh.references.THIS_RUN
    dh.references.THIS_RUN.clear()
    dh.references.THIS_RUN.update(saved)


def test_check_claims_reads_this_run_and_the_reference(empty_run, capsys):
    dh.record("ten", 1.0)
    dh.record("twenty", 2.0)
    reference = Reference({"ten": 3.0, "twenty": 2.0}, {"quick": False, "date": "2026-12-06", "device": "CPU",
                                                         "torch": "2", "commit": "abcdef0"})
    rows = check_claims("99_test", reference=reference, claims=CLAIMS)  # values: this kernel's recorded ones
    assert [(yours, theirs) for _, yours, theirs in rows] == [("holds", "contradicted"), ("holds", "holds")]
    printed = capsys.readouterr().out
    assert "[1] ten steps cost less than twenty" in printed and "your run: holds; reference run: contradicted" in printed
    assert "reference: full mode, 2026-12-06" in printed
    one = check_claims("99_test", section="2", values={"twenty": -1.0}, reference=reference, claims=CLAIMS, show=False)
    assert [(claim.section, yours) for claim, yours, _ in one] == [("2", "contradicted")]


def test_an_unknown_notebook_or_section_is_named():
    with pytest.raises(ValueError, match=r"notebook='98_none', section=None; notebooks with claims: \['99_test'\]"):
        check_claims("98_none", claims=CLAIMS, values={})
    with pytest.raises(ValueError, match="section='7'"):
        check_claims("99_test", section="7", claims=CLAIMS, values={})


def test_below_reads_recorded_estimates_and_costs():
    from diffusion_helpers.claims import below

    low, high = dh.share_estimate(0.2, 400), dh.share_estimate(0.8, 400)
    as_dict = {"value": 0.5, "error": 0.2, "low": 0.1, "high": 0.9}
    assert below(low._asdict(), high._asdict()) is True and below(high._asdict(), low._asdict()) is False
    assert below(as_dict, high._asdict()) is None  # overlapping intervals: within the noise
    fast = {"model_calls": 10, "rows": 640, "seconds": 1.0, "low": 0.9, "high": 1.1, "repeats": 3}
    slow = {"model_calls": 20, "rows": 1280, "seconds": 2.0, "low": 1.9, "high": 2.2, "repeats": 3}
    assert below(fast, slow) is True
    assert below(0.5, slow) is True  # a number known exactly: an interval of width 0
    with pytest.raises(TypeError, match="recorded Estimate"):
        below("fast", slow)


def _report(digit, confident, n=256):
    return {"estimates": {"digit": dh.share_estimate(digit, n)._asdict(),
                          "confident": dh.share_estimate(confident, n)._asdict()}}


def test_notebook_4s_claims_read_what_it_records():
    """Each claim of notebook 4 is judged on values shaped as the notebook records them, and every
    key a claim needs is one the notebook passes to dh.record."""
    import json
    import os

    from diffusion_helpers.claims import claims_of

    frechet = {"real": dh.Estimate(82.0, 8.0, 68.0, 98.0)._asdict(), "naive": dh.Estimate(537.0, 30.0, 480.0, 600.0)._asdict(),
               "ddpm": dh.Estimate(9488.0, 300.0, 8900.0, 10100.0)._asdict(),
               "student": dh.Estimate(4900.0, 200.0, 4500.0, 5300.0)._asdict(),
               "shipped": dh.Estimate(73.0, 8.0, 60.0, 90.0)._asdict()}
    full = {"compare_reports": {"real": _report(1.0, 0.98), "naive": _report(0.8, 0.54), "ddpm": _report(0.1, 0.0)},
            "compare_frechet": frechet, "student_frechet": frechet,
            "student_reports": {"real": _report(1.0, 0.98), "student": _report(0.5, 0.4), "shipped": _report(0.97, 0.90)},
            "range_reports": {"real": _report(1.0, 0.98), "zero_one": _report(0.25, 0.2)},
            "clip_largest": {"clipped": 1.0, "unclipped": 850.4}}
    claims = claims_of("04_mnist_unet")
    assert [judge(claim, full) for claim in claims] == ["holds"] * len(claims)
    young = {"compare_reports": {"real": _report(1.0, 1.0, 32), "naive": _report(0.0, 0.0, 32), "ddpm": _report(0.0, 0.0, 32)}}
    assert [judge(claim, young) for claim in claims_of("04_mnist_unet", "2")] == ["within the noise"] * 2 + ["not measured"]
    apart = dict(full, student_frechet=dict(frechet, shipped=dh.Estimate(300.0, 10.0, 280.0, 320.0)._asdict()))
    assert judge(claims[7], apart) == "contradicted"
    path = os.path.join(os.path.dirname(__file__), "..", "notebooks", "04_mnist_unet.ipynb")
    source = "".join("".join(cell["source"]) for cell in json.load(open(path, encoding="utf-8"))["cells"])
    for claim in claims:
        for key in claim.needs:
            assert f'dh.record("{key}"' in source, f"notebook 4 never records {key!r}, which a claim needs"


def _notebook_source(name):
    import json
    import os

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks", f"{name}.ipynb")
    assert os.path.exists(path), f"a claim names notebook {name!r}, but there is no {path}"
    cells = json.load(open(path, encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells]


def test_every_claim_names_a_section_of_its_notebook_and_reads_only_recorded_keys():
    from diffusion_helpers.claims import CLAIMS as SHIPPED

    for claim in SHIPPED:
        sources = _notebook_source(claim.notebook)
        headings = {line for source in sources for line in source.splitlines() if line.startswith("## ")}
        assert any(line.startswith(f"## {claim.section}.") for line in headings), \
            f"{claim.notebook} has no section heading '## {claim.section}.' for the claim {claim.text!r}"
        code = "\n".join(sources)
        for key in claim.needs:
            assert f'dh.record("{key}"' in code, f"{claim.notebook}: no cell calls dh.record({key!r}, ...), which " \
                                                 f"the claim {claim.text!r} reads"
        assert f'dh.check_claims("{claim.notebook}", section="{claim.section}")' in code, \
            f"{claim.notebook} section {claim.section}: no cell checks its claims"


def test_a_verdict_reading_a_row_this_run_lacks_is_not_measured():
    from diffusion_helpers.claims import NotMeasured, part

    claim = Claim("99_test", "1", "row b is positive", ("table",), lambda values: part(values, "table", "b") > 0)
    assert judge(claim, {"table": {"a": 1}}) == "not measured"
    assert judge(claim, {"table": {"b": 1}}) == "holds"
    with pytest.raises(NotMeasured, match="no 'c'"):
        part({"table": {"b": {}}}, "table", "b", "c")


def test_without_a_reference_the_check_says_none_has_shipped(empty_run, capsys):
    dh.record("twenty", 2.0)
    check_claims("99_test", section="2", claims=CLAIMS)
    assert "(no reference run shipped yet)" in capsys.readouterr().out


def test_as_a_cells_last_line_check_claims_adds_no_output_of_its_own():
    """Jupyter shows a cell's last value unless it has _ipython_display_: the verdicts were printed."""
    rows = check_claims("99_test", values={"ten": 1.0, "twenty": 2.0}, reference=None, claims=CLAIMS, show=False)
    assert isinstance(rows, list) and hasattr(rows, "_ipython_display_") and rows._ipython_display_() is None


def test_no_cell_ends_with_a_bare_record_call():
    """dh.record returns its value, so a cell whose last line is a bare dh.record(...) would print the
    recorded value (a tensor's repr on the site): assign it instead."""
    import ast
    import glob
    import json
    import os

    for path in glob.glob(os.path.join(os.path.dirname(__file__), "..", "notebooks", "*.ipynb")):
        for cell in json.load(open(path, encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            body = ast.parse("".join(cell["source"])).body
            last = body[-1] if body else None
            bare = isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and \
                ast.unparse(last.value.func) in ("dh.record", "record")
            assert not bare, f"{os.path.basename(path)}: a cell ends with a bare {ast.unparse(last)[:60]}"


def _row(confident, noise, frechet=None, largest=1.0, n=500):
    row = {"confident": dh.share_estimate(confident, n)._asdict(), "noise": dh.share_estimate(noise, n)._asdict(),
           "largest": largest, "n": n}
    if frechet is not None:
        row["frechet"] = dh.Estimate(frechet, 0.2 * frechet, 0.6 * frechet, 1.5 * frechet)._asdict()
    return row


def test_notebook_5s_eta_paper_claims_read_what_it_records():
    """The claims on notebook 5's "eta_paper" rows (settings by key, "eta 0" and "eta 1"): each judged on
    rows shaped as the notebook records them; quick mode's rows (two settings, no Frechet) leave the
    Frechet claims not measured; a reversal of the paper's kind contradicts the last claim."""
    from diffusion_helpers.claims import claims_of

    full = {"eta_paper": {
        "notebook": {"eta 0": _row(0.84, 0.0, 138.0), "eta 1": _row(0.88, 0.0, 90.0)},
        "grid": {"eta 0": _row(0.83, 0.0, 133.0), "eta 1": _row(0.91, 0.0, 104.0)},
        "clipping": {"eta 0": _row(0.66, 0.34, 8161.0, 1850.0), "eta 1": _row(0.66, 0.34, 8251.0, 1770.0)},
        "schedule": {"eta 0": _row(0.87, 0.0, 44.0), "eta 1": _row(0.89, 0.0, 38.0)},
        "paper": {"eta 0": _row(0.86, 0.0, 54.0, 1.15), "eta 1": _row(0.88, 0.0, 50.0, 1.16)}}}
    claims = [claim for claim in claims_of("05_ddim", "4") if "eta_paper" in claim.needs]
    assert len(claims) == 4
    assert [judge(claim, full) for claim in claims] == ["holds"] * 4
    quick = {"eta_paper": {key: {eta: {name: value for name, value in row.items() if name != "frechet"} | {"n": 64}
                                     for eta, row in full["eta_paper"][key].items()} for key in ("notebook", "clipping", "paper")}}
    del quick["eta_paper"]["clipping"]["eta 1"]  # quick mode measures "clipping" at eta 0 alone
    assert [judge(claim, quick) for claim in claims] == ["holds", "holds", "not measured", "not measured"]
    reversed_ = {"eta_paper": dict(full["eta_paper"], paper={"eta 0": _row(0.9, 0.0, 13.0, 1.1), "eta 1": _row(0.8, 0.0, 41.0, 1.1)})}
    assert judge(claims[3], reversed_) == "contradicted"
    blown = {"eta_paper": dict(full["eta_paper"], paper={"eta 0": _row(0.5, 0.3, 900.0, 40.0), "eta 1": _row(0.5, 0.3, 900.0, 1.1)})}
    assert judge(claims[1], blown) == "contradicted"


def _guided_row(where, scale, accuracy, frechet=None, rows=1000, n=500):
    """A row of notebook 6's tables as dh.record keeps it (the notebook's `kept`)."""
    row = {"accuracy": dh.share_estimate(accuracy, n)._asdict(), "where": where, "scale": scale, "n": n,
           "diversity": 27.0, "cost": {"model_calls": 25, "rows": rows, "seconds": 1.0, "low": 0.9, "high": 1.1}}
    return row | ({"frechet": dh.Estimate(frechet, 5.0, frechet - 10, frechet + 10)._asdict()} if frechet else {})


def test_notebook_6s_section_3_and_6_claims_read_what_it_records():
    """Notebook 6's guidance-field and interval claims, judged on values shaped as the notebook
    records them: they hold where the orderings are far apart, are contradicted when reversed, and
    a quick run without Frechet distances leaves the Frechet claim not measured."""
    from diffusion_helpers.claims import claims_of

    field = claims_of("06_classifier_free_guidance", "3")[-2:]
    assert [judge(claim, {"guidance_field": {"shorter": 20.0, "outward": 0.9}}) for claim in field] == ["holds"] * 2
    assert [judge(claim, {"guidance_field": {"shorter": 2.0, "outward": 0.3}}) for claim in field] == ["contradicted"] * 2
    sweep = {"every step, s = 3": _guided_row("every step", 3.0, 0.996, 100.0, rows=25000)}
    intervals = {"t in [170, 880], s = 3": _guided_row("t in [170, 880]", 3.0, 0.90, 94.0, rows=21500),
                 "t in [500, 999], s = 3": _guided_row("t in [500, 999]", 3.0, 0.994, 94.0, rows=19000),
                 "t in [0, 500], s = 3": _guided_row("t in [0, 500]", 3.0, 0.85, 112.0, rows=18500)}
    section = claims_of("06_classifier_free_guidance", "6")
    full = {"scale_sweep": sweep, "interval_rows": intervals}
    assert [judge(claim, full) for claim in section] == ["holds"] * len(section)
    reversed_rows = dict(intervals, **{"t in [0, 500], s = 3": _guided_row("t in [0, 500]", 3.0, 0.996, rows=18500),
                                       "t in [170, 880], s = 3": _guided_row("t in [170, 880]", 3.0, 0.996, rows=21500)})
    worse_sweep = {"every step, s = 3": _guided_row("every step", 3.0, 0.80, 100.0, rows=25000)}
    verdicts = [judge(claim, {"scale_sweep": worse_sweep, "interval_rows": reversed_rows}) for claim in section]
    assert verdicts[-2:] == ["contradicted"] * 2, "an interval more accurate than every step contradicts 'loses accuracy'"
    quick = {"scale_sweep": {"every step, s = 3": _guided_row("every step", 3.0, 0.98, rows=160, n=50)},
             "interval_rows": {key: _guided_row(row["where"], 3.0, 0.96, rows=row["cost"]["rows"] * 160 // 25000, n=50)
                               for key, row in intervals.items()}}
    frechet_claim = next(claim for claim in section if "Frechet" in claim.text)
    assert judge(frechet_claim, quick) == "not measured"


def _shortcut_row(confident, commonest, frechet=None, n=500):
    """A row of notebook 5's "zero_variance" as the notebook records it."""
    row = {"digit": dh.share_estimate(1.0, n)._asdict(), "confident": dh.share_estimate(confident, n)._asdict(),
           "commonest": dh.share_estimate(commonest, n)._asdict(), "class": 1, "classes": 3, "n": n}
    return row | ({"frechet": dh.Estimate(frechet, 0.2 * frechet, 0.6 * frechet, 1.5 * frechet)._asdict()} if frechet else {})


def test_notebook_5s_zero_variance_and_inpainting_claims_read_what_it_records():
    """Section 2's claims on "zero_variance" and section 6's on "inpainting", judged on values shaped
    as the notebook records them: they hold where the numbers are far apart, are contradicted when
    reversed, and quick mode's run without a Frechet distance leaves that claim not measured."""
    from diffusion_helpers.claims import claims_of

    names = ("DDIM, eta 0", "DDPM's mean, z dropped", "DDPM, with z")
    left = {"marginal": [0.95, 0.83], names[0]: [0.94, 0.82], names[1]: [0.0003, 0.03], names[2]: [0.93, 0.8]}
    full = {"zero_variance": {"steps": 50, "t": [979, 959], "noise_left": left, "rows": {
        names[0]: _shortcut_row(0.92, 0.2, 60.0), names[1]: _shortcut_row(1.0, 0.98, 3000.0)}}}
    section_2 = claims_of("05_ddim", "2")
    assert [judge(claim, full) for claim in section_2] == ["holds"] * 3
    quick = {"zero_variance": dict(full["zero_variance"], rows={
        names[0]: _shortcut_row(0.89, 0.3, n=64), names[1]: _shortcut_row(0.98, 0.6, n=64)})}
    assert [judge(claim, quick) for claim in section_2] == ["holds", "holds", "not measured"]
    reversed_ = {"zero_variance": dict(full["zero_variance"], noise_left=dict(left, **{names[1]: [0.9, 0.8]}), rows={
        names[0]: _shortcut_row(0.9, 0.9, 3000.0), names[1]: _shortcut_row(0.9, 0.2, 60.0)})}
    assert [judge(claim, reversed_) for claim in section_2] == ["contradicted"] * 3

    def inpainting(plain_excess, resampled_excess, narrows):
        rows = {"20 steps": {"agreement": dh.share_estimate(0.6, 256)._asdict(), "model_calls": 20, "n": 256,
                             "seam_excess": dh.Estimate(plain_excess, 0.01, plain_excess - 0.02, plain_excess + 0.02)._asdict()},
                "20 steps, resampled 3 times": {
                    "agreement": dh.share_estimate(0.7, 256)._asdict(), "model_calls": 58, "n": 256,
                    "seam_excess": dh.Estimate(resampled_excess, 0.01, resampled_excess - 0.02, resampled_excess + 0.02)._asdict()}}
        return {"inpainting": {"steps": 20, "rows": rows, "half_only": dh.share_estimate(0.4, 256)._asdict(),
                               "real": dh.share_estimate(0.98, 256)._asdict(),
                               "resampling_narrows": dh.Estimate(narrows, 0.01, narrows - 0.02, narrows + 0.02)._asdict()}}
    seams = [claim for claim in claims_of("05_ddim", "6") if "inpainting" in claim.needs]
    assert len(seams) == 2
    assert [judge(claim, inpainting(0.1, 0.03, 0.07)) for claim in seams] == ["holds"] * 2
    assert [judge(claim, inpainting(0.01, 0.0, 0.01)) for claim in seams] == ["within the noise"] * 2
    assert [judge(claim, inpainting(-0.1, 0.03, -0.13)) for claim in seams] == ["contradicted"] * 2
