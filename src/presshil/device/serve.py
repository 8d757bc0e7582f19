"""``serve_main``: the body of ``presshil serve`` and ``python3 -m presshil.device``."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from ..errors import PresshilError
from .server import start_server

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 2, 3


def serve_main(
    press_url: str,
    modbus_tcp: str | None,
    modbus_rtu: str | None,
    serial: str | None,
    bind: str = "127.0.0.1",
    ready: Callable[[dict[str, Any]], None] | None = None,
    *,
    baud: int = 115200,
    delay_ms: float = 0.0,
    freeze_counter: bool = False,
) -> int:
    """Serve ``press_url`` until SIGINT or SIGTERM; print where it listens; return an exit code.

    ``modbus_rtu`` / ``serial``: ``"pty"`` creates a pseudo-terminal (its path is printed),
    anything else is a serial device. With no endpoint, Modbus TCP on ``bind``:5020.
    ``ready`` is called once listening, with the endpoints and press URLs. Exit codes:
    0 stopped by a signal, 2 bad input (URL, address in use, device), 3 the model failed.
    """
    try:
        handle = start_server(
            press_url,
            modbus_tcp=modbus_tcp,
            modbus_rtu=modbus_rtu,
            serial=serial,
            bind=bind,
            baud=baud,
        )
    except (PresshilError, OSError) as exc:
        print(f"presshil serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    handle.faults.reply_delay_s = delay_ms / 1000.0
    handle.faults.freeze_counter = freeze_counter
    stop = threading.Event()
    previous = _install_signals(stop)
    code = EXIT_OK
    try:
        info = handle.info()
        print(f"presshil serve: {info['press']} - {info['identity']}", flush=True)
        for url in info["urls"].values():
            print(f"  listening: {url}", flush=True)
        print("  stop with Ctrl-C (SIGINT) or SIGTERM", flush=True)
        if ready is not None:
            ready(info)
        while not stop.wait(0.2):
            if handle.failed is not None:
                print(f"presshil serve: press model failed: {handle.failed!r}", file=sys.stderr)
                code = EXIT_FAILED
                break
    finally:
        handle.stop()
        _restore_signals(previous)
    print("presshil serve: stopped", flush=True)
    return code


def _install_signals(stop: threading.Event) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}  # signals can only be handled in the main thread; the caller stops us
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, lambda *_: stop.set())
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


__all__ = ["serve_main"]
