"""``presshil run --live``: serve the live view while the run goes, print its link."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import ConfigError

DEFAULT_LIVE_PORT = 8766
#: virtual seconds per wall second for a simulated press (demonstrations, browser tests)
PACE_ENV = "PRESSHIL_LIVE_PACE"


def pace_from_env() -> float | None:
    """The pace asked for in ``PRESSHIL_LIVE_PACE``, or None (run at the press's own speed)."""
    raw = os.environ.get(PACE_ENV, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(f"{PACE_ENV}={raw!r}: expected a positive number of run seconds per wall second")
    return value


@contextlib.contextmanager
def live_view(bind: str | None, console: Any) -> Iterator[Callable[..., Any]]:
    """Yield the function to run the protocol with: :func:`presshil.runner.run` when ``bind``
    is None, else the same run feeding a live view served on ``bind`` (``[HOST:]PORT``)."""
    from ..runner import run

    if bind is None:
        yield run
        return
    from .bridge import run_live
    from .live_app import live_app
    from .live_sink import LiveSink
    from .server import BackgroundServer, parse_bind

    host, port = parse_bind(bind, default_port=DEFAULT_LIVE_PORT)
    speed = pace_from_env()
    sink = LiveSink()
    server = BackgroundServer(live_app(sink), host, port).start()
    console.print(f"live view: [link]{server.url}/?token={sink.token}[/link]", highlight=False, soft_wrap=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]note:[/] the live view listens on {host}, not only on this machine; "
                      "STOP needs the token above", highlight=False)
    try:
        def run_with_view(protocol: Any, press: Any, *, sinks: Any = (), **kwargs: Any) -> Any:
            return run_live(protocol, press, sinks=[*sinks, sink], cancel=sink.cancel, speed=speed, **kwargs)

        yield run_with_view
    finally:
        time.sleep(2 * 0.1 + 0.3)  # let open pages collect the final frame
        server.stop()


__all__ = ["DEFAULT_LIVE_PORT", "PACE_ENV", "live_view", "pace_from_env"]
