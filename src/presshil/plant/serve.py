"""``plant_serve_main``: the body of ``presshil plant serve`` and ``python3 -m presshil.plant``."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

from ..errors import PresshilError
from .server import start_plant_server

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 2, 3


def plant_serve_main(
    press_url: str,
    modbus_tcp: str | None,
    modbus_rtu: str | None,
    bind: str = "127.0.0.1",
    *,
    baud: int = 115200,
    json_lines: bool = False,
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
    try:
        handle = start_plant_server(
            press_url, modbus_tcp=modbus_tcp, modbus_rtu=modbus_rtu, bind=bind, baud=baud
        )
    except (PresshilError, OSError) as exc:
        print(f"presshil plant serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    stop = threading.Event()
    previous = _install_signals(stop)
    code = EXIT_OK
    try:
        info = handle.info()
        print(
            f"presshil plant serve: {info['plant']} - {info['model']} (no controller)", flush=True
        )
        for kind, where in info["endpoints"].items():
            print(f"  listening: {kind} {where}", flush=True)
        print("  stop with Ctrl-C (SIGINT) or SIGTERM", flush=True)
        if json_lines:
            print(json.dumps({"ready": info}), flush=True)
        while not stop.wait(0.2):
            if handle.failed is not None:
                print(
                    f"presshil plant serve: plant model failed: {handle.failed!r}", file=sys.stderr
                )
                code = EXIT_FAILED
                break
    finally:
        handle.stop()
        _restore_signals(previous)
    figures = handle.timing()
    print(f"presshil plant serve: stopped; {_describe(figures)}", flush=True)
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


def _install_signals(stop: threading.Event) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, lambda *_: stop.set())
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


__all__ = ["plant_serve_main"]
