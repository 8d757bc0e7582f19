"""LiveSink: a run's sink that feeds browsers without ever making the run wait for one.

The sampling loop calls :meth:`LiveSink.sample` for every sample. The sink only appends to a
small batch; every ``publish_interval_s`` of wall time the batch is thinned to at most
``max_points_per_frame`` points and handed to every viewer as one frame. Each viewer owns a
bounded deque: when a browser is slow the oldest frames fall off (counted in ``dropped``),
and a viewer that has not collected anything for ``stale_viewer_s`` is removed. The stored
record never depends on a viewer: the store is a separate sink.

Thread model: the run calls the sink from its own thread, the web server reads from its
event-loop thread; every shared structure is behind one lock held for microseconds.
"""

from __future__ import annotations

import itertools
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..sinks import RunStart, SampleRow, StepBoundary
from ..status import RunStatus
from ..wording import criterion_name
from .run_view import step_event_text

#: frames a viewer may have waiting before the oldest are dropped
VIEWER_QUEUE_FRAMES = 64
#: pressure below which the live view shows no centre of force (released: load-cell noise)
COF_MIN_MPA = 1.0


@dataclass
class Viewer:
    """One connected browser: its bounded frame queue and what it lost."""

    id: int
    frames: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=VIEWER_QUEUE_FRAMES))
    dropped: int = 0
    last_pull_wall_s: float = field(default_factory=time.monotonic)

    def push(self, frame: dict[str, Any]) -> None:
        if len(self.frames) == self.frames.maxlen:
            self.dropped += 1  # deque(maxlen) drops the oldest frame on append
        self.frames.append(frame)

    def pull(self) -> list[dict[str, Any]]:
        """Every waiting frame, oldest first (called by the server)."""
        self.last_pull_wall_s = time.monotonic()
        out = []
        while True:
            try:
                out.append(self.frames.popleft())
            except IndexError:
                return out


@dataclass
class Prompt:
    """An operator prompt shown on the page until it is acknowledged."""

    id: int
    t_s: float | None
    text: str
    acknowledged: bool = False


class LiveSink:
    """A :class:`presshil.sinks.RunSink` that serves a run to live viewers.

    ``token`` authorises STOP and prompt acknowledgement (a fresh random one by default);
    ``cancel`` is the run's cancel event, set by STOP; ``on_acknowledge(prompt_id, text)`` is
    called when the operator acknowledges a prompt on the page.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        cancel: threading.Event | None = None,
        on_acknowledge: Callable[[int, str], None] | None = None,
        publish_interval_s: float = 0.1,
        max_points_per_frame: int = 200,
        history_points: int = 4000,
        stale_viewer_s: float = 30.0,
    ) -> None:
        self.token = token or secrets.token_urlsafe(16)
        self.cancel = cancel if cancel is not None else threading.Event()
        self.on_acknowledge = on_acknowledge
        self.publish_interval_s = publish_interval_s
        self.max_points_per_frame = max_points_per_frame
        self.stale_viewer_s = stale_viewer_s
        self._lock = threading.Lock()
        self._viewers: dict[int, Viewer] = {}
        self._ids = itertools.count(1)
        self._prompt_ids = itertools.count(1)
        self._batch: list[list[float]] = []
        self._last_publish = 0.0
        #: what a page opened mid-run gets: the whole run so far, thinned to at most
        #: ``history_points`` (halved, peaks kept, each time it fills)
        self._history: list[list[float]] = []
        self.history_points = history_points
        self.info: dict[str, Any] = {"state": "waiting"}
        self.steps: list[dict[str, Any]] = []
        self.current_step: dict[str, Any] | None = None
        self.verdicts: list[dict[str, Any]] = []
        self.events: deque[dict[str, Any]] = deque(maxlen=500)
        self.prompts: dict[int, Prompt] = {}
        self.last: dict[str, Any] = {}
        self.samples_seen = 0
        self.status: str = RunStatus.RUNNING.value
        self._positions: tuple[tuple[float, float], ...] = ()
        self._step_count = 0
        #: set when the server is about to stop: every open stream ends cleanly
        self.closed = False

    # -- viewers (server side) -------------------------------------------------------------
    def attach(self) -> Viewer:
        """A new viewer; its first frame is a snapshot of everything so far."""
        with self._lock:
            # hand the pending batch to the viewers already here first: the snapshot then
            # holds every point once, and the next frame carries only newer ones
            self._publish_locked(force=True)
            viewer = Viewer(next(self._ids))
            viewer.frames.append({"type": "snapshot", **self._snapshot_locked()})
            self._viewers[viewer.id] = viewer
        return viewer

    def detach(self, viewer: Viewer) -> None:
        """Forget a viewer (its browser went away)."""
        with self._lock:
            self._viewers.pop(viewer.id, None)

    @property
    def viewer_count(self) -> int:
        """Viewers currently attached."""
        with self._lock:
            return len(self._viewers)

    def snapshot(self) -> dict[str, Any]:
        """Everything a page needs to draw the run as it stands."""
        with self._lock:
            return self._snapshot_locked()

    def _snapshot_locked(self) -> dict[str, Any]:
        return {
            "info": dict(self.info),
            "status": self.status,
            "steps": list(self.steps),
            "current_step": self.current_step,
            "step_count": self._step_count,
            "verdicts": list(self.verdicts),
            "events": list(self.events),
            "prompts": [vars(p) for p in self.prompts.values() if not p.acknowledged],
            "points": list(self._history) + list(self._batch),  # batch: empty after attach
            "last": dict(self.last),
            "samples": self.samples_seen,
        }

    def _broadcast_locked(self, frame: dict[str, Any]) -> None:
        now = time.monotonic()
        for vid, viewer in list(self._viewers.items()):
            if now - viewer.last_pull_wall_s > self.stale_viewer_s:
                del self._viewers[vid]  # a browser that stopped reading: let it go
                continue
            viewer.push(frame)

    def _publish_locked(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_publish < self.publish_interval_s:
            return
        self._last_publish = now
        if not self._batch:
            return
        points = thin(self._batch, self.max_points_per_frame)
        self._batch = []
        self._history.extend(points)
        if len(self._history) > self.history_points:
            self._history = thin(self._history, self.history_points // 2)
        self._broadcast_locked({"type": "points", "points": points, "last": dict(self.last),
                                "samples": self.samples_seen})

    # -- operator actions (server side) ----------------------------------------------------
    def check_token(self, token: str | None) -> bool:
        """Is ``token`` this run's token? (constant-time comparison)"""
        # as bytes: compare_digest refuses a str with non-ASCII characters (TypeError)
        given = str(token or "").encode("utf-8", "surrogatepass")
        return bool(given) and secrets.compare_digest(given, self.token.encode())

    def stop(self, token: str | None) -> bool:
        """Set the run's cancel event if ``token`` is right; False (and nothing done) if not."""
        if not self.check_token(token):
            return False
        self.cancel.reason = "STOP pressed on the live view"  # type: ignore[attr-defined]  # the runner records it
        self.cancel.set()
        self.event(None, "stop", "STOP pressed on the live view: the run is ending in the safe state")
        return True

    def acknowledge(self, prompt_id: int, token: str | None) -> str:
        """Acknowledge a prompt: 'ok', 'token' (refused) or 'unknown' (no such open prompt)."""
        if not self.check_token(token):
            return "token"
        with self._lock:
            prompt = self.prompts.get(prompt_id)
            if prompt is None or prompt.acknowledged:
                return "unknown"
            prompt.acknowledged = True
            self._broadcast_locked({"type": "prompt-ack", "id": prompt_id})
        if self.on_acknowledge is not None:
            self.on_acknowledge(prompt_id, prompt.text)
        return "ok"

    # -- RunSink ----------------------------------------------------------------------------
    def start(self, run: RunStart) -> None:
        """The run begins."""
        identity = run.identity
        proto = run.protocol
        self._positions = tuple(getattr(identity, "channel_positions_mm", ()) or ())
        self._step_count = len(getattr(proto, "steps", ()) or ())
        with self._lock:
            self.info = {
                "state": "running",
                "run_id": run.run_id,
                "protocol": getattr(proto, "name", str(proto)),
                "press_url": run.press_url,
                "press": str(identity),
                "firmware": getattr(identity, "firmware", None),
                "channels": getattr(identity, "channel_count", 0),
                "expected_total_s": run.expected_total_s,
                "max_pressure_mpa": getattr(getattr(proto, "limits", None), "max_pressure_mpa", None),
            }
            self._broadcast_locked({"type": "start", "info": dict(self.info),
                                    "step_count": self._step_count})

    def sample(self, row: SampleRow) -> None:
        """One sample: appended to the batch; published at most every publish interval."""
        t, sp, p, f, pos, status, channels = row
        # below COF_MIN_MPA the channels read noise: a centre of force there is meaningless
        cof = centre_of_force(channels, self._positions) if p >= COF_MIN_MPA else None
        point = [t, sp, p, *(float(c) for c in channels)]
        with self._lock:
            self.samples_seen += 1
            self.last = {"t_s": t, "setpoint_mpa": sp, "pressure_mpa": p, "force_kn": f,
                         "position_mm": pos, "status": status, "channels_kn": list(channels),
                         "cof_mm": cof}
            self._batch.append(point)
            if len(self._batch) > 50 * self.max_points_per_frame:  # nobody publishing: thin
                self._batch = thin(self._batch, self.max_points_per_frame)
            self._publish_locked()

    def event(self, t_s: float | None, kind: str, message: str) -> None:
        """An event; kind 'prompt' opens an operator prompt with ``message`` as its text."""
        item = {"t_s": t_s, "kind": kind, "message": message}
        with self._lock:
            # what the page shows: a step's event as its record (which came just before it),
            # numbered as the header numbers steps
            item["text"] = (step_event_text(self.steps[-1], self._step_count)
                            if kind == "step" and self.steps else message)
            self._publish_locked(force=True)
            self.events.append(item)
            self._broadcast_locked({"type": "event", **item})
            if kind == "prompt":
                prompt = Prompt(next(self._prompt_ids), t_s, message)
                self.prompts[prompt.id] = prompt
                self._broadcast_locked({"type": "prompt", **vars(prompt)})

    def step(self, boundary: StepBoundary) -> None:
        """A top-level step started or ended."""
        item = {"index": boundary.index, "name": boundary.name, "kind": boundary.kind,
                "t_start_s": boundary.t_start_s, "t_end_s": boundary.t_end_s,
                "band": list(boundary.band) if boundary.band else None}
        with self._lock:
            self._publish_locked(force=True)
            if boundary.t_end_s is None:
                self.current_step = item
            else:
                self.steps.append(item)
                if self.current_step and self.current_step["index"] == boundary.index:
                    self.current_step = None
            self._broadcast_locked({"type": "step", **item})

    def iteration(self, record: Any) -> None:
        """Not shown apart: the page shows each iteration's ``cycle`` event."""

    def gap(self, record: Any) -> None:
        """Not shown apart: the page shows the ``gap`` event."""

    def verdict(self, verdict: Any) -> None:
        """A criterion was judged."""
        item = {"step": verdict.step, "criterion": verdict.criterion,
                "name": criterion_name(verdict.criterion),  # what the page shows beside the key
                "value": _num(verdict.value), "limit": _num(verdict.limit), "unit": verdict.unit,
                "passed": bool(verdict.passed), "detail": verdict.detail, "t_s": verdict.t_s}
        with self._lock:
            self._publish_locked(force=True)
            self.verdicts.append(item)
            self._broadcast_locked({"type": "verdict", **item})

    def finish(self, status: RunStatus | str) -> None:
        """The run ended; viewers get the final status."""
        with self._lock:
            self._publish_locked(force=True)
            self.status = str(status)
            self.info["state"] = "finished"
            self.current_step = None
            self._broadcast_locked({"type": "finish", "status": self.status})

    def close(self) -> None:
        """The server is about to stop: every stream sends what it holds, then ends (a browser
        keeps the final state instead of a broken connection, and the server has no stream
        to cancel)."""
        with self._lock:
            self._publish_locked(force=True)
            self.closed = True


def thin(points: list[list[float]], max_points: int) -> list[list[float]]:
    """At most ``max_points`` of ``points`` (time in column 0, pressure in column 2), in time
    order: the run's time span is cut into ``max_points // 4`` equal buckets and each keeps
    its first, last, lowest and highest point. Peaks survive, and a line drawn through the
    result strays from the data by at most one bucket's time: buckets by count, keeping only
    the low and the high, joined a 30 s ramp's 0 MPa to a peak far into the hold (already
    thinned points are sparse in time, so a bucket of them spanned tens of thousands of s)."""
    n = len(points)
    if n <= max_points:
        return points
    buckets = max(1, max_points // 4)
    t0, t1 = points[0][0], points[-1][0]
    width = (t1 - t0) / buckets
    if not width > 0:  # no time span (or NaN): all points share one bucket
        width = math.inf
    out: list[list[float]] = []
    start = 0
    while start < n:
        b = min(buckets - 1, int((points[start][0] - t0) / width)) if width < math.inf else 0
        edge = t0 + (b + 1) * width
        stop = start + 1
        while stop < n and (b == buckets - 1 or points[stop][0] < edge):
            stop += 1
        lo = min(range(start, stop), key=lambda i: points[i][2])
        hi = max(range(start, stop), key=lambda i: points[i][2])
        out.extend(points[i] for i in sorted({start, lo, hi, stop - 1}))
        start = stop
    return out


def centre_of_force(channels: Any, positions: tuple[tuple[float, float], ...]) -> list[float] | None:
    """Force-weighted mean of the load-cell positions, (x, y) mm; None when it has no meaning."""
    if not positions or len(positions) != len(channels):
        return None
    total = float(sum(channels))
    if total <= 1e-6:
        return None
    x = sum(float(f) * p[0] for f, p in zip(channels, positions, strict=False)) / total
    y = sum(float(f) * p[1] for f, p in zip(channels, positions, strict=False)) / total
    return [x, y]


def _num(x: float) -> float | None:
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


__all__ = ["COF_MIN_MPA", "VIEWER_QUEUE_FRAMES", "LiveSink", "Prompt", "Viewer", "centre_of_force", "thin"]
