"""Run a simulated press in real time.

A simulated press lives in virtual time: its clock's ``sleep_until(t)`` advances the model
to ``t`` as fast as the CPU allows. :class:`RealtimeDriver` turns it into a device you can
talk to over a wire: a thread advances the model to wall-clock time every ``tick_s``
(1 ms by default), and every access to the model — the tick and each request from a wire —
holds :attr:`RealtimeDriver.lock`, so a request sees the model between two ticks, never in
the middle of one. The thread, lock and time origins are :class:`presshil.serving.realtime.
RealtimeLoop`'s, shared with the plant.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..press import Press
from ..serving.realtime import MAX_STEP_S, RealtimeLoop


class RealtimeDriver(RealtimeLoop):
    """Advances ``press.clock`` to wall-clock time in a background thread."""

    thread_name = "presshil-realtime"

    def __init__(self, press: Press, tick_s: float = 0.001) -> None:
        super().__init__()
        self.press = press
        self.tick_s = tick_s
        #: called after every step, outside the lock (the host-loss guard's check)
        self.on_tick: Callable[[], None] | None = None

    def _model_now(self) -> float:
        return self.press.clock.now()

    def _run(self) -> None:
        # catch up in steps of at most MAX_STEP_S; idle one tick once caught up
        clock = self.press.clock
        while not self._stop.is_set():
            target = self.model_time_due()
            try:
                with self.lock:
                    now = clock.now()
                    if target > now:
                        clock.sleep_until(min(target, now + MAX_STEP_S))
                    behind = target - clock.now()
            except BaseException as exc:  # noqa: BLE001 - reported to every wire as a device failure
                self.error = exc
                return
            if self.on_tick is not None:
                self.on_tick()
            if behind < self.tick_s:
                self._stop.wait(self.tick_s)
            else:
                time.sleep(0)  # catching up: let a request waiting for the lock take it


__all__ = ["MAX_STEP_S", "RealtimeDriver"]
