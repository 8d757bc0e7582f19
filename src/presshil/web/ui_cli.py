"""``presshil ui``: the results browser over a store, served until Ctrl-C."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from ..library import DEFAULT_DB
from ..store_url import StoreOpt

DEFAULT_UI_BIND = "127.0.0.1:8765"


def ui_cmd(
    db: StoreOpt = str(DEFAULT_DB),
    bind: Annotated[str, typer.Option("--bind", help="HOST:PORT to serve on (loopback by default).")] = DEFAULT_UI_BIND,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", metavar="NAME", help="Also answer requests for this host name (a lab name for the machine); repeatable. "
        "Loopback names, IP addresses and the --bind host are always answered.")] = None,
) -> None:
    """Browse stored runs: filter, open, zoom, overlay runs, trend a criterion, export.

    Exit code 0 when stopped with Ctrl-C; 2 when the store or the address is unusable.
    """
    from ..cli_common import out, user_errors
    from .results import open_results
    from .server import BackgroundServer, parse_bind
    from .ui_app import ui_app

    # the banner is one line even when piped (out is soft-wrapped: never "Ctrl-C\nto stop")
    with user_errors():
        host, port = parse_bind(bind, default_port=8765)
        results = open_results(db)
    try:
        threading.Thread(target=_warm, args=(results,), name="presshil-ui-warm", daemon=True).start()
        with user_errors():
            server = BackgroundServer(ui_app(results), host, port, allow_hosts=allow_host or ()).start()
        out.print(f"results browser: {server.url}/  (store {results.path}; Ctrl-C to stop)", highlight=False)
        try:
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    finally:
        results.close()


def _warm(results) -> None:
    """Compute the overviews of the newest finished runs before anyone opens them."""
    try:
        for run in list(reversed(results.store.list_runs()))[:8]:
            if run.status != "running":
                results.reader.warm(run.id)
    except Exception:  # noqa: BLE001, S110 - warming is an optimisation; requests report errors
        pass


__all__ = ["DEFAULT_UI_BIND", "ui_cmd"]
