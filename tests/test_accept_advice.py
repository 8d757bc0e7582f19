"""The last lines of ``presshil accept``: why it failed and what passes (the first run of a
new user fails honestly on the default class-2 press and must not be a dead end)."""

from __future__ import annotations

from presshil.acceptance.advice import closing_lines
from presshil.acceptance.result import AcceptanceResult, Criterion, Section


def result(*criteria: Criterion, iso_class: str | None = "2") -> AcceptanceResult:
    fv = Section("force_verification", "Force verification (ISO 7500-1 / ASTM E4)",
                 list(criteria), data={"iso_class": iso_class, "rows": [1]}).finish()
    hold = Section("hold", "Long hold", [Criterion.judge("hold", "drift", 0.001, 0.05, "MPa/min")]).finish()
    return AcceptanceResult("standard", "standard.toml", "0" * 64, "sim://", None, "sim", {}, "t0", "t1",
                            [fv, hold])  # type: ignore[arg-type]


def test_a_failed_run_on_the_default_press_says_why_and_what_passes():
    res = result(Criterion.judge("force_verification", "zero |f0| (class 1)", 0.1196, 0.1, "%"),
                 Criterion.judge("force_verification", "accuracy |q| (class 1)", 0.3, 1.0, "%"))
    lines = closing_lines(res, "sim://", "standard", "1")
    assert lines[0] == "why it failed: 1 criterion outside the limit"
    assert lines[1] == "  Force verification: zero |f0| (class 1) is 0.1196 %, limit ≤ 0.1 %"
    assert lines[2] == ("the press verifies to ISO 7500-1 class 2; suite 'standard' asks for class 1 "
                        "(required_class in its [force_verification])")
    assert "presshil accept --press sim://servo-electric-10t" in lines[3]
    assert 'required_class = "2"' in lines[3] and "protocols/acceptance/standard.toml" in lines[3]
    assert len(lines) == 4


def test_a_passed_run_gets_no_advice_and_a_real_press_no_simulator_hint():
    ok = result(Criterion.judge("force_verification", "accuracy |q| (class 1)", 0.3, 1.0, "%"), iso_class="1")
    assert closing_lines(ok, "sim://", "standard", "1") == []
    bad = result(*(Criterion.judge("force_verification", f"c{k}", 2.0, 1.0, "%") for k in range(8)))
    lines = closing_lines(bad, "modbus+tcp://127.0.0.1:502", "standard", "1")
    assert lines[0] == "why it failed: 8 criteria outside the limit"
    assert lines[7] == "  … and 2 more (listed above)"
    assert not any("servo-electric" in line for line in lines)


def test_a_criterion_not_tested_shows_dashes_not_units_without_numbers(capsys):
    from presshil.acceptance.commands import _print_summary

    temp = Criterion("force_verification", "temperature in 10–35 °C", None, None, "°C", "not tested",
                     detail="the press reports no temperature")
    res = result(Criterion.judge("force_verification", "accuracy |q| (class 1)", 0.3, 1.0, "%"), temp)
    _print_summary(res)
    (line,) = [x for x in capsys.readouterr().out.splitlines() if "temperature" in x]
    assert line.split() == ["NOT", "TESTED", "temperature", "in", "10–35", "°C", "—", "limit", "—"]
