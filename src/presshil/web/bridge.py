"""Run a protocol with live sinks and a cancel event, optionally paced to wall time.

The runner takes ``sinks=`` and ``cancel=`` itself; this module only adds :class:`Pacer`, a
progress callback that slows a simulated press's virtual time to ``speed`` × wall time, so a
person (or a browser test) can watch a ``sim://`` run unfold.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..sinks import RunSink


class Pacer:
    """Progress callback that paces virtual time to ``speed`` run seconds per wall second,
    then hands the progress on to ``inner``."""

    def __init__(self, inner: Callable[[Any], None] | None, speed: float) -> None:
        self.inner = inner
        self.speed = speed
        self._wall0: float | None = None

    def __call__(self, p: Any) -> None:
        if self.inner is not None:
            self.inner(p)
        if self._wall0 is None:
            self._wall0 = time.monotonic() - p.t_s / self.speed
        ahead = self._wall0 + p.t_s / self.speed - time.monotonic()
        if ahead > 0:
            time.sleep(min(ahead, 1.0))


def run_live(protocol: Any, press: Any, *, store: Any, sinks: Sequence[RunSink],
             cancel: threading.Event, progress: Callable[[Any], None] | None = None,
             speed: float | None = None, **kwargs: Any) -> Any:
    """:func:`presshil.runner.run` with ``sinks`` and ``cancel``; ``speed`` paces virtual time."""
    from ..runner import run

    pacer = Pacer(progress, speed) if speed else progress
    return run(protocol, press, store=store, sinks=tuple(sinks), cancel=cancel, progress=pacer, **kwargs)


__all__ = ["Pacer", "run_live"]
