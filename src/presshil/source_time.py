"""Samples placed where the device measured them: the device's own timestamps on the run clock.

A press whose binding reports when the device measured a sample (OPC UA's SourceTimestamp,
on the PLC's clock) and when the host received it (on the press clock) declares
``Capabilities.source_time``; the sampler then asks a :class:`SourceTimeline` where each
sample belongs on the run's time axis instead of taking the moment it was read.

The two clocks differ by an unknown offset, and every sample arrives after a delay. The
offset is estimated as the largest ``source − received`` over a sliding window (the sample
that came quickest): ``device clock − host clock − smallest delay``. A one-way delay cannot be
told apart from a clock offset without a round trip, so the smallest delay stays inside the
estimate; what the placement removes is the delay *beyond* the quickest sample's (a
subscription's publishing interval, a PLC that buffers). A sample is then placed at
``source − offset``: never later than it arrived, and never earlier than the sample before it.

A device time that goes backwards (a PLC clock stepped back, a value delivered out of order)
is an event; that sample is placed when it arrived and the offset is estimated afresh. A
sample that repeats the last one's device time (nothing new arrived) is placed when it was
read, less the last sample's delay beyond the quickest (so it keeps the stream's lag and does
not get ahead of measurements still on their way): time on the run axis goes on even when
the device has nothing new to say.
"""

from __future__ import annotations

from collections import deque

#: a sample is placed at least this long after the one before (the axis stays strictly ordered)
MIN_STEP_S = 1e-6

Events = list[tuple[str, str]]


class OffsetEstimator:
    """The largest ``source − received`` over the last ``window_s`` of arrivals (a sliding
    maximum kept as a monotonic queue: constant time per sample, memory bounded by the
    window)."""

    def __init__(self, window_s: float) -> None:
        if not window_s > 0:
            raise ValueError(f"offset window must be > 0 s, got {window_s!r}")
        self.window_s = float(window_s)
        self._queue: deque[tuple[float, float]] = deque()  # (received, lead), leads decreasing

    def add(self, source_s: float, received_s: float) -> float:
        """Count one sample; the estimate (``device clock − host clock − smallest delay``)."""
        lead = source_s - received_s
        queue = self._queue
        while queue and queue[-1][1] <= lead:
            queue.pop()
        queue.append((received_s, lead))
        while queue[0][0] < received_s - self.window_s:
            queue.popleft()
        return queue[0][1]

    @property
    def lead_s(self) -> float | None:
        """The estimate now (None before any sample)."""
        return self._queue[0][1] if self._queue else None

    def clear(self) -> None:
        """Forget every sample (the device clock was stepped)."""
        self._queue.clear()


class SourceTimeline:
    """Places samples on the press clock from their device time (see the module text).

    ``utc_minus_clock_s`` converts press-clock seconds to the host's UTC for the recorded
    offset (0 on a virtual clock); an offset that moves by more than ``move_s`` from the
    one last recorded is recorded again.
    """

    def __init__(self, *, window_s: float = 10.0, move_s: float = 0.01, utc_minus_clock_s: float = 0.0) -> None:
        self.estimator = OffsetEstimator(window_s)
        self.move_s = float(move_s)
        self.utc_minus_clock_s = float(utc_minus_clock_s)
        #: the offset last recorded as an event (device clock − host UTC, seconds)
        self.recorded_offset_s: float | None = None
        self._last_source: float | None = None
        self._last_t: float | None = None
        #: the last new sample's delay beyond the quickest (how far before arrival it was placed)
        self._lag_s = 0.0
        self._said_missing = False

    def place(self, source_s: float | None, received_s: float | None, read_s: float) -> tuple[float, Events]:
        """Where a sample read at ``read_s`` belongs (press-clock seconds), and the events
        to record (``(kind, message)``)."""
        events: Events = []
        if source_s is None or received_s is None:
            if not self._said_missing:
                self._said_missing = True
                events.append(("device-time", "the device gave no source timestamp: samples are placed when they were read"))
            return self._after(read_s), events
        last = self._last_source
        if last is not None and source_s < last:
            events.append((
                "device-time",
                f"device time went back {last - source_s:.6f} s (source timestamp {last:.6f} -> {source_s:.6f}): "
                "this sample is placed when it arrived and the clock offset is estimated afresh",
            ))
            self.estimator.clear()
            self.estimator.add(source_s, received_s)
            self._last_source = source_s
            self._lag_s = 0.0
            return self._after(min(received_s, read_s)), events
        if last is not None and source_s == last:
            return self._after(read_s - self._lag_s), events  # nothing new since the last sample
        self._last_source = source_s
        lead = self.estimator.add(source_s, received_s)
        offset = lead - self.utc_minus_clock_s
        moved = self.recorded_offset_s is None or abs(offset - self.recorded_offset_s) > self.move_s
        if moved:
            was = "" if self.recorded_offset_s is None else f"; was {self.recorded_offset_s:+.6f} s"
            self.recorded_offset_s = offset
            events.append(("clock-offset", f"device clock offset {offset:+.6f} s from this host's{was} "
                           f"(source timestamp - arrival, largest over {self.estimator.window_s:g} s; "
                           "the quickest sample's one-way delay is inside it)"))
        if last is None:
            return self._after(read_s), events  # the first sample anchors the order
        self._lag_s = max(0.0, received_s - (source_s - lead))
        return self._after(min(source_s - lead, read_s)), events

    def _after(self, t: float) -> float:
        """``t``, but strictly after the sample placed before."""
        if self._last_t is not None and t <= self._last_t:
            t = self._last_t + MIN_STEP_S
        self._last_t = t
        return t


__all__ = ["MIN_STEP_S", "OffsetEstimator", "SourceTimeline"]
