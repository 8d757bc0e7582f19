"""The CLI commands of device profiles: ``presshil probe`` and ``serve --profile``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..serving.tls import TlsConfig


def probe_cmd(
    url: Annotated[str, typer.Argument(help="Press URL, e.g. modbus+tcp://192.0.2.5:502?profile=plc-hydraulic-press")],
    watch: Annotated[bool, typer.Option("--watch", help="Refresh the table until Ctrl-C.")] = False,
    count: Annotated[int, typer.Option("--count", help="With --watch: stop after N refreshes (0 = until Ctrl-C).")] = 0,
) -> None:
    """Connect, read identity and every signal once, and show what looks implausible."""
    from ..cli_common import user_errors
    from .probe import probe_main

    with user_errors():
        code = probe_main(url, watch=watch, count=count)
    raise typer.Exit(code)


def profile_serve_main(
    press: str,
    profile: str,
    modbus_tcp: str | None,
    modbus_rtu: str | None,
    opcua: str | None,
    serial: str | None,
    bind: str,
    *,
    tls: TlsConfig | None = None,
) -> int:
    """``presshil serve --profile``: the simulated press through a device's own map
    (``tls``: Modbus/TCP Security, or OPC UA signed and encrypted sessions)."""
    from ..device.serve import warn_if_exposed
    from ..serving.main import EXIT_USAGE, announce, run_until_signal, start_or_report
    from .server import start_profile_server

    prog = "presshil serve"
    if not profile:
        print(f"{prog}: --opcua needs --profile NAME_OR_PATH (the device map to serve)", file=sys.stderr)
        return EXIT_USAGE
    handle = start_or_report(
        prog,
        lambda: start_profile_server(
            press, profile, modbus_tcp=modbus_tcp, modbus_rtu=modbus_rtu, opcua=opcua, serial=serial,
            bind=bind, tls=tls,
        ),
    )
    if handle is None:
        return EXIT_USAGE
    warn_if_exposed(handle.endpoints.get("modbus_tcp"), tls is not None)
    warn_if_exposed(handle.endpoints.get("opcua"), tls is not None, "OPC UA")

    def ready() -> None:
        info = handle.info()
        announce([f"{prog}: {info['press']} - {info['identity']}"] + [f"  listening: {u}" for u in info["urls"].values()])

    code = run_until_signal(handle, prog, "press model", ready)
    print(f"{prog}: stopped", flush=True)
    return code


__all__ = ["probe_cmd", "profile_serve_main"]
