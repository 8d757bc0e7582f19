"""The body of a ``serve`` command, shared by ``presshil serve`` and ``presshil plant serve``.

Start the server (a bad URL, an address in use or a missing device is exit code 2),
announce it, then wait for SIGINT or SIGTERM while watching the model (a failed model is
exit code 3), and stop the server whatever happens. What is announced — and, for the plant,
what is printed after stopping — stays with each command.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from ..errors import PresshilError
from ..status import EXIT_ABORTED, EXIT_BAD_INPUT, EXIT_OK

EXIT_USAGE = EXIT_BAD_INPUT
#: the served model failed: the server stopped as an aborted run does
EXIT_FAILED = EXIT_ABORTED
STOP_HINT = "  stop with Ctrl-C (SIGINT) or SIGTERM"


class Served(Protocol):
    """What :func:`run_until_signal` needs of a running server."""

    @property
    def failed(self) -> BaseException | None: ...

    def stop(self) -> None: ...


H = TypeVar("H", bound=Served)


def server_arguments(parser: argparse.ArgumentParser, *, default_port: int) -> None:
    """The options every ``python3 -m`` server takes: ``--press``, ``--modbus-tcp``,
    ``--modbus-rtu``, ``--bind``, ``--baud`` and ``--json``."""
    parser.add_argument("--press", default="sim://", help="simulated press URL (default sim://)")
    parser.add_argument(
        "--modbus-tcp",
        metavar="HOST:PORT",
        help=f"Modbus TCP endpoint (port 0: any free port; 127.0.0.1:{default_port} when "
        "no endpoint is given)",
    )
    parser.add_argument(
        "--modbus-rtu", metavar="PTY|DEVICE", help="Modbus RTU: 'pty' creates a pseudo-terminal"
    )
    parser.add_argument(
        "--bind", default="127.0.0.1", help="host for --modbus-tcp without one (default 127.0.0.1)"
    )
    parser.add_argument(
        "--baud", type=int, default=115200, help="baud rate of serial devices (default 115200)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print JSON lines (the endpoints when ready)"
    )


def start_or_report(prog: str, start: Callable[[], H]) -> H | None:
    """``start()``, or None after printing ``prog: error`` on stderr for bad input."""
    try:
        return start()
    except (PresshilError, OSError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return None


def announce(lines: Iterable[str]) -> None:
    """Print ``lines`` and the stop hint, each flushed (a parent may be reading stdout)."""
    for line in lines:
        print(line, flush=True)
    print(STOP_HINT, flush=True)


def run_until_signal(handle: Served, prog: str, model: str, ready: Callable[[], None]) -> int:
    """Call ``ready()``, wait for SIGINT/SIGTERM or a failed ``model``; stop ``handle``.

    Returns :data:`EXIT_OK` when stopped by a signal, :data:`EXIT_FAILED` when the model
    failed (``prog: MODEL failed: …`` on stderr). ``handle`` is stopped and the previous
    signal handlers restored in every case, also when ``ready`` raises.
    """
    stop = threading.Event()
    previous = _install_signals(stop)
    code = EXIT_OK
    try:
        ready()
        while not stop.wait(0.2):
            if handle.failed is not None:
                print(f"{prog}: {model} failed: {handle.failed!r}", file=sys.stderr)
                code = EXIT_FAILED
                break
    finally:
        handle.stop()
        _restore_signals(previous)
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


__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "STOP_HINT",
    "announce",
    "run_until_signal",
    "server_arguments",
    "start_or_report",
]
