"""Where OPC UA samples land on the run's time axis, by SourceTimestamp or by arrival, side by
side (figures printed, nothing asserted):

    python3 -m pytest benchmarks/bench_opcua_source_time.py -p no:cacheprovider -s

The emulated PLC's clock runs 5 s ahead of the host's. For 1 s its values reach the server as
soon as they are measured; then 100 ms after. For each read mode, and for ``timestamps=source``
(the default) against ``timestamps=arrival``, it prints the clock offset recorded and the median
of how long before it was read each sample is placed, before and after the delay (the first
0.5 s after the switch left out). Placed by SourceTimestamp, a sample delivered 100 ms late
lands 100 ms before it was read; placed on arrival, where it was read.
"""

from __future__ import annotations

import statistics

import pytest

pytest.importorskip("asyncua")

import presshil  # noqa: E402
from presshil.profiles.server import start_profile_server  # noqa: E402
from presshil.sampler import Sampler, SamplerPolicy  # noqa: E402


def _lags(sampler: Sampler, press, count: int) -> list[float]:
    out = []
    for _ in range(count):
        t, _ = sampler.next()
        out.append(press.clock.now() - (sampler.t0 + t))
    return out


@pytest.mark.parametrize("query", ["mode=subscribe", "mode=poll", "mode=subscribe&timestamps=arrival"])
def test_placement(query: str) -> None:
    handle = start_profile_server("sim://auto-hydraulic-25t?seed=1", "opcua-press", opcua="127.0.0.1:0")
    handle.plc_clock.offset_s = 5.0
    try:
        press = presshil.open_press(handle.urls["opcua"] + "&" + query)
        events: list[tuple[str, str]] = []
        sampler = Sampler(press, interval_s=0.02, policy=SamplerPolicy(source_window_s=60.0),
                          on_event=lambda k, m: events.append((k, m)))
        before = _lags(sampler, press, 50)
        handle.plc_clock.delay_s = 0.1
        _lags(sampler, press, 25)
        after = _lags(sampler, press, 75)
        press.close()
    finally:
        handle.stop()
    recorded = [m.split(" s from")[0].split("offset ")[1] for k, m in events if k == "clock-offset"]
    print(f"\n{query}: offset recorded {recorded or 'none'} s; placed before read, median: "
          f"{statistics.median(before) * 1e3:.1f} ms before the delay, {statistics.median(after) * 1e3:.1f} ms after")
