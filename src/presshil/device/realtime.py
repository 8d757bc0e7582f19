"""Run a simulated press in real time.

A simulated press lives in virtual time: its clock's ``sleep_until(t)`` advances the model
to ``t`` as fast as the CPU allows. :class:`RealtimeDriver` turns it into a device you can
talk to over a wire: a thread advances the model to wall-clock time every ``tick_s``
(1 ms by default), and every access to the model — the tick and each request from a wire —
holds :attr:`RealtimeDriver.lock`, so a request sees the model between two ticks, never in
the middle of one.
"""

from __future__ import annotations

import threading
import time

from ..press import Press

#: never advance the model by more than this in one locked step, so that a model slower
#: than real time delays requests by at most this much virtual time's worth of work
MAX_STEP_S = 0.02


class RealtimeDriver:
    """Advances ``press.clock`` to wall-clock time in a background thread."""

    def __init__(self, press: Press, tick_s: float = 0.001) -> None:
        self.press = press
        self.tick_s = tick_s
        self.lock = threading.RLock()
        #: the exception that stopped the model, if it raised
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0_wall = 0.0
        self._t0_virtual = 0.0

    def start(self) -> None:
        """Start the ticking thread (the model's time origin is now)."""
        if self._thread is not None:
            return
        with self.lock:
            self._t0_virtual = self.press.clock.now()
        self._t0_wall = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="presshil-realtime", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop ticking and wait for the thread (bounded by ``timeout_s``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    @property
    def running(self) -> bool:
        """True while the model is being advanced."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        clock = self.press.clock
        while not self._stop.is_set():
            target = self._t0_virtual + (time.perf_counter() - self._t0_wall)
            try:
                with self.lock:
                    now = clock.now()
                    if target > now:
                        clock.sleep_until(min(target, now + MAX_STEP_S))
                    behind = target - clock.now()
            except BaseException as exc:  # noqa: BLE001 - reported to every wire as a device failure
                self.error = exc
                return
            if behind < self.tick_s:
                self._stop.wait(self.tick_s)


__all__ = ["RealtimeDriver", "MAX_STEP_S"]
