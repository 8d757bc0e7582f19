"""Run-list filters and step records of the results browser."""

from __future__ import annotations

from types import SimpleNamespace

from presshil.sinks import StepBoundary
from presshil.web.results import RunFilter, steps_of


def run(**kw):
    base = {"protocol_name": "step-response-74mpa", "press_url": "modbus+tcp://10.0.0.5:502",
            "identity": {"model": "AH-25", "vendor": "presshil-sim"}, "firmware_version": "fw 2.1",
            "status": "passed", "started_utc": "2026-11-29T10:00:00.000+00:00"}
    return SimpleNamespace(**{**base, **kw})


def test_filters_match_substrings_status_and_dates():
    r = run()
    assert RunFilter().admits(r)
    assert RunFilter(protocol="STEP-resp").admits(r)
    assert not RunFilter(protocol="cycling").admits(r)
    assert RunFilter(press="ah-25").admits(r) and RunFilter(press="10.0.0.5").admits(r)
    assert RunFilter(firmware="2.1").admits(r) and not RunFilter(firmware="3.0").admits(r)
    assert not RunFilter(status="failed").admits(r)
    assert RunFilter(since="2026-11-29", until="2026-11-29").admits(r)
    assert not RunFilter(since="2026-11-30").admits(r)
    assert not RunFilter(until="2026-11-28").admits(r)
    assert not RunFilter(firmware="x").admits(run(firmware_version=None))


def test_steps_come_from_the_stored_step_records():
    steps = [StepBoundary(0, "ramp up", "ramp", 0.0, 5.0, band=(10.0, 0.5)),
             StepBoundary(1, "preload hold", "hold", 5.0, 15.0)]
    assert steps_of(steps) == [
        {"index": 0, "name": "ramp up", "kind": "ramp", "t_start_s": 0.0, "t_end_s": 5.0},
        {"index": 1, "name": "preload hold", "kind": "hold", "t_start_s": 5.0, "t_end_s": 15.0},
    ]
