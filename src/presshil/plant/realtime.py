"""Advance the plant in real time, one sample period at a time, and measure its lag.

Like :class:`presshil.device.realtime.RealtimeDriver` (both are
:class:`presshil.serving.realtime.RealtimeLoop`), but for the plant: the model must publish
every sample on time, since an external firmware reads them at up to the sample rate. The
thread sleeps to each sample's due time (absolute deadlines: no drift), advances the model,
and records how late the newest sample became readable. Every model access holds
:attr:`PlantDriver.lock`.
"""

from __future__ import annotations

import time

from ..serving.realtime import MAX_STEP_S, RealtimeLoop
from .model import PlantModel
from .timing import PlantTiming


class PlantDriver(RealtimeLoop):
    """Advances a :class:`PlantModel` to wall-clock time in a background thread."""

    thread_name = "presshil-plant"

    def __init__(self, plant: PlantModel, timing: PlantTiming | None = None) -> None:
        super().__init__()
        self.plant = plant
        self.timing = timing or PlantTiming.new()

    def _model_now(self) -> float:
        return self.plant.now()

    def plant_time_now(self) -> float:
        """The plant time that is due now on the real-time axis."""
        return self.model_time_due()

    def catch_up(self) -> None:
        """Advance the plant to the sample due now (the caller holds :attr:`lock`).

        Called on every sensor read and actuator command: a request answered while this
        thread was starved (the whole host stalled, then both woke at once) sees the plant as
        it is now, not as it was before the stall — a repeated sample counter would read as a
        stale sensor to the firmware. A no-op when the thread is on time."""
        self.plant.advance_to(self.plant_time_now())

    def _run(self) -> None:
        plant = self.plant
        dt = plant.dt
        lag = self.timing.lag_ms
        while not self._stop.is_set():
            target = self.plant_time_now()
            try:
                with self.lock:
                    plant.advance_to(min(target, plant.now() + MAX_STEP_S))
                    newest = plant.sample_time_s
            except BaseException as exc:  # noqa: BLE001 - reported by the server as a failure
                self.error = exc
                return
            lag.add(max(0.0, self.plant_time_now() - newest) * 1e3)
            # sleep to the due time of the next sample
            wait = (newest + dt) - self.plant_time_now()
            # behind: still yield, so a request waiting for the lock is not starved while the
            # thread catches up (a lock released and retaken at once is rarely handed over)
            time.sleep(max(0.0, wait))


__all__ = ["PlantDriver"]
