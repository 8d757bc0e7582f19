"""Samples placed where the device measured them: the clock-offset estimate, the monotonic
check, and the sampler and runner using them on a press that reports source timestamps."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import presshil
from presshil.press import Capabilities
from presshil.protocol import parse_protocol
from presshil.runner import PASSED, run
from presshil.sampler import Sampler
from presshil.source_time import MIN_STEP_S, OffsetEstimator, SourceTimeline

QUICK = (Path(__file__).resolve().parents[1] / "tests" / "data" / "quick-hold.toml").read_text()


def test_the_offset_is_the_largest_lead_of_the_device_clock_within_the_window() -> None:
    est = OffsetEstimator(window_s=1.0)
    # a device clock 5 s ahead; one-way delays 30, 10, 20 ms: leads 4.97, 4.99, 4.98
    assert est.add(105.00, 100.03) == pytest.approx(4.97)
    assert est.add(105.50, 100.51) == pytest.approx(4.99)
    assert est.add(106.00, 101.02) == pytest.approx(4.99)
    # at 1.60 s the samples received at 0.03 and 0.51 (before 0.60) have left the window
    assert est.add(106.55, 101.60) == pytest.approx(4.98)  # 106.55 - 101.60 = 4.95 < 4.98
    assert est.lead_s == pytest.approx(4.98)
    est.clear()
    assert est.lead_s is None
    with pytest.raises(ValueError, match="window must be > 0 s"):
        OffsetEstimator(0.0)


def test_samples_are_placed_where_measured_and_a_step_back_falls_back_to_arrival() -> None:
    """Worked by hand: the device clock is 5 s ahead of the host; the host time of each
    measurement, its delay and when it was read are chosen, the placement follows."""
    line = SourceTimeline(window_s=10.0, move_s=0.01)
    # 1: measured at host 100.00, 30 ms on the way, read at 100.04: the first anchors the order
    t, ev = line.place(105.00, 100.03, 100.04)
    assert t == pytest.approx(100.04)
    assert len(ev) == 1 and ev[0][0] == "clock-offset" and "+4.970000 s" in ev[0][1]
    # 2: measured at 100.05, 10 ms on the way: the offset is now 4.99 (moved 20 ms: recorded)
    t, ev = line.place(105.05, 100.06, 100.08)
    assert t == pytest.approx(100.06)  # 105.05 - 4.99
    assert len(ev) == 1 and "+4.990000 s" in ev[0][1] and "was +4.970000 s" in ev[0][1]
    # 3: measured at 100.07, 40 ms on the way: placed 30 ms before it arrived (at 100.07 plus
    # the quickest delay), no event (the offset did not move)
    t, ev = line.place(105.07, 100.11, 100.12)
    assert (t, ev) == (pytest.approx(100.08), [])
    # 4: nothing new arrived: placed when it was read (100.14), less the last sample's 30 ms
    # beyond the quickest delay
    t, ev = line.place(105.07, 100.11, 100.14)
    assert (t, ev) == (pytest.approx(100.11), [])
    # 5: device time goes back 170 ms: an event, the sample placed when it arrived
    t, ev = line.place(104.90, 100.16, 100.17)
    assert t == pytest.approx(100.16)
    assert ev[0][0] == "device-time" and "went back 0.170000 s" in ev[0][1]
    # 6: the offset is estimated afresh from the step back on: max(4.74, 4.75)
    t, ev = line.place(104.95, 100.20, 100.21)
    assert t == pytest.approx(100.20)
    assert ev[0][0] == "clock-offset" and "+4.750000 s" in ev[0][1]


def test_a_placement_never_goes_before_the_sample_before() -> None:
    line = SourceTimeline()
    assert line.place(10.0, 1.0, 1.5)[0] == 1.5  # the first, at its read time
    # measured 0.3 s after the first, but the first was read late: kept in order
    assert line.place(10.3, 1.3, 1.6)[0] == pytest.approx(1.5 + MIN_STEP_S)


def test_a_device_without_source_timestamps_is_said_once_and_placed_when_read() -> None:
    line = SourceTimeline()
    t1, ev1 = line.place(None, None, 2.0)
    t2, ev2 = line.place(None, None, 2.05)
    assert (t1, t2) == (2.0, 2.05)
    assert ev1 == [("device-time", "the device gave no source timestamp: samples are placed when they were read")]
    assert ev2 == []


class _Stamped:
    """The simulated press as a device whose clock is 5 s ahead and whose samples take
    0 or 20 ms (alternately) to arrive: it reports them at read time, as a wire would."""

    capabilities = Capabilities(constant_gap=True, temperature=True, source_time=True)
    DELAYS = (0.0, 0.02)

    def __init__(self, inner: presshil.Press) -> None:
        self._inner = inner
        self.reads = 0

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def read(self):
        now = self._inner.clock.now()
        delay = self.DELAYS[self.reads % 2]
        self.reads += 1
        return dataclasses.replace(self._inner.read(), source_time_s=now - delay + 5.0, received_s=now)


def test_the_sampler_places_each_sample_at_its_measurement() -> None:
    press = _Stamped(presshil.open_press("sim://?seed=1"))
    events: list[tuple[str, str]] = []
    sampler = Sampler(press, interval_s=0.05, on_event=lambda k, m: events.append((k, m)))  # type: ignore[arg-type]
    times = [sampler.next()[0] for _ in range(6)]
    # reads at 0.05 k; delays 0, 20, 0, 20 ms …; the first anchors at its read time, the
    # quickest delay (0) is the offset's: placed at 0.05 k - delay
    assert times == pytest.approx([0.05, 0.08, 0.15, 0.18, 0.25, 0.28])
    assert [k for k, _ in events] == ["clock-offset"] and "+5.000000 s" in events[0][1]


def test_a_run_records_the_offset_and_keeps_its_time_axis_in_order() -> None:
    press = _Stamped(presshil.open_press("sim://?seed=1"))
    press.url = "sim://?seed=1"
    result = run(parse_protocol(QUICK), press)  # type: ignore[arg-type]
    assert result.status == PASSED, result.failed_verdicts()
    offsets = [e.message for e in result.events if e.kind == "clock-offset"]
    assert len(offsets) == 1 and "+5.000000 s" in offsets[0]
    t = np.asarray(result.trace.t)
    assert np.all(np.diff(t) > 0)
    # every other sample is placed 20 ms before it was read, on the 20 Hz grid of reads
    late = np.round((np.ceil(t / 0.05 - 1e-6) * 0.05 - t) * 1000.0)
    assert set(late[1:].tolist()) <= {0.0, 20.0} and (late == 20.0).sum() >= len(t) // 2 - 2


def test_an_opcua_sample_takes_the_newest_stamp_and_a_signal_stepping_back_shows() -> None:
    pytest.importorskip("asyncua")
    from presshil.profiles.opcua_press import Stamps

    sub = Stamps()  # a subscription: one signal at a time, as notifications arrive
    sub.update("pressure", 100.0, 1.0)
    sub.update("status", 90.0, 1.001)  # steady: stamped when it last changed
    assert sub.stamp == (100.0, 1.0)
    sub.update("pressure", 100.02, 1.02)
    assert sub.stamp == (100.02, 1.02)
    sub.update("pressure", 99.04, 1.04)  # the PLC clock stepped back 1 s
    assert sub.stamp == (99.04, 1.04) and sub.by_signal == {"pressure": 99.04}
    sub.update("status", 99.05, 1.05)
    assert sub.stamp == (99.05, 1.05)

    poll = Stamps()  # a polled read: every signal at once
    poll.update_all({"pressure": 100.0, "status": 90.0}, 1.0)
    assert poll.stamp == (100.0, 1.0)
    poll.update_all({"pressure": 99.04, "status": 90.0}, 1.04)  # stepped back: not hidden by status
    assert poll.stamp == (99.04, 1.04)
    poll.update_all({"pressure": 99.06, "status": 90.0}, 1.06)
    assert poll.stamp == (99.06, 1.06)
    poll.update_all({}, 1.08)  # a server that stamps nothing
    assert poll.stamp == (None, None)
