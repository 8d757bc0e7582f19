"""A stored step record as people read it, in the results browser and the live page; the
stored event text itself is unchanged and never read back."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from presshil.sinks import StepBoundary
from presshil.web.live_sink import LiveSink
from presshil.web.run_view import step_count, step_event_text, time_text


def _step(index: int, name: str, kind: str, t_start_s: float, t_end_s: float) -> dict:
    return {"index": index, "name": name, "kind": kind, "t_start_s": t_start_s, "t_end_s": t_end_s}


@pytest.mark.parametrize(("step", "count", "text"), [
    (_step(0, "preload", "ramp", 0.0, 5.0), 5, "step 1/5 preload (ramp) 0 s – 5 s"),
    (_step(4, "release", "release", 65.0, 77.82), 5, "step 5/5 release (release) 65 s – 77.82 s"),
    # 200 h of cycles: h:mm:ss beyond 10 minutes (630 s = 0:10:30; 720 630 s = 200:10:30)
    (_step(2, "cycles", "repeat", 630.0, 720630.0), 4, "step 3/4 cycles (repeat) 0:10:30 – 200:10:30"),
    (_step(0, "preload", "ramp", 0.0, 5.0), 0, "step 1 preload (ramp) 0 s – 5 s"),  # count unknown
    (_step(1, 'say "hi" ü', "hold", 5.0, 6.0), 2, 'step 2/2 say "hi" ü (hold) 5 s – 6 s'),
])
def test_step_event_text(step: dict, count: int, text: str) -> None:
    assert step_event_text(step, count) == text


def test_time_text_and_step_count() -> None:
    assert time_text(None) == "" and time_text(37.0) == "37 s" and time_text(599.5) == "599.5 s"
    assert time_text(3723.0) == "1:02:03"
    steps = [{"index": 0}, {"index": 1}]
    assert step_count('[[steps]]\ntype = "ramp"\n[[steps]]\n[[steps]]\n', steps) == 3
    assert step_count("not toml [", steps) == 2  # from the records when the text is unreadable


def test_the_live_page_gets_step_events_numbered_from_1() -> None:
    sink = LiveSink()
    proto = SimpleNamespace(steps=[1, 2, 3], name="p", limits=None)
    run = SimpleNamespace(protocol=proto, press=None, identity=None, expected_total_s=80.0,
                          run_id=None, press_url="sim://")
    sink.start(run)
    sink.step(StepBoundary(0, "ramp-74", "ramp", 0.0, 37.0))  # the runner: record, then event
    sink.event(37.0, "step", "0 ramp-74 ramp 0.000..37.000")
    sink.event(38.0, "note", "0 ramp-74 ramp 0.000..37.000")  # not a step event: as written
    first, second = list(sink.events)
    assert first["message"] == "0 ramp-74 ramp 0.000..37.000"  # what was stored, unchanged
    assert first["text"] == "step 1/3 ramp-74 (ramp) 0 s – 37 s"
    assert second["text"] == second["message"]


def test_a_label_with_spaces_survives_the_step_record(tmp_path) -> None:
    """Labels "ramp up" and "let go" (spaces) come back whole in the browser's steps and its
    step lines, from the store's step records: written by a real run."""
    import presshil
    from presshil.protocol import parse_protocol
    from presshil.run_record import steps_of
    from presshil.store import Store
    from presshil.web.results import open_results

    text = """
name = "spaced"
[specimen]
die_diameter_mm = 10.0
[limits]
max_pressure_mpa = 30.0
max_rate_mpa_s = 10.0
[sampling]
rate_hz = 20
[[steps]]
type = "ramp"
label = "ramp up"
to_mpa = 10
rate_mpa_s = 5
[[steps]]
type = "hold"
duration_s = 1
[[steps]]
type = "release"
label = "let go"
rate_mpa_s = 5
"""
    db = tmp_path / "r.sqlite"
    with Store(db) as store:
        presshil.run(parse_protocol(text, "spaced.toml"), presshil.open_press("sim://?seed=1"),
                     store=store)
        steps = steps_of(store.steps(1))
    assert [(s["index"], s["name"], s["kind"]) for s in steps] == [
        (0, "ramp up", "ramp"), (1, "1", "hold"), (2, "let go", "release")]
    # a 10 MPa ramp at 5 MPa/s takes 2 s from the run's start; the hold 1 s after it
    assert steps[0]["t_start_s"] == pytest.approx(0.0, abs=0.06)
    assert steps[1]["t_start_s"] - steps[0]["t_start_s"] == pytest.approx(2.0, abs=0.1)
    assert steps[2]["t_start_s"] - steps[1]["t_start_s"] == pytest.approx(1.0, abs=0.1)
    results = open_results(db)
    try:
        run = results.run(1)
    finally:
        results.close()
    assert [s["label"] for s in run["steps"]] == ["1/3 ramp up", "2/3 1", "3/3 let go"]
    assert any(e.get("text", "").startswith("step 3/3 let go (release)") for e in run["events"])
