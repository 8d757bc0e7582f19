"""``presshil run --live``: serve the live view while the run goes, print its link.

When the run ends the finished run stays served while a page shows it (until the page is
closed or Ctrl-C), and for ``PRESSHIL_LIVE_LINGER`` seconds for a page to open, so a
simulated run that ends in seconds can still be looked at. Then every open stream gets a
last frame and ends before the server stops: nothing is cancelled mid-stream.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import ConfigError

DEFAULT_LIVE_PORT = 8766
#: virtual seconds per wall second for a simulated press (demonstrations, browser tests)
PACE_ENV = "PRESSHIL_LIVE_PACE"
#: seconds the finished run stays served for a page to open (a page already open keeps it)
LINGER_ENV = "PRESSHIL_LIVE_LINGER"
#: grace when a person may be at the terminal; 0 in scripts (stdin not a terminal)
DEFAULT_LINGER_S = 60.0
#: a page that reloads reconnects within its retry time (1 s); wait this long before
#: taking "no page open" for an answer
RECONNECT_S = 3.0
#: how long open streams get to send their last frame when the server stops
CLOSE_S = 2.0


#: the run metadata key that keeps the live view's address (without its token)
LIVE_META = "live_view"


def page_url(host: str, port: int) -> str:
    """The live view's address as another machine of the lab would open it: the station's
    host name when it listens on every interface, else the address it listens on."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - naming the bind, not binding
        import socket

        host = socket.gethostname()
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


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


def linger_from_env(interactive: bool) -> float:
    """Seconds the finished run stays served for a page to open: ``PRESSHIL_LIVE_LINGER``, else
    :data:`DEFAULT_LINGER_S` when ``interactive`` (someone may click the link) and 0 when not."""
    raw = os.environ.get(LINGER_ENV, "").strip()
    if not raw:
        return DEFAULT_LINGER_S if interactive else 0.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(f"{LINGER_ENV}={raw!r}: expected a number of seconds >= 0")
    return value


def linger(sink: Any, url: str, console: Any, grace_s: float, poll_s: float = 0.1) -> None:
    """Keep serving the finished run while a page shows it, and ``grace_s`` for one to open;
    Ctrl-C ends it. Returns at once after STOP (the operator is at the page and saw the end)."""
    if sink.cancel.is_set() or (grace_s <= 0 and sink.viewer_count == 0):
        return
    wait = f", or {grace_s:g} s for one to open" if grace_s > 0 else ""
    console.print(f"live view: the finished run stays at [link]{url}[/link] while a page shows it{wait}; "
                  "Ctrl-C to stop serving", highlight=False, soft_wrap=True)
    deadline = time.monotonic() + grace_s
    absent_since: float | None = None
    try:
        while True:
            now = time.monotonic()
            if sink.viewer_count:
                absent_since = None
            else:
                absent_since = now if absent_since is None else absent_since
                if now >= deadline and now - absent_since >= RECONNECT_S:
                    return
            time.sleep(poll_s)
    except KeyboardInterrupt:
        return


def stop_serving(server: Any, sink: Any, timeout_s: float = CLOSE_S) -> None:
    """End every open stream with its last frame, then stop the server (no stream is left to
    be cancelled, so no traceback reaches the terminal and no browser sees a broken stream)."""
    sink.close()
    deadline = time.monotonic() + timeout_s
    while sink.viewer_count and time.monotonic() < deadline:
        time.sleep(0.02)
    server.stop()


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
    grace_s = linger_from_env(sys.stdin.isatty() and console.is_terminal)
    sink = LiveSink()
    server = BackgroundServer(live_app(sink), host, port).start()
    console.print(f"live view: [link]{server.url}/?token={sink.token}[/link]", highlight=False, soft_wrap=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]note:[/] the live view listens on {host}, not only on this machine; "
                      "STOP needs the token above", highlight=False)
    try:
        def run_with_view(protocol: Any, press: Any, *, sinks: Any = (), **kwargs: Any) -> Any:
            # the store keeps where the page is (never the token), for the lab view's list
            kwargs["meta"] = {**(kwargs.get("meta") or {}), LIVE_META: page_url(host, server.port)}
            return run_live(protocol, press, sinks=[*sinks, sink], cancel=sink.cancel, speed=speed, **kwargs)

        yield run_with_view
    except BaseException:
        stop_serving(server, sink)
        raise
    if sink.info.get("state") == "finished":
        linger(sink, f"{server.url}/?token={sink.token}", console, grace_s)
    stop_serving(server, sink)


__all__ = ["DEFAULT_LIVE_PORT", "LINGER_ENV", "LIVE_META", "PACE_ENV", "page_url", "linger", "linger_from_env", "live_view", "pace_from_env",
           "stop_serving"]
