"""The real-time thread both servers run: advance a model to wall-clock time, under a lock.

:class:`RealtimeLoop` owns what the virtual press (:class:`presshil.device.realtime.
RealtimeDriver`) and the plant (:class:`presshil.plant.realtime.PlantDriver`) share: the
lock every model access holds, the time origins that map wall-clock time to model time,
the daemon thread, stopping, and the error that stopped the model. Subclasses say how the
model's time is read (:meth:`_model_now`) and what one pass of the thread does
(:meth:`_run`): the press ticks and catches up; the plant sleeps to absolute sample
deadlines and measures its lag.
"""

from __future__ import annotations

import threading
import time

#: never advance the model by more than this in one locked step, so that a model slower
#: than real time delays requests by at most this much virtual time's worth of work
MAX_STEP_S = 0.02


class RealtimeLoop:
    """Base of a driver that advances a model to wall-clock time in a daemon thread."""

    #: the name of the thread (shows in thread dumps)
    thread_name = "presshil-realtime"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        #: the exception that stopped the model, if it raised
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0_wall = 0.0
        self._t0_model = 0.0

    # --- what subclasses provide ---------------------------------------------------------
    def _model_now(self) -> float:
        """The model's current time (called with :attr:`lock` held)."""
        raise NotImplementedError

    def _run(self) -> None:
        """The thread's body: advance until :attr:`_stop` is set or the model raises."""
        raise NotImplementedError

    # --- shared --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the thread (the model's time origin is now)."""
        if self._thread is not None:
            return
        with self.lock:
            self._t0_model = self._model_now()
        self._t0_wall = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop advancing and wait for the thread (bounded by ``timeout_s``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    @property
    def running(self) -> bool:
        """True while the model is being advanced."""
        return self._thread is not None and self._thread.is_alive()

    def model_time_due(self) -> float:
        """The model time that is due now on the real-time axis."""
        return self._t0_model + (time.perf_counter() - self._t0_wall)


__all__ = ["MAX_STEP_S", "RealtimeLoop", "keep_time"]


def keep_time() -> None:
    """Prepare a serving process to keep real time, once it has started up.

    A Python process that has imported numpy, numba and llvmlite holds hundreds of thousands
    of long-lived objects; a full (oldest-generation) garbage collection walks all of them
    and stops every thread for tens of milliseconds — longer than a firmware's stale-sensor
    limit allows. Collected once now and frozen (:func:`gc.freeze`), they are never walked
    again; what the serving loop allocates later is young and cheap to collect.
    """
    import gc

    gc.collect()
    gc.freeze()
