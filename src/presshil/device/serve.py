"""``serve_main``: the body of ``presshil serve`` and ``python3 -m presshil.device``.

Signals, the wait and the exit codes are :mod:`presshil.serving.main`'s, shared with
``presshil plant serve``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from ..serving.main import (  # noqa: F401 - EXIT_* are this module's names too
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    announce,
    run_until_signal,
    start_or_report,
)
from ..serving.tls import TlsConfig, is_loopback
from .server import start_server

PROG = "presshil serve"


def warn_if_exposed(endpoint: str | None, tls: bool, what: str = "Modbus TCP") -> None:
    """Warn on stderr when ``what`` (Modbus TCP or OPC UA) listens beyond loopback without TLS."""
    if endpoint is None or tls:
        return
    host = endpoint.split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    if not is_loopback(host):
        remedy = ("--tls-cert/--tls-key/--tls-ca (Modbus/TCP Security), --read-only"
                  if what == "Modbus TCP" else "--tls-cert/--tls-key/--tls-ca (signed and encrypted sessions)")
        print(
            f"{PROG}: warning: {what} on {endpoint} without TLS: anyone who can reach "
            "this address can read the press and, unless another master holds its lease, "
            f"control it; serve with {remedy}, or on 127.0.0.1",
            file=sys.stderr,
            flush=True,
        )


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
    tls_cert: str | None = None,
    tls_key: str | None = None,
    tls_ca: str | None = None,
    read_only: bool = False,
) -> int:
    """Serve ``press_url`` until SIGINT or SIGTERM; print where it listens; return an exit code.

    ``modbus_rtu`` / ``serial``: ``"pty"`` creates a pseudo-terminal (its path is printed),
    anything else is a serial device. With no endpoint, Modbus TCP on ``bind``:5020.
    ``tls_cert``/``tls_key``/``tls_ca`` (all three or none): Modbus/TCP Security with mutual
    X.509 on the TCP endpoint; ``read_only``: every write refused (exception 01, ``ERR 1``).
    ``ready`` is called once listening, with the endpoints and press URLs. Exit codes:
    0 stopped by a signal, 2 bad input (URL, address in use, device), 3 the model failed.
    """
    try:
        tls = TlsConfig.from_flags(tls_cert, tls_key, tls_ca)
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    handle = start_or_report(
        PROG,
        lambda: start_server(
            press_url,
            modbus_tcp=modbus_tcp,
            modbus_rtu=modbus_rtu,
            serial=serial,
            bind=bind,
            baud=baud,
            tls=tls,
            read_only=read_only,
        ),
    )
    if handle is None:
        return EXIT_USAGE
    warn_if_exposed(handle.endpoints.get("modbus_tcp"), tls is not None)
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
