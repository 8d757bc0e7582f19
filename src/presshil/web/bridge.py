"""Run a protocol with live sinks and a cancel event, on whichever runner is installed.

When :func:`presshil.runner.run` takes ``sinks=`` and ``cancel=`` they are passed straight
through. On a runner without them, the same effect is had from the outside: a
:class:`StoreTap` forwards what the runner writes to its store (samples, events, verdicts,
the final status) to the sinks, the progress callback announces step starts (with the
step's tolerance band) and, when ``cancel`` is set, raises :class:`SafetyAbort` inside the
sampling loop, so the runner takes its ordinary abort path: safe state, recorded, exit 3.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import SafetyAbort
from ..sinks import RunSink, RunStart, StepBoundary
from ..status import RunStatus
from .results import STEP_EVENT as _STEP_EVENT

STOP_MESSAGE = "stopped by the operator (STOP on the live view)"


def step_band(protocol: Any, index: int, setpoint_before_mpa: float | None = None) -> tuple[float, float] | None:
    """(target MPa, half-width MPa) of top-level step ``index`` if it judges a band."""
    steps = getattr(protocol, "steps", ())
    if not 0 <= index < len(steps):
        return None
    step = steps[index]
    inner = [step, *getattr(step, "steps", ())]
    for s in inner:
        expect = dict(getattr(s, "expect", {}) or {})
        if "band_mpa" not in expect:
            continue
        target = getattr(s, "to_mpa", None)
        if target is None:
            target = getattr(s, "at_mpa", None)
        if target is None:
            target = setpoint_before_mpa
        if target is not None:
            return float(target), float(expect["band_mpa"])
    return None


class StoreTap:
    """A results store that also tells ``sinks`` what the runner writes to it."""

    def __init__(self, store: Any, sinks: Sequence[RunSink], protocol: Any,
                 bands: dict[int, tuple[float, float] | None] | None = None) -> None:
        self._store = store
        self._sinks = tuple(sinks)
        self._protocol = protocol
        #: bands announced at step start (a hold's target is the setpoint it started at)
        self._bands = bands if bands is not None else {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _each(self, method: str, *args: Any) -> None:
        for sink in self._sinks:
            getattr(sink, method)(*args)

    def start_run(self, *, protocol: Any, press_url: str, identity: Any, seed: int | None) -> int:
        run_id = self._store.start_run(protocol=protocol, press_url=press_url, identity=identity, seed=seed)
        self._each("start", RunStart(run_id, protocol, press_url, identity, seed, protocol.nominal_duration_s()))
        return run_id

    def add_sample(self, run_id: int, row: Any) -> None:
        self._store.add_sample(run_id, row)
        self._each("sample", row)

    def add_event(self, run_id: int, t_s: float | None, kind: str, message: str) -> None:
        self._store.add_event(run_id, t_s, kind, message)
        self._each("event", t_s, kind, message)
        m = _STEP_EVENT.match(message) if kind == "step" else None
        if m:
            index = int(m.group(1))
            self._each("step", StepBoundary(index, m.group(2), m.group(3), float(m.group(4)),
                                            float(m.group(5)),
                                            self._bands.get(index, step_band(self._protocol, index))))

    def add_verdicts(self, run_id: int, verdicts: Any) -> None:
        self._store.add_verdicts(run_id, verdicts)
        for v in verdicts:
            self._each("verdict", v)

    def finish_run(self, run_id: int, status: str) -> None:
        self._store.finish_run(run_id, status)
        self._each("finish", RunStatus(status))


class Pacer:
    """Progress callback: announces step starts, honours ``cancel``, optionally paces
    virtual time to ``speed`` × wall time (for demonstrations and browser tests)."""

    def __init__(self, protocol: Any, sinks: Sequence[RunSink], cancel: threading.Event | None,
                 inner: Callable[[Any], None] | None = None, speed: float | None = None,
                 announce_steps: bool = True,
                 bands: dict[int, tuple[float, float] | None] | None = None) -> None:
        self.protocol = protocol
        self.bands = bands if bands is not None else {}
        self.sinks = tuple(sinks)
        self.cancel = cancel
        self.inner = inner
        self.speed = speed
        self.announce_steps = announce_steps
        self._index: int | None = None
        self._last_setpoint = 0.0
        self._wall0: float | None = None

    def __call__(self, p: Any) -> None:
        if self.announce_steps and p.step_index != self._index:
            self._index = p.step_index
            kind = getattr(self.protocol.steps[p.step_index], "type", "")
            band = step_band(self.protocol, p.step_index, self._last_setpoint)
            self.bands[p.step_index] = band
            boundary = StepBoundary(p.step_index, p.step_name, kind, p.t_s, None, band)
            for sink in self.sinks:
                sink.step(boundary)
        self._last_setpoint = p.setpoint_mpa
        if self.inner is not None:
            self.inner(p)
        if self.speed:
            if self._wall0 is None:
                self._wall0 = time.monotonic() - p.t_s / self.speed
            ahead = self._wall0 + p.t_s / self.speed - time.monotonic()
            if ahead > 0:
                time.sleep(min(ahead, 1.0))
        if self.cancel is not None and self.cancel.is_set():
            raise SafetyAbort(STOP_MESSAGE)


def runner_takes_sinks() -> bool:
    """Does the installed runner accept ``sinks=`` and ``cancel=``?"""
    from ..runner import run

    params = inspect.signature(run).parameters
    return "sinks" in params and "cancel" in params


def run_live(protocol: Any, press: Any, *, store: Any, sinks: Sequence[RunSink],
             cancel: threading.Event, progress: Callable[[Any], None] | None = None,
             speed: float | None = None, **kwargs: Any) -> Any:
    """``presshil.runner.run`` with ``sinks`` and ``cancel``; ``speed`` paces virtual time."""
    from ..runner import run

    if runner_takes_sinks():
        pacer = Pacer(protocol, sinks, None, progress, speed, announce_steps=False) if speed else progress
        return run(protocol, press, store=store, sinks=tuple(sinks), cancel=cancel, progress=pacer, **kwargs)
    if store is None:
        raise ValueError("a live run on this runner needs a results store")
    bands: dict[int, tuple[float, float] | None] = {}
    tap = StoreTap(store, sinks, protocol, bands)
    pacer = Pacer(protocol, sinks, cancel, progress, speed, bands=bands)
    return run(protocol, press, store=tap, progress=pacer, **kwargs)


__all__ = ["STOP_MESSAGE", "Pacer", "StoreTap", "run_live", "runner_takes_sinks", "step_band"]
