"""OPC UA samples placed where the PLC measured them (SourceTimestamp), over real loopback
OPC UA against the profile emulation, whose PLC clock runs 5 s ahead of the host's."""

from __future__ import annotations

import statistics

import pytest

pytest.importorskip("asyncua")

from wall_clock import wall_clock_fixture

import presshil  # noqa: E402
from presshil.profiles.server import start_profile_server  # noqa: E402
from presshil.sampler import Sampler, SamplerPolicy  # noqa: E402

SIM = "sim://auto-hydraulic-25t?seed=1"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@wall_clock_fixture()
def server():
    handle = start_profile_server(SIM, "opcua-press", opcua="127.0.0.1:0")
    handle.plc_clock.offset_s = 5.0  # the PLC's clock is 5 s ahead of this host's
    yield handle
    handle.stop()


def offsets(events: list[tuple[str, str]]) -> list[float]:
    """The offsets recorded (``device clock offset +5.000123 s from this host's …``)."""
    return [float(m.split("offset ")[1].split(" s")[0]) for k, m in events if k == "clock-offset"]


def lags(sampler: Sampler, press, count: int) -> list[float]:
    """For ``count`` samples: how long before it was read (on the press clock) each sample
    is placed."""
    out = []
    for _ in range(count):
        t, _ = sampler.next()
        out.append(press.clock.now() - (sampler.t0 + t))
    return out


@pytest.mark.parametrize("mode", ["subscribe", "poll"])
def test_samples_are_placed_where_the_plc_measured_them_and_the_offset_is_recorded(server, mode: str) -> None:
    press = presshil.open_press(server.urls["opcua"] + f"&mode={mode}")
    events: list[tuple[str, str]] = []
    try:
        assert press.capabilities.source_time
        sampler = Sampler(press, interval_s=0.02, policy=SamplerPolicy(source_window_s=60.0),
                          on_event=lambda k, m: events.append((k, m)))
        before = lags(sampler, press, 50)
        # from now on the PLC's values reach the server 100 ms after it measured them
        server.plc_clock.delay_s = 0.1
        lags(sampler, press, 25)  # the switch: 100 ms with nothing new, then the backlog
        after = lags(sampler, press, 75)
    finally:
        press.close()
    # the offset: 5 s less the quickest sample's delay on loopback (well under 50 ms)
    first = offsets(events)[0]
    assert 4.95 < first <= 5.0 + 1e-3, events
    # before: placed at most a read interval and a publishing interval before it was read
    assert statistics.median(before) < 0.05
    # after: still on the offset learnt before (the window is 60 s), each sample is placed
    # where it was measured, 100 ms before it arrived
    assert 0.095 < statistics.median(after) < 0.15, statistics.median(after)
    assert not [e for e in events if e[0] == "device-time"]


def test_an_offset_that_moves_is_recorded_again(server) -> None:
    press = presshil.open_press(server.urls["opcua"])
    events: list[tuple[str, str]] = []
    try:
        sampler = Sampler(press, interval_s=0.02, policy=SamplerPolicy(source_window_s=1.0),
                          on_event=lambda k, m: events.append((k, m)))
        lags(sampler, press, 25)
        server.plc_clock.delay_s = 0.1
        # 1 s after the switch the quick samples have left the window: 100 ms less lead
        lags(sampler, press, 100)
    finally:
        press.close()
    found = offsets(events)
    assert len(found) >= 2, events
    assert found[-1] == pytest.approx(found[0] - 0.1, abs=0.03)
    assert "was " in [m for k, m in events if k == "clock-offset"][-1]


def test_a_server_without_source_timestamps_is_said_once_and_samples_are_placed_when_read(server) -> None:
    server.plc_clock.stamps = False
    press = presshil.open_press(server.urls["opcua"] + "&mode=poll")
    events: list[tuple[str, str]] = []
    try:
        sampler = Sampler(press, interval_s=0.02, on_event=lambda k, m: events.append((k, m)))
        lag = lags(sampler, press, 20)
    finally:
        press.close()
    assert [k for k, _ in events] == ["device-time"]
    assert "no source timestamp" in events[0][1]
    assert max(lag) < 0.01  # placed when read: the lag is only the time to compute it


def test_timestamps_arrival_places_samples_when_read(server) -> None:
    press = presshil.open_press(server.urls["opcua"] + "&timestamps=arrival")
    try:
        assert not press.capabilities.source_time
        sampler = Sampler(press, interval_s=0.02)
        t, sample = sampler.next()
        assert sample.source_time_s is not None  # still reported, just not used
    finally:
        press.close()
    with pytest.raises(presshil.TransportError, match="timestamps must be source or arrival"):
        presshil.open_press(server.urls["opcua"] + "&timestamps=device")
