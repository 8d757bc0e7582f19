"""Telling "this machine cannot keep real time" from "the firmware failed".

The plant advances in real time in its own process; the firmware under test trips
``SENSOR`` when the plant's sample counter has not advanced for ``FW_STALE_SENSOR_MS``
(50 ms in the reference firmware's ``config.h``) — which is also exactly what a plant starved
of CPU looks like. The plant measures its own real-time lag (input registers ``rt_lag`` and
``max_rt_lag`` of the plant map) and the longest gap between two sensor reads its server
answered (``max_read_gap``: a plant server starved of CPU answers late, the firmware's reads
fail or repeat, and the counter it sees stops). When the firmware reports a SENSOR fault and
either figure exceeded the budget, the host is to blame, not the firmware: the run ends with
:class:`HostTooSlow` (a :class:`~presshil.errors.PressError`: aborted, exit 3) whose message
gives the measured lag against the budget, instead of a failed verdict on the firmware.
"""

from __future__ import annotations

from typing import Any

from ..errors import PressError
from ..press import FaultCode, Sample, Status

#: the firmware's stale-sensor limit: no new plant sample for this long trips SENSOR
STALE_SENSOR_BUDGET_MS = 50.0
#: a plant lag above this share of the budget leaves too little margin to blame the firmware
#: (the firmware samples at 1 kHz: a lag of L ms hides up to L + 1 ms of counter stall)
BLAME_SHARE = 0.8


class HostTooSlow(PressError):
    """The plant could not keep real time on this machine; the firmware was not judged."""


def budget_report(
    truth: dict[str, Any], budget_ms: float = STALE_SENSOR_BUDGET_MS
) -> dict[str, Any]:
    """The plant-lag budget figures: lag now and at worst, the budget, whether it held."""
    lag = float(truth.get("max_rt_lag", 0.0))
    gap = float(truth.get("max_read_gap", 0.0))
    worst = max(lag, gap)
    return {
        "rt_lag_ms": float(truth.get("rt_lag", 0.0)),
        "max_rt_lag_ms": lag,
        "max_read_gap_ms": gap,
        "worst_ms": worst,
        "budget_ms": budget_ms,
        "kept_real_time": worst < BLAME_SHARE * budget_ms,
    }


def check_sensor_fault(
    reported: Sample, truth: dict[str, Any], budget_ms: float = STALE_SENSOR_BUDGET_MS
) -> None:
    """Raise :class:`HostTooSlow` if ``reported`` is a SENSOR fault the plant's lag explains."""
    if not (reported.status & Status.FAULT and reported.fault_code == FaultCode.SENSOR):
        return
    figures = budget_report(truth, budget_ms)
    if figures["kept_real_time"]:
        return  # the plant kept time: the firmware's SENSOR fault is its own
    raise HostTooSlow(
        f"this machine cannot keep real time: the plant lagged up to "
        f"{figures['max_rt_lag_ms']:.0f} ms behind its schedule and its server left up to "
        f"{figures['max_read_gap_ms']:.0f} ms between sensor reads (budget "
        f"{BLAME_SHARE * budget_ms:.0f} ms of the firmware's {budget_ms:.0f} ms stale-sensor "
        f"limit), so the firmware's SENSOR fault at t={reported.t_s:.1f} s is the host's, not "
        "the firmware's; rerun on a quieter machine"
    )


__all__ = [
    "BLAME_SHARE",
    "STALE_SENSOR_BUDGET_MS",
    "HostTooSlow",
    "budget_report",
    "check_sensor_fault",
]
