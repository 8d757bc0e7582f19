"""What runs on a Dask worker: a batch of variants, each an ordinary run of the runner.

Everything here is plain data in and out (protocol text, URLs; verdicts, events and the
trace's arrays back), so a worker on another machine needs presshil installed and nothing
else: no shared file system, no database connection.
"""

from __future__ import annotations

import time
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
    events: list[tuple[float, str, str]]
    #: the trace: t, setpoint, pressure, force, position, status (n,) and channels (n, N)
    arrays: dict[str, np.ndarray] = field(repr=False)
    wall_s: float = 0.0
    sim_s: float = 0.0


def _protocol(text: str, source: str) -> Any:
    from ..protocol import parse_protocol

    key = f"{source}\0{text}"
    if key not in _PROTOCOLS:
        _PROTOCOLS.clear()
        _PROTOCOLS[key] = parse_protocol(text, source=source)
    return _PROTOCOLS[key]


def run_variant(protocol: Any, index: int, url: str) -> VariantResult:
    """Run ``protocol`` on the simulated press ``url`` (no store: the client records it)."""
    import dataclasses

    from ..runner import run
    from ..urls import open_press

    t0 = time.perf_counter()
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
    )


def run_batch(protocol_text: str, protocol_source: str,
              items: list[tuple[int, str]]) -> list[VariantResult]:
    """Run a batch of ``(index, url)`` variants one after the other on this worker."""
    protocol = _protocol(protocol_text, protocol_source)
    return [run_variant(protocol, index, url) for index, url in items]


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


__all__ = ["VariantResult", "run_variant", "run_batch", "empty_batch", "warm_up"]
