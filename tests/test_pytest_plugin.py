"""The pytest plugin, end to end with pytester: option precedence, markers, messages, JUnit.

Inner sessions run in subprocesses: numpy and numba cannot be imported twice in one process,
and a subprocess loads the plugin through its real ``pytest11`` entry point.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")]  # pytest in a subprocess

SHOW_URL = """
def test_show(request):
    from presshil.pytest_plugin import _settings
    s = _settings(request.config)
    print("URL=" + s.url + " SOURCE=" + s.source)
"""


def _url_line(result: pytest.RunResult) -> str:
    for line in result.outlines:
        if "URL=" in line:
            return line[line.index("URL="):]
    raise AssertionError("no URL line in output:\n" + "\n".join(result.outlines))


def test_option_precedence_cli_over_env_over_ini_over_default(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(SHOW_URL)
    monkeypatch.delenv("PRESSHIL_PRESS", raising=False)
    assert _url_line(pytester.runpytest_subprocess("-s")) == "URL=sim:// SOURCE=default"
    pytester.makeini("[pytest]\npress = sim://manual-hydraulic-15t\n")
    assert _url_line(pytester.runpytest_subprocess("-s")) == "URL=sim://manual-hydraulic-15t SOURCE=ini 'press'"
    monkeypatch.setenv("PRESSHIL_PRESS", "sim://servo-electric-10t")
    assert _url_line(pytester.runpytest_subprocess("-s")) == "URL=sim://servo-electric-10t SOURCE=$PRESSHIL_PRESS"
    result = pytester.runpytest_subprocess("-s", "--press", "sim://auto-hydraulic-25t")
    assert _url_line(result) == "URL=sim://auto-hydraulic-25t SOURCE=--press"


def test_header_names_press_and_identity(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--press", "sim://?seed=2")
    result.stdout.fnmatch_lines(["presshil: press sim://?seed=2 (from --press), * (s/n *, firmware *)"])


def test_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:presshil", "--press", "sim://")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # the option is gone with the plugin


def test_markers_skip_with_a_stated_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.hardware
        def test_needs_wire(press):
            pass

        @pytest.mark.sim_only
        def test_needs_sim(press_sim):
            assert press_sim.url.startswith("sim:")
        """
    )
    result = pytester.runpytest_subprocess("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*hardware: needs a press on a wire*"])


def test_sim_only_skips_on_a_wire_press(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sim_only
        def test_needs_sim():
            pass
        """
    )
    # the URL is never opened: the marker skips before any fixture connects
    result = pytester.runpytest_subprocess("-rs", "--press", "modbus+tcp://127.0.0.1:9")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*sim_only: needs a simulated press*"])


def test_refuses_several_xdist_workers_on_a_real_press(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-n", "2", "--press", "modbus+tcp://127.0.0.1:9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*refusing to drive one real press*"])


def test_xdist_parallelism_works_on_the_simulator(pytester: pytest.Pytester) -> None:
    _write_quick(pytester)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("seed", [1, 2, 3, 4])
        def test_runs(run_protocol, seed):
            result = run_protocol("quick-hold")
            assert result.passed
        """
    )
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*2 workers*"])


def test_press_fixture_hands_over_a_safe_press(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from presshil import Status

        def test_safe(press):
            s = press.read()
            assert not s.faulted
            assert s.status & Status.READY
            assert abs(s.pressure_mpa) < 0.5
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


PROTO = (ROOT / "tests" / "data" / "quick-hold.toml").read_text()


def _write_quick(pytester: pytest.Pytester) -> None:
    (pytester.path / "protocols").mkdir(exist_ok=True)
    (pytester.path / "protocols" / "quick-hold.toml").write_text(PROTO)


def test_failure_message_names_step_time_value_and_limit(pytester: pytest.Pytester) -> None:
    _write_quick(pytester)
    pytester.makepyfile(
        """
        from presshil.testing import assert_hold_stable

        def test_too_tight(run_protocol):
            result = run_protocol("quick-hold")
            assert_hold_stable(result, "hold-20", band_mpa=0.0001, settle_s=2)
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*step 'hold-20' (index 1): band_mpa = * MPa at run time t=* s (step time * s), limit at most 0.0001 MPa*"]
    )


def test_passing_assertions_and_uniformity(pytester: pytest.Pytester) -> None:
    _write_quick(pytester)
    pytester.makepyfile(
        """
        from presshil.testing import assert_hold_stable, assert_uniform

        def test_ok(run_protocol):
            result = run_protocol("quick-hold")
            assert result.passed, result.failed_verdicts()
            assert_hold_stable(result, 1, band_mpa=0.5, settle_s=2)
            assert_uniform(result, "hold-20", max_nonuniformity_pct=5.0, settle_s=2)
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_junit_records_press_identity(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_uses_press(press):\n    press.read()\n")
    xml = pytester.path / "junit.xml"
    pytester.runpytest_subprocess(f"--junitxml={xml}", "--press", "sim://?seed=4").assert_outcomes(passed=1)
    props = {p.get("name"): p.get("value") for p in ET.parse(xml).getroot().iter("property")}
    assert props["presshil_press"] == "sim://?seed=4"
    assert props["presshil_firmware"]
    assert "s/n" in props["presshil_press_identity"]


def test_latency_budget_fails_the_benchmark_when_p99_is_over(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_cycle(control_loop):
            figures = control_loop(setpoint_mpa=5.0, rounds=50)
            assert figures["p50_ms"] > 0  # a cycle over a wire takes time
            assert abs(figures["jitter_ms"] - (figures["p99_ms"] - figures["p50_ms"])) < 1e-9
        """
    )
    pytester.runpytest_subprocess("--press-latency-budget-ms", "1000").assert_outcomes(passed=1)
    failing = pytester.runpytest_subprocess("--press-latency-budget-ms", "0.000001")
    failing.assert_outcomes(failed=1)
    failing.stdout.fnmatch_lines(["*control cycle p99 * ms is over the budget of 1e-06 ms*"])
