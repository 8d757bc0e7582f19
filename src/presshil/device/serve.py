"""``serve_main``: the body of ``presshil serve`` and ``python3 -m presshil.device``.

Signals, the wait and the exit codes are :mod:`presshil.serving.main`'s, shared with
``presshil plant serve``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..serving.main import (  # noqa: F401 - EXIT_* are this module's names too
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    announce,
    run_until_signal,
    start_or_report,
)
from .server import start_server

PROG = "presshil serve"


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
    handle = start_or_report(
        PROG,
        lambda: start_server(
            press_url,
            modbus_tcp=modbus_tcp,
            modbus_rtu=modbus_rtu,
            serial=serial,
            bind=bind,
            baud=baud,
        ),
    )
    if handle is None:
        return EXIT_USAGE
    handle.faults.reply_delay_s = delay_ms / 1000.0
    handle.faults.freeze_counter = freeze_counter

    def on_ready() -> None:
        info = handle.info()
        urls = info["urls"].values()
        announce(
            [f"{PROG}: {info['press']} - {info['identity']}"]
            + [f"  listening: {url}" for url in urls]
        )
        if ready is not None:
            ready(info)

    code = run_until_signal(handle, PROG, "press model", on_ready)
    print(f"{PROG}: stopped", flush=True)
    return code


__all__ = ["serve_main"]
