"""Advance the plant in real time, one sample period at a time, and measure its lag.

Like :class:`presshil.device.realtime.RealtimeDriver`, but for the plant: the model must
publish every sample on time, since an external firmware reads them at up to the sample
rate. The thread sleeps to each sample's due time (absolute deadlines: no drift), advances
the model, and records how late the newest sample became readable. Every model access holds
:attr:`PlantDriver.lock`.
"""

from __future__ import annotations

import threading
import time

from ..device.realtime import MAX_STEP_S
from .model import PlantModel
from .timing import PlantTiming


class PlantDriver:
    """Advances a :class:`PlantModel` to wall-clock time in a background thread."""

    def __init__(self, plant: PlantModel, timing: PlantTiming | None = None) -> None:
        self.plant = plant
        self.timing = timing or PlantTiming.new()
        self.lock = threading.RLock()
        #: the exception that stopped the model, if it raised
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0_wall = 0.0
        self._t0_plant = 0.0

    def start(self) -> None:
        """Start advancing (the plant's time origin is now)."""
        if self._thread is not None:
            return
        with self.lock:
            self._t0_plant = self.plant.now()
        self._t0_wall = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="presshil-plant", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop advancing; wait for the thread (bounded)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    @property
    def running(self) -> bool:
        """True while the plant is being advanced."""
        return self._thread is not None and self._thread.is_alive()

    def plant_time_now(self) -> float:
        """The plant time that is due now on the real-time axis."""
        return self._t0_plant + (time.perf_counter() - self._t0_wall)

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
            if wait > 0:
                time.sleep(wait)


__all__ = ["PlantDriver"]
