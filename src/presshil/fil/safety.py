"""Safety probes sized for firmware in the loop.

The acceptance suite's safety probes (:func:`presshil.acceptance.safety.run_safety`) run
unchanged on a :class:`~presshil.fil.press.FilPress`: the over-pressure surge and the e-stop
button are injected into the plant, the watchdog is starved through the firmware's host
interface. In real time the suite's defaults (74 MPa holds at 10 MPa/s, 2 s latch checks)
take about a minute; :data:`REALTIME_SAFETY` checks the same things in about 20 s.
"""

from __future__ import annotations

from ..acceptance.suite import Safety

#: soft limit 30 MPa (35 refused), 20 MPa holds at 20 MPa/s, 1 s latch checks, 200 ms watchdog
REALTIME_SAFETY = Safety(
    soft_max_mpa=30.0,
    over_limit_setpoint_mpa=35.0,
    hold_mpa=20.0,
    max_rate_mpa_s=20.0,
    latch_check_s=1.0,
    watchdog_ms=200,
    poll_interval_s=0.005,
)

__all__ = ["REALTIME_SAFETY"]
