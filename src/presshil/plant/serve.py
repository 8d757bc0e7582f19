"""``plant_serve_main``: the body of ``presshil plant serve`` and ``python3 -m presshil.plant``.

Signals, the wait and the exit codes are :mod:`presshil.serving.main`'s, shared with
``presshil serve``; the timing report on exit is the plant's own.
"""

from __future__ import annotations

import json
from typing import Any

from ..serving.main import (  # noqa: F401 - EXIT_* are this module's names too
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    announce,
    run_until_signal,
    start_or_report,
)
from .server import start_plant_server

PROG = "presshil plant serve"


def plant_serve_main(
    press_url: str,
    modbus_tcp: str | None,
    modbus_rtu: str | None,
    bind: str = "127.0.0.1",
    *,
    baud: int = 115200,
    json_lines: bool = False,
    link_quiet_ms: float | None = None,
    rtu_gap_ms: float | None = None,
) -> int:
    """Serve the plant of ``press_url`` until SIGINT or SIGTERM; return an exit code.

    The plant is the simulated press without its controller: the firmware under test
    connects to ``modbus_tcp`` (``HOST:PORT``; port 0 picks one) or ``modbus_rtu`` (``pty``
    creates a pseudo-terminal, anything else is a serial device). With neither, Modbus TCP
    on ``bind``:5021. Prints where it listens and, when stopped, the timing figures.
    ``json_lines``: also print one JSON line ``{"ready": …}`` when listening and
    ``{"timing": …}`` when stopped (for :class:`presshil.plant.spawn.SpawnedPlant`).
    Exit codes: 0 stopped by a signal, 2 bad input (URL, address in use, device), 3 the
    plant model failed.
    """
    handle = start_or_report(
        PROG,
        lambda: start_plant_server(
            press_url,
            modbus_tcp=modbus_tcp,
            modbus_rtu=modbus_rtu,
            bind=bind,
            baud=baud,
            link_quiet_ms=link_quiet_ms,
            own_process=True,
            rtu_gap_ms=rtu_gap_ms,
        ),
    )
    if handle is None:
        return EXIT_USAGE

    def on_ready() -> None:
        info = handle.info()
        endpoints = info["endpoints"].items()
        announce(
            [f"{PROG}: {info['plant']} - {info['model']} (no controller)"]
            + [f"  listening: {kind} {where}" for kind, where in endpoints]
        )
        if json_lines:
            print(json.dumps({"ready": info}), flush=True)

    code = run_until_signal(handle, PROG, "plant model", on_ready)
    figures = handle.timing()
    print(f"{PROG}: stopped; {_describe(figures)}", flush=True)
    if json_lines:
        print(json.dumps({"timing": figures}), flush=True)
    return code


def _describe(figures: dict[str, Any]) -> str:
    lat, lag = figures["latency_ms"], figures["rt_lag_ms"]
    return (
        f"{figures['commands']} actuator commands, loop {figures['loop_rate_hz']:.0f} Hz, "
        f"latency p50 {lat['p50']:.3f} / p99 {lat['p99']:.3f} / max {lat['max']:.3f} ms, "
        f"real-time lag p99 {lag['p99']:.3f} ms"
    )


__all__ = ["plant_serve_main"]
