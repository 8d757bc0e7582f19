"""What every ``presshil`` command shares: the consoles, the one-line error handling, the
pinned exit codes and the common options.

The command modules (``cli``, ``*_cli``, ``*/commands``, ``sweep/command``) import these from
here, never from :mod:`presshil.cli`, which only assembles the app: no command module imports
another, so none can import the app back (tests/test_cli_imports.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from .errors import PresshilError
from .status import EXIT_ABORTED, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, user_error
from .store_url import StoreOpt

EXIT_USAGE = EXIT_BAD_INPUT
DEFAULT_PRESS = "sim://"

# soft_wrap: a line is never broken inside a word (CI logs are read, then grepped)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected failures into one line on stderr and the pinned exit code
    (the one map: :func:`presshil.status.user_error`)."""
    try:
        yield
    except PresshilError as exc:
        code, line = user_error(exc) or (EXIT_USAGE, str(exc))
        word, _, rest = line.partition(" ")
        # escape: a field such as '[force_verification].series' is text, not rich markup
        err.print(f"[bold red]{word}[/] {escape(rest)}", highlight=False, soft_wrap=True)
        raise typer.Exit(code) from None


def warn_damage(db: str, store: object, run_id: int) -> None:
    """After an intact run was read from a damaged store: say so on stderr."""
    from .store_salvage import read_warning

    line = read_warning(db, getattr(store, "damage", None), run_id)
    if line is not None:
        err.print(line, highlight=False, markup=False)


PressOpt = Annotated[
    str,
    typer.Option(
        "--press",
        envvar="PRESSHIL_PRESS",
        help="Press URL: sim://NAME?specimen=SPEC&seed=N, modbus+tcp://HOST:PORT, "
        "modbus+tls://HOST:802?cert=…&key=…&ca=…, modbus+rtu:///dev/…, serial:///dev/…, "
        "opcua://HOST:4840?profile=…, fil://?firmware=…; add ?profile=NAME for a device's "
        "own map (docs/profiles.md).",
    ),
]
DbOpt = StoreOpt  # a SQLite path or postgresql://… (presshil.store_url)
SimPressOpt = Annotated[str, typer.Option("--press", help="The simulated press to serve (sim://…).")]
PtyOrDevice = "'pty' to create a pseudo-terminal (its path is printed), or a device."
ModbusRtuOpt = Annotated[str | None, typer.Option("--modbus-rtu", help=PtyOrDevice)]
BindOpt = Annotated[str, typer.Option("--bind", help="Address to bind TCP endpoints to.")]
ServeTcpOpt = Annotated[str | None, typer.Option("--modbus-tcp", help="HOST:PORT (default 127.0.0.1:5020).")]
PlantTcpOpt = Annotated[str | None, typer.Option("--modbus-tcp", help="HOST:PORT (default 127.0.0.1:5021).")]


__all__ = [
    "DEFAULT_PRESS", "EXIT_ABORTED", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "BindOpt", "DbOpt",
    "ModbusRtuOpt", "PlantTcpOpt", "PressOpt", "PtyOrDevice", "ServeTcpOpt", "SimPressOpt", "err",
    "out", "user_errors", "warn_damage",
]
