"""What runs on a Dask worker: a batch of variants, each an ordinary run of the runner.

Everything here is plain data in and out (protocol text, URLs; verdicts, events and the
trace's arrays back), so a worker on another machine needs presshil installed and nothing
else: no shared file system, no database connection.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_PROTOCOLS: dict[str, Any] = {}


@dataclass(frozen=True)
class VariantResult:
    """One variant's run, as a worker hands it back to the client."""

    index: int
    url: str
    status: str
    identity: dict[str, Any]
    verdicts: list[Any]  # presshil.metrics.Verdict
    events: list[tuple[float | None, str, str]]
    #: the trace: t, setpoint, pressure, force, position, status (n,) and channels (n, N)
    arrays: dict[str, np.ndarray] = field(repr=False)
    wall_s: float = 0.0
    sim_s: float = 0.0
    #: CPU seconds the worker process spent on the run (wall_s minus time waiting for a core)
    cpu_s: float = 0.0


def parse_target(text: str, source: str, kind: str = "protocol") -> Any:
    """A protocol (or, for ``kind="suite"``, an acceptance suite) from its text; cached."""
    key = f"{kind}\0{source}\0{text}"
    if key not in _PROTOCOLS:
        parse: Callable[[str, str], Any]
        if kind == "suite":
            from ..acceptance.suite import parse_suite as parse
        else:
            from ..protocol import parse_protocol as parse
        _PROTOCOLS.clear()
        _PROTOCOLS[key] = parse(text, source)
    return _PROTOCOLS[key]


def _number(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def run_suite_variant(suite: Any, index: int, url: str) -> VariantResult:
    """Run acceptance ``suite`` on the simulated press ``url``; criteria become verdicts."""
    import dataclasses

    from ..acceptance import run_acceptance
    from ..acceptance.result import NOT_TESTED, PASS
    from ..metrics import Verdict
    from ..urls import open_press

    t0, c0 = time.perf_counter(), time.process_time()
    press = open_press(url)
    try:
        result = run_acceptance(press, suite, reference=None)
        sim_s = float(press.clock.now())
    finally:
        press.close()
    verdicts = [
        Verdict(step=c.section, criterion=c.name, value=_number(c.value), limit=_number(c.limit),
                unit=c.unit, passed=c.status == PASS, detail=c.detail)
        for c in result.criteria if c.status != NOT_TESTED
    ]
    aborted = [s for s in result.sections if s.status == "aborted"]
    events: list[tuple[float | None, str, str]] = [(None, "abort", f"{s.key}: {s.abort_reason}") for s in aborted]
    # as the runner does: an aborted test is a failed "completed" criterion
    verdicts += [Verdict(step=s.key, criterion="completed", value=0.0, limit=1.0, unit="",
                         passed=False, detail=str(s.abort_reason)) for s in aborted]
    return VariantResult(index=index, url=url, status=str(result.status),
                         identity=dataclasses.asdict(result.identity), verdicts=verdicts,
                         events=events, arrays={}, wall_s=time.perf_counter() - t0, sim_s=sim_s,
                         cpu_s=time.process_time() - c0)


def run_variant(protocol: Any, index: int, url: str) -> VariantResult:
    """Run ``protocol`` on the simulated press ``url`` (no store: the client records it)."""
    import dataclasses

    from ..runner import run
    from ..urls import open_press

    t0, c0 = time.perf_counter(), time.process_time()
    press = open_press(url)
    try:
        result = run(protocol, press, keep_trace=True)
        sim_s = float(press.clock.now())
    finally:
        press.close()
    trace = result.trace
    arrays = {name: np.asarray(getattr(trace, name)) for name in
              ("t", "setpoint", "pressure", "force", "position", "status", "channels")}
    return VariantResult(
        index=index,
        url=url,
        status=str(result.status),
        identity=dataclasses.asdict(result.identity),
        verdicts=list(result.verdicts),
        events=[(e.t_s, e.kind, e.message) for e in result.events],
        arrays=arrays,
        wall_s=time.perf_counter() - t0,
        sim_s=sim_s,
        cpu_s=time.process_time() - c0,
    )


def run_batch(protocol_text: str, protocol_source: str, items: list[tuple[int, str]],
              kind: str = "protocol") -> list[VariantResult]:
    """Run a batch of ``(index, url)`` variants one after the other on this worker."""
    target = parse_target(protocol_text, protocol_source, kind)
    one = run_suite_variant if kind == "suite" else run_variant
    return [one(target, index, url) for index, url in items]


def empty_batch(items: list[tuple[int, str]]) -> list[int]:
    """A task that does nothing: measures what the cluster itself costs per task."""
    return [index for index, _ in items]


def warm_up() -> float:
    """Load (or compile once, into numba's on-disk cache) the simulator kernel; wall seconds."""
    from ..urls import open_press

    t0 = time.perf_counter()
    press = open_press("sim://")
    try:
        press.clock.sleep_until(0.05)
    finally:
        press.close()
    return time.perf_counter() - t0


__all__ = ["VariantResult", "empty_batch", "parse_target", "run_batch", "run_suite_variant", "run_variant", "warm_up"]
