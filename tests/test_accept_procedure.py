"""No class without the procedure; the decision rule; a simulated reference certifies nothing."""

from __future__ import annotations

import math

import pytest

import presshil
from presshil.acceptance import parse_suite, run_acceptance
from presshil.acceptance.procedure import decide, establishment_problems, procedure_problems
from presshil.acceptance.specimen import SimSpecimens
from presshil.errors import ProtocolError

SECTIONS = ("step_response", "ramp_response", "hold", "uniformity", "safety")


def test_procedure_clauses() -> None:
    assert procedure_problems(3, 30.0) == []
    assert procedure_problems(2, 0.0) == [
        ("series", "2 increasing series; ISO 7500-1 (6.4.5) asks for 3"),
        ("zero_wait_s", "the zero is read 0 s after unloading; ISO 7500-1 (6.4.4) reads it "
                        "about 30 s after")]
    assert [k for k, _ in procedure_problems(3, 29.9)] == ["zero_wait_s"]


def test_a_class_needs_certificate_temperature_and_a_real_reference() -> None:
    judged = {"reference certificate in date": "pass", "reference ISO 376 class": "pass",
              "temperature in 10–35 °C": "pass"}
    assert establishment_problems(3, 30.0, judged, False, False) == []
    assert establishment_problems(3, 30.0, {**judged, "temperature in 10–35 °C": "not tested"},
                                  False, False) == ["temperature in 10–35 °C: not tested"]
    assert establishment_problems(3, 30.0, judged, True, True) == [
        "the reference is simulated: no calibration certificate applies to it",
        'the suite is informative, not ISO 7500-1 (purpose = "informative")']
    # a failed item is a failed criterion of its own, not a missing one
    assert establishment_problems(3, 30.0, {**judged, "reference ISO 376 class": "fail"},
                                  False, False) == []


def test_guard_band_decision_rule_by_hand() -> None:
    # |q| = 0.80 %, U = 0.15 %, limit 1 %: 0.95 ≤ 1 pass; U = 0.25: 1.05 > 1 inconclusive
    assert decide(0.80, 0.15, 1.0, "guard_band") == "pass"
    assert decide(0.80, 0.25, 1.0, "guard_band") == "inconclusive"
    assert decide(0.80, 0.25, 1.0, "simple") == "pass"
    assert decide(1.01, 0.0, 1.0, "simple") == "fail"
    assert decide(1.01, 0.0, 1.0, "guard_band") == "fail"
    assert decide(1.0, 0.0, 1.0, "guard_band") == "pass"  # the edge is inside
    # an unknown U cannot clear the guard band; NaN never passes
    assert decide(0.5, math.nan, 1.0, "guard_band") == "inconclusive"
    assert decide(math.nan, 0.1, 1.0, "simple") == "fail"


def _suite(force_extra: str, reference: str = ""):
    text = ('name = "t"\n[force_verification]\n' + force_extra + reference
            + "".join(f"[{k}]\nenabled = false\n" for k in SECTIONS))
    return parse_suite(text, source="t.toml")


def test_a_suite_that_cannot_establish_a_class_is_refused_with_the_clause() -> None:
    with pytest.raises(ProtocolError) as exc:
        _suite("series = 2\nzero_wait_s = 0.0\n")
    text = str(exc.value)
    assert text.startswith("t.toml, field '[force_verification].series': 2 increasing series; "
                           "ISO 7500-1 (6.4.5) asks for 3")
    assert 'purpose = "informative"' in text
    with pytest.raises(ProtocolError, match=r"\[force_verification\]\.zero_wait_s.*6\.4\.4"):
        _suite("zero_wait_s = 5.0\n")
    assert _suite('series = 2\nzero_wait_s = 0.0\npurpose = "informative"\n').force_verification \
        .purpose == "informative"


def test_informative_two_series_on_a_simulated_reference_establishes_no_class() -> None:
    # the audit case: 2 series, no zero wait; informative, so it runs, and the report says
    # why the class it computes is not a verified one. The suite's certificate is in date and
    # fine enough, but it cannot describe the simulator's model transducer.
    suite = _suite('series = 2\nzero_wait_s = 0.0\npurpose = "informative"\n',
                   '[reference]\niso376_class = "00"\ndue_date = 2099-01-01\n')
    url = "sim://?seed=1"
    result = run_acceptance(presshil.open_press(url), suite,
                            specimens=SimSpecimens(url, "steel-reference-13mm"))
    fv = result.section("force_verification")
    by = {c.name: c for c in fv.criteria}
    assert by["reference certificate in date"].status == "not tested"
    assert by["reference certificate in date"].detail.startswith("simulated reference")
    assert by["reference ISO 376 class"].status == "not tested"
    assert result.iso_class is None and fv.data["indicated_class"] in ("1", "2")
    assert fv.data["class_not_established"] == [
        "2 increasing series; ISO 7500-1 (6.4.5) asks for 3",
        "the zero is read 0 s after unloading; ISO 7500-1 (6.4.4) reads it about 30 s after",
        "reference certificate in date: not tested",
        "reference ISO 376 class: not tested",
        "temperature in 10–35 °C: not tested",
        "the reference is simulated: no calibration certificate applies to it",
        'the suite is informative, not ISO 7500-1 (purpose = "informative")']
    assert by["ISO 7500-1 class established"].status == "fail"
    assert "Informative, not ISO 7500-1." in fv.notes
    assert any(n.startswith("SIMULATED REFERENCE") for n in fv.notes)
    assert any(n.startswith("Decision rule: guarded acceptance (ILAC-G8)") for n in fv.notes)
    assert result.exit_code == 1


def test_q_within_its_uncertainty_of_the_limit_is_inconclusive() -> None:
    from presshil.acceptance.iso7500 import ForceRow
    from presshil.acceptance.procedure import apply_decision_rule
    from presshil.acceptance.result import Criterion, Section

    # |q| = 0.85 % at 1 kN with U = 0.2 %: 1.05 > 1 % (class 1) -> inconclusive; at 5 kN
    # |q| = 0.3 % with U = 0.1 % passes
    rows = [ForceRow(1.0, 1.0, 0.85, 0.1, math.nan, 0.1, (0.85,)),
            ForceRow(5.0, 5.0, -0.3, 0.1, math.nan, 0.02, (-0.3,))]

    def section(rule_u: float) -> Section:
        s = Section("force_verification", "t")
        s.criteria.append(Criterion("force_verification", "accuracy |q| (class 1)", 0.85, 1.0,
                                    "%", "pass", "≤", "worst +0.85 % at 1 kN"))
        s.data["q_uncertainty"] = [{"nominal_kn": 1.0, "U_pct": rule_u},
                                   {"nominal_kn": 5.0, "U_pct": 0.1}]
        return s

    s = section(0.2)
    apply_decision_rule(s, "guard_band", 1.0, rows)
    (c,) = s.criteria
    assert c.status == "inconclusive" and "|q| + U = 0.8500 + 0.2000 % at 1 kN" in c.detail
    assert s.finish().status == "failed"  # inconclusive is not a pass
    s = section(0.2)
    apply_decision_rule(s, "simple", 1.0, rows)
    assert s.criteria[0].status == "pass"
    assert s.notes == ["Decision rule: simple acceptance (ILAC-G8): pass when value ≤ limit; "
                       "the uncertainty is reported, not used."]
    s = section(0.1)
    apply_decision_rule(s, "guard_band", 1.0, rows)
    assert s.criteria[0].status == "pass"


def test_check_refuses_the_suite_naming_its_table_and_key(tmp_path) -> None:
    from typer.testing import CliRunner

    from presshil.cli import app

    folder = tmp_path / "acceptance"
    folder.mkdir()
    bad = folder / "two.toml"
    bad.write_text('name = "two"\n[force_verification]\nseries = 2\n')
    res = CliRunner().invoke(app, ["check", str(bad)])
    assert res.exit_code == 2
    assert ("field '[force_verification].series': 2 increasing series; ISO 7500-1 (6.4.5) asks "
            "for 3") in " ".join(res.output.split())
