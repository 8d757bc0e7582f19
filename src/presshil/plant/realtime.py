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
