"""Driving a press step by step outside the runner: go to a level, dwell, read, watch faults.

The force-verification staircase and the safety probes need finer control than a protocol
gives. Every read goes through the same :class:`~presshil.sampler.Sampler` the runner uses:
deadline scheduling on the press's own clock (virtual on ``sim://``), the watchdog fed while
waiting, retries within a budget, and supervision (stale data, over-pressure, latched faults),
so it runs unchanged on a simulator and on a wire, and as safely as a protocol run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..press import Press, Sample, Status
from ..sampler import Sampler, SamplerPolicy, SupervisionAbort
from ..state import fault_text


class SectionAbort(Exception):
    """The press faulted, went over pressure, froze or stopped answering in a test."""


@dataclass
class Recorder:
    """Samples seen while driving, kept for the report's plot."""

    t_s: list[float] = field(default_factory=list)
    setpoint_mpa: list[float] = field(default_factory=list)
    pressure_mpa: list[float] = field(default_factory=list)
    force_kn: list[float] = field(default_factory=list)
    status: list[int] = field(default_factory=list)
    extra: list[float] = field(default_factory=list)  # e.g. the reference force

    def add(self, t_s: float, s: Sample, extra: float = float("nan")) -> None:
        """Keep one sample."""
        self.t_s.append(t_s)
        self.setpoint_mpa.append(s.setpoint_mpa)
        self.pressure_mpa.append(s.pressure_mpa)
        self.force_kn.append(s.force_kn)
        self.status.append(int(s.status))
        self.extra.append(extra)


class Driver:
    """Polls ``press`` every ``interval_s`` of its clock, feeding the watchdog, recording.

    ``max_pressure_mpa`` (None = not supervised) aborts the section when a sample exceeds it;
    a probe that provokes an over-pressure trip on purpose leaves it None.
    """

    def __init__(
        self,
        press: Press,
        interval_s: float,
        recorder: Recorder | None = None,
        extra: Callable[[], float] | None = None,
        heartbeat: bool = True,
        max_pressure_mpa: float | None = None,
        policy: SamplerPolicy | None = None,
    ) -> None:
        self.press = press
        self.clock = press.clock
        self.interval_s = interval_s
        self.recorder = recorder
        self.extra = extra
        self.sampler = Sampler(press, interval_s=interval_s, policy=policy,
                               max_pressure_mpa=max_pressure_mpa)
        self.sampler.heartbeat_enabled = heartbeat
        self.t0 = self.sampler.t0

    @property
    def heartbeat(self) -> bool:
        """Whether the watchdog is fed (the watchdog probe switches it off)."""
        return self.sampler.heartbeat_enabled

    @heartbeat.setter
    def heartbeat(self, on: bool) -> None:
        self.sampler.heartbeat_enabled = on

    def now(self) -> float:
        """Seconds since the driver was made."""
        return self.sampler.now()

    def poll(self, *, allow_fault: bool = False) -> tuple[Sample, float]:
        """Wait for the next slot, feed the watchdog, read and supervise.

        A latched fault aborts unless ``allow_fault``; stale data, over-pressure and a lost
        link always do. Returns the sample and the extra reading (NaN without a source).
        """
        try:
            t, s = self.sampler.next()
        except SupervisionAbort as exc:
            raise SectionAbort(str(exc)) from exc
        x = self.extra() if self.extra is not None else float("nan")
        if self.recorder is not None:
            self.recorder.add(t, s, x)
        try:
            self.sampler.supervise(s, t, allow_fault=allow_fault)
        except SupervisionAbort as exc:
            if exc.kind == "fault":
                raise SectionAbort(f"press fault {fault_text(s)} at t = {t:.2f} s") from exc
            raise SectionAbort(str(exc)) from exc
        return s, x

    def wait(self, duration_s: float) -> Sample:
        """Keep polling for ``duration_s``; the last sample."""
        end = self.now() + duration_s
        s, _ = self.poll()
        while self.now() < end:
            s, _ = self.poll()
        return s

    def go_to(self, setpoint_mpa: float, rate_mpa_s: float, margin_s: float = 30.0) -> bool:
        """Command ``setpoint_mpa`` and wait until the press reports AT_SETPOINT there.

        Returns False when it did not within the nominal ramp time plus ``margin_s`` (the
        caller reads anyway and the readings say how far off it was).
        """
        start = self.press.read().setpoint_mpa
        self.press.command(setpoint_mpa, rate_mpa_s)
        deadline = self.now() + abs(setpoint_mpa - start) / rate_mpa_s + margin_s
        while self.now() < deadline:
            s, _ = self.poll()
            if s.status & Status.AT_SETPOINT and abs(s.setpoint_mpa - setpoint_mpa) < 1e-6:
                return True
        return False

    def release(self, rate_mpa_s: float, margin_s: float = 30.0) -> bool:
        """Release and wait for RELEASED; False if it did not come within the time."""
        start = max(self.press.read().pressure_mpa, 0.0)
        self.press.release(rate_mpa_s)
        deadline = self.now() + start / rate_mpa_s + margin_s
        while self.now() < deadline:
            s, _ = self.poll()
            if s.status & Status.RELEASED:
                return True
        return False

    def average(self, duration_s: float) -> tuple[float, float, list[float]]:
        """Mean force (kN) and mean extra reading over ``duration_s``, and the forces."""
        forces: list[float] = []
        extras: list[float] = []
        end = self.now() + duration_s
        while True:
            s, x = self.poll()
            forces.append(s.force_kn)
            extras.append(x)
            if self.now() >= end:
                break
        return sum(forces) / len(forces), sum(extras) / len(extras), forces


__all__ = ["Driver", "Recorder", "SectionAbort", "fault_text"]
