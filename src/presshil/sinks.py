"""Where a run's data goes: the :class:`RunSink` interface.

The runner never touches SQLite or a web socket: it hands every sample, event, verdict, step
boundary, repeat iteration and gap (:mod:`presshil.records`) to one sink (usually a
:class:`FanOut` of several). A sink must not block the sampling loop: a slow consumer (a
browser) keeps its own bounded queue and drops frames, never samples of the stored record.
Every sink implements each call, or ignores it with a docstring saying why.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .records import Gap, Iteration
from .rowbuffer import RowBuffer

if TYPE_CHECKING:
    from .metrics import Verdict
    from .status import RunStatus
    from .trace import Trace

_log = logging.getLogger(__name__)

#: one stored sample: (t_s, setpoint_mpa, pressure_mpa, force_kn, position_mm, status, channels_kn)
SampleRow = tuple[float, float, float, float, float, int, tuple[float, ...]]


@dataclass(frozen=True)
class RunStart:
    """What a sink learns when a run starts."""

    run_id: int | None
    protocol: Any  # presshil.protocol.Protocol
    press_url: str
    identity: Any  # presshil.press.Identity
    seed: int | None
    expected_total_s: float
    #: the control-lease session token the run holds (kept by the store for ``--resume``
    #: only: it is never part of an event, an export or a page)
    lease_token: int | None = field(default=None, repr=False)
    #: run metadata, KEY=VALUE (``presshil run --meta``, the protocol's ``[meta]``)
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StepBoundary:
    """A top-level step started (``t_end_s`` None) or ended, on the run's time axis."""

    index: int
    name: str
    kind: str
    t_start_s: float
    t_end_s: float | None
    #: the step's tolerance band while it runs: (target_mpa, half-width MPa), if it has one
    band: tuple[float, float] | None = None


@dataclass(frozen=True)
class Event:
    """Something that happened during a run (a step boundary, a retry, an abort), at run time
    ``t_s`` (None when not tied to a time)."""

    t_s: float | None
    kind: str
    message: str


@runtime_checkable
class RunSink(Protocol):
    """Receives one run as it happens. Every method is called from the sampling loop."""

    def start(self, run: RunStart) -> None:
        """The run begins (the store has assigned ``run.run_id`` when there is a store)."""

    def sample(self, row: SampleRow) -> None:
        """One supervised sample, in run time."""

    def event(self, t_s: float | None, kind: str, message: str) -> None:
        """Something happened: a step boundary, a retry, an abort, an operator prompt."""

    def step(self, boundary: StepBoundary) -> None:
        """A top-level step started or ended."""

    def iteration(self, record: Iteration) -> None:
        """An iteration of a top-level repeat started or ended."""

    def gap(self, record: Gap) -> None:
        """A resumed run goes on: nothing was sampled from ``t_start_s`` to ``t_end_s``."""

    def verdict(self, verdict: Verdict) -> None:
        """A criterion was judged."""

    def finish(self, status: RunStatus) -> None:
        """The run ended with ``status`` (the press is already in its safe state)."""


class MemorySink:
    """Keeps one run in memory: samples as numpy columns (no Python object per sample),
    events, verdicts, step boundaries, iterations and gaps as lists."""

    def __init__(self) -> None:
        self.run: RunStart | None = None
        self.rows: RowBuffer | None = None
        self.events: list[Event] = []
        self.verdicts: list[Verdict] = []
        self.steps: list[StepBoundary] = []
        self.iterations: list[Iteration] = []
        self.gaps: list[Gap] = []
        self.status: RunStatus | None = None

    def start(self, run: RunStart) -> None:
        self.run = run
        self.rows = RowBuffer(run.identity.channel_count)

    def sample(self, row: SampleRow) -> None:
        assert self.rows is not None, "sample before start"
        self.rows.append(row)

    def event(self, t_s: float | None, kind: str, message: str) -> None:
        self.events.append(Event(t_s, kind, message))

    def step(self, boundary: StepBoundary) -> None:
        self.steps.append(boundary)

    def iteration(self, record: Iteration) -> None:
        self.iterations.append(record)

    def gap(self, record: Gap) -> None:
        self.gaps.append(record)

    def verdict(self, verdict: Verdict) -> None:
        self.verdicts.append(verdict)

    def finish(self, status: RunStatus) -> None:
        self.status = status

    def trace(self) -> Trace:
        """The samples so far as a trace."""
        from .trace import Trace

        return self.rows.trace() if self.rows is not None else Trace.empty()


class StoreSink:
    """Writes one run into a results :class:`~presshil.store.Store` (SQLite).

    :meth:`start` creates the run row and sets :attr:`run_id`; verdicts and step records are
    written as each step ends, so an abort keeps those already judged.
    """

    def __init__(self, store: Any, *, resumed: bool = False) -> None:
        self.store = store
        self.run_id: int | None = None
        #: the resumed run was already taken up in the store (by the runner, before it
        #: touched the press)
        self.resumed = resumed

    def start(self, run: RunStart) -> None:
        if run.run_id is not None:  # a resumed run goes on under its id
            if not self.resumed:
                self.store.resume_run(run.run_id)
            self.run_id = run.run_id
        else:
            self.run_id = self.store.start_run(
                protocol=run.protocol, press_url=run.press_url, identity=run.identity, seed=run.seed,
                meta=run.meta,
            )
        if run.lease_token is not None:
            self.store.set_lease_token(self.run_id, run.lease_token)

    def sample(self, row: SampleRow) -> None:
        if self.run_id is not None:
            self.store.add_sample(self.run_id, row)

    def temperature(self, t_s: float, temperature_c: float) -> None:
        """The temperature of the sample at ``t_s`` (kept beside the samples)."""
        if self.run_id is not None:
            self.store.add_temperature(self.run_id, t_s, temperature_c)

    def event(self, t_s: float | None, kind: str, message: str) -> None:
        if self.run_id is not None:
            self.store.add_event(self.run_id, t_s, kind, message)

    def step(self, boundary: StepBoundary) -> None:
        """A step's record is stored when it ends (``t_end_s`` set)."""
        if self.run_id is not None and boundary.t_end_s is not None:
            self.store.add_step(self.run_id, boundary)

    def iteration(self, record: Iteration) -> None:
        """Stored as it starts (what ``--resume`` needs), its end added when it ends."""
        if self.run_id is not None:
            self.store.add_iteration(self.run_id, record)

    def gap(self, record: Gap) -> None:
        if self.run_id is not None:
            self.store.add_gap(self.run_id, record)

    def verdict(self, verdict: Verdict) -> None:
        if self.run_id is not None:
            self.store.add_verdicts(self.run_id, [verdict])

    def finish(self, status: RunStatus) -> None:
        if self.run_id is not None:
            self.store.finish_run(self.run_id, str(status))


def sink_for(store: Any, *, resumed: bool = False) -> Any:
    """The sink a run writes ``store`` through: the store's own (``store.run_sink``: a
    server's goes on into a local spool when it goes away), else a :class:`StoreSink`."""
    make = getattr(store, "run_sink", None)
    return make(resumed=resumed) if make is not None else StoreSink(store, resumed=resumed)


@dataclass
class _Broken:
    sink: Any
    error: str


class FanOut:
    """Hands every call to several sinks; an optional one that raises is dropped, never the run.

    ``essential`` sinks (the results store) are the record: their errors propagate, so a
    store that cannot write stops the run into its safe state. Every other sink that raises
    is reported once through :attr:`failures` (and the log) and dropped; the others carry
    on. Essential sinks are called first.
    """

    def __init__(self, sinks: Iterable[RunSink] = (), *, essential: Iterable[RunSink] = ()) -> None:
        self.essential: list[RunSink] = list(essential)
        self._failed_essential: list[RunSink] = []
        self.sinks: list[RunSink] = list(sinks)
        self.failures: list[_Broken] = []

    def _each(self, method: str, *args: Any, optional: bool = False) -> None:
        # optional: a sink without the method is not asked (not a failure)
        for sink in self.essential:
            if optional and not hasattr(sink, method):
                continue
            if sink in self._failed_essential:
                # the run is already stopping because of it: record what still can be
                with contextlib.suppress(Exception):
                    getattr(sink, method)(*args)
                continue
            try:
                getattr(sink, method)(*args)
            except Exception:
                self._failed_essential.append(sink)
                raise
        for sink in list(self.sinks):
            if optional and not hasattr(sink, method):
                continue
            try:
                getattr(sink, method)(*args)
            except Exception as exc:  # noqa: BLE001 - a viewer must not break a run
                self.sinks.remove(sink)
                why = f"{type(sink).__name__}.{method}: {type(exc).__name__}: {exc}"
                self.failures.append(_Broken(sink, why))
                _log.warning("run sink dropped: %s", why)

    def start(self, run: RunStart) -> None:
        self._each("start", run)

    def sample(self, row: SampleRow) -> None:
        self._each("sample", row)

    def event(self, t_s: float | None, kind: str, message: str) -> None:
        self._each("event", t_s, kind, message)

    def temperature(self, t_s: float, temperature_c: float) -> None:
        """The temperature of the sample at ``t_s``, to the sinks that keep one: the method
        is optional for a sink, and one without it is simply not asked."""
        self._each("temperature", t_s, temperature_c, optional=True)

    def step(self, boundary: StepBoundary) -> None:
        self._each("step", boundary)

    def iteration(self, record: Iteration) -> None:
        self._each("iteration", record)

    def gap(self, record: Gap) -> None:
        self._each("gap", record)

    def verdict(self, verdict: Verdict) -> None:
        self._each("verdict", verdict)

    def finish(self, status: RunStatus) -> None:
        self._each("finish", status)


@dataclass
class QueuedSink:
    """Runs a slow sink (a live viewer) on its own thread behind a bounded queue.

    The sampling loop never waits: when the queue is full a sample is dropped (counted in
    :attr:`dropped`); events, steps, verdicts and the finish wait at most ``put_timeout_s``.
    Call :meth:`close` (or let ``finish`` do it) to stop the thread.
    """

    inner: Any
    maxsize: int = 1000
    put_timeout_s: float = 0.05
    dropped: int = 0
    _queue: queue.Queue[tuple[str, tuple[Any, ...]] | None] = field(init=False, repr=False)
    _thread: threading.Thread = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._queue = queue.Queue(self.maxsize)
        self._thread = threading.Thread(target=self._drain, name="presshil-sink", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            method, args = item
            try:
                getattr(self.inner, method)(*args)
            except Exception as exc:  # noqa: BLE001 - the viewer's trouble stays the viewer's
                _log.warning("queued sink %s.%s failed: %s", type(self.inner).__name__, method, exc)

    def _put(self, method: str, *args: Any, wait: bool) -> None:
        try:
            self._queue.put(
                (method, args), block=wait, timeout=self.put_timeout_s if wait else None
            )
        except queue.Full:
            self.dropped += 1

    def start(self, run: RunStart) -> None:
        self._put("start", run, wait=True)

    def sample(self, row: SampleRow) -> None:
        self._put("sample", row, wait=False)

    def event(self, t_s: float | None, kind: str, message: str) -> None:
        self._put("event", t_s, kind, message, wait=True)

    def step(self, boundary: StepBoundary) -> None:
        self._put("step", boundary, wait=True)

    def iteration(self, record: Iteration) -> None:
        self._put("iteration", record, wait=True)

    def gap(self, record: Gap) -> None:
        self._put("gap", record, wait=True)

    def verdict(self, verdict: Verdict) -> None:
        self._put("verdict", verdict, wait=True)

    def finish(self, status: RunStatus) -> None:
        self._put("finish", status, wait=True)
        self.close()

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop the thread after what is queued (bounded by ``timeout_s``)."""
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout_s)
        self._thread.join(timeout_s)


__all__ = [
    "Event",
    "FanOut",
    "Gap",
    "Iteration",
    "MemorySink",
    "QueuedSink",
    "RunSink",
    "RunStart",
    "SampleRow",
    "StepBoundary",
    "StoreSink",
    "sink_for",
]
