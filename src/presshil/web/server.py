"""Serve an ASGI app from a background thread while the caller goes on (a run, a test)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from typing import Any, Self

import uvicorn

from ..errors import ConfigError

DEFAULT_HOST = "127.0.0.1"


def parse_bind(text: str, *, default_port: int) -> tuple[str, int]:
    """``[HOST:]PORT`` or ``HOST`` as (host, port); loopback when no host is given."""
    text = text.strip()
    if not text:
        return DEFAULT_HOST, default_port
    host, sep, port = text.rpartition(":")
    if not sep:
        if text.isdigit():
            host, port = DEFAULT_HOST, text
        else:
            host, port = text, str(default_port)
    host = host.strip("[]") or DEFAULT_HOST
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"bind address {text!r}: port {port!r} is not a number 0..65535")
    return host, int(port)


class BackgroundServer:
    """uvicorn serving ``app`` on ``host:port`` in a daemon thread (port 0 picks a free one).

    Only requests for ``host`` (loopback names, IP literals) and ``allow_hosts`` are served
    (:class:`~presshil.web.guard.WebGuard`). ``start()`` returns once the socket listens (or raises :class:`ConfigError` when it
    cannot, e.g. the port is taken); ``stop()`` shuts it down within ``timeout_s``.
    """

    def __init__(self, app: Any, host: str = DEFAULT_HOST, port: int = 0,
                 allow_hosts: Iterable[str] = ()) -> None:
        from .guard import WebGuard

        # Host and Origin checks, body limit and headers, for every app served (see guard)
        self.app = WebGuard(app, bound_host=host, allow_hosts=allow_hosts)
        app = self.app
        self.host = host
        self.port = port
        config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                lifespan="off", access_log=False, timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        setattr(self._server, "install_signal_handlers", lambda: None)  # noqa: B010 - not in its stubs
        self._thread = threading.Thread(target=self._serve, name="presshil-web", daemon=True)
        self._error: BaseException | None = None

    def _serve(self) -> None:
        try:
            asyncio.run(self._server.serve())
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc

    def start(self, timeout_s: float = 10.0) -> Self:
        """Start serving; block until listening."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or self._error is not None:
                why: BaseException | str | None = self._error
                if why is None or isinstance(why, SystemExit):
                    why = "the address is in use or not available here"
                raise ConfigError(f"cannot serve the web view on {self.host}:{self.port}: {why}")
            if time.monotonic() > deadline:
                raise ConfigError(f"web view on {self.host}:{self.port} did not start in {timeout_s:g} s")
            time.sleep(0.02)
        sockets = [s for srv in self._server.servers for s in srv.sockets]
        if sockets:
            self.port = sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        """Base URL of the server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C raises KeyboardInterrupt here)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Shut down and join the thread (open streams are closed)."""
        self._server.should_exit = True
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout_s)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["DEFAULT_HOST", "BackgroundServer", "parse_bind"]
