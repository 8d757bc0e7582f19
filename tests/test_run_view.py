"""A stored step record as people read it, in the results browser and the live page; the
stored text itself is unchanged (``--resume`` reads it)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from presshil.web.live_sink import LiveSink
from presshil.web.run_view import step_count, step_event_text, time_text


@pytest.mark.parametrize(("message", "count", "text"), [
    ("0 preload ramp 0.000..5.000", 5, "step 1/5 preload (ramp) 0 s – 5 s"),
    ("4 release release 65.000..77.820", 5, "step 5/5 release (release) 65 s – 77.82 s"),
    # 200 h of cycles: h:mm:ss beyond 10 minutes (630 s = 0:10:30; 720 630 s = 200:10:30)
    ("2 cycles repeat 630.000..720630.000", 4, "step 3/4 cycles (repeat) 0:10:30 – 200:10:30"),
    ("0 preload ramp 0.000..5.000", 0, "step 1 preload (ramp) 0 s – 5 s"),  # count unknown
    ("interlock closed", 5, None),
])
def test_step_event_text(message: str, count: int, text: str | None) -> None:
    assert step_event_text(message, count) == text


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
    sink.event(37.0, "step", "0 ramp-74 ramp 0.000..37.000")
    sink.event(38.0, "note", "0 ramp-74 ramp 0.000..37.000")  # not a step event: as written
    first, second = list(sink.events)
    assert first["message"] == "0 ramp-74 ramp 0.000..37.000"  # what was stored, unchanged
    assert first["text"] == "step 1/3 ramp-74 (ramp) 0 s – 37 s"
    assert second["text"] == second["message"]
