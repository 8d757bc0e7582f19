"""What both web views (``presshil ui`` and the live view) refuse before any route runs.

:class:`WebGuard` is an ASGI middleware around either app:

- **Host**: only the names the server is bound to are served — the loopback names, any IP
  address literal, the name given to ``--bind``/``--live``, and names allowed with
  ``--allow-host``. A page on ``evil.example`` whose name a DNS rebinding points at
  127.0.0.1 still sends ``Host: evil.example``, and gets 400.
- **Origin**: a request that changes state (POST and the like) whose ``Origin`` (or, without
  one, ``Referer``) is not this server's own gets 403. Browsers send ``Origin`` with every
  cross-origin POST, including the ``text/plain`` ones that need no preflight.
- **Bodies** over :data:`MAX_BODY_BYTES` get 413 before the app reads them.
- **Headers**: every answer but static files carries ``Cache-Control: no-store`` (pages and
  state hold the run's token or data), ``Referrer-Policy: no-referrer`` (a link followed
  from a page with ``?token=`` does not pass it on), ``X-Content-Type-Options: nosniff`` and
  ``X-Frame-Options: DENY`` (no page can frame STOP).
- An exception a route did not handle is answered 500 with one short JSON line and logged in
  one line, never with a traceback (routes answer bad input 4xx themselves; a 500 is a bug).

Refusals are ``{"error": "…"}`` JSON, with any echoed value cut to :data:`ECHO_CHARS`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("presshil.web")

#: a request body larger than this is refused (STOP and acks are a few bytes of JSON)
MAX_BODY_BYTES = 16 * 1024
#: an echoed value is cut to this many characters
ECHO_CHARS = 60
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "localhost.localdomain", "ip6-localhost"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]


def shown(value: str, limit: int = ECHO_CHARS) -> str:
    """``value`` as an error message may echo it: repr, at most ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: the largest id a route takes (SQLite's INTEGER)
MAX_ID = 2**63 - 1


def parse_id(raw: str, what: str) -> int:
    """``raw`` as an id: ASCII digits only (``"²"`` and ``"١"`` pass ``str.isdigit``),
    at most 19 of them, 0..:data:`MAX_ID`; ValueError with a short message otherwise."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or int(raw) > MAX_ID:
        raise ValueError(f"{what} {shown(raw)} is not a whole number 0..{MAX_ID}")
    return int(raw)


def host_name(host_header: str) -> str:
    """The name of a ``Host`` header, without port or brackets, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class WebGuard:
    """ASGI middleware: Host and Origin checks, body limit, security headers (see module)."""

    def __init__(self, app: Any, *, bound_host: str = "127.0.0.1", allow_hosts: Iterable[str] = (),
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        names = {host_name(n) for n in allow_hosts if n.strip()}
        bound = host_name(bound_host)
        if bound and bound not in ("0.0.0.0", "::"):
            names.add(bound)
        #: the host names served besides loopback names and IP literals
        self.allowed = frozenset(LOOPBACK_NAMES | names)
        self.max_body_bytes = max_body_bytes

    def host_allowed(self, host_header: str) -> bool:
        """Whether a request with this ``Host`` header is for this server."""
        name = host_name(host_header)
        # an IP literal cannot be a rebound name: a browser sends the name it resolved
        return bool(name) and (name in self.allowed or _is_ip(name))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        if not self.host_allowed(host):
            await _refuse(send, 400, f"Host {shown(host)} is not served here; open the address the server "
                                     "printed, or start it with --allow-host NAME")
            return
        method = scope.get("method", "GET")
        if method not in SAFE_METHODS:
            why = self._foreign(headers, host)
            if why:
                await _refuse(send, 403, why)
                return
        receive, too_big = await self._bounded_body(scope, receive, headers)
        if too_big:
            await _refuse(send, 413, f"request body over {self.max_body_bytes} bytes")
            return
        static = str(scope.get("path", "")).startswith("/static/")
        started = False

        async def send_with_headers(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not static:
                    kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                    message = {**message, "headers": kept + _SECURITY_HEADERS}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:  # noqa: BLE001 - one line, not a traceback, whatever failed
            log.warning("%s %s: %s: %s", method, shown(str(scope.get("path", ""))), type(exc).__name__,
                        shown(str(exc), 120))
            if not started:
                await _refuse(send, 500, f"internal error ({type(exc).__name__}); see the server's log")

    def _foreign(self, headers: dict[str, str], host: str) -> str:
        """Why a state-changing request comes from another site ('' if it does not)."""
        origin = headers.get("origin")
        if origin is not None:
            if origin == "null" or urlsplit(origin).netloc.lower() != host.strip().lower():
                return f"refused: request from another site (Origin {shown(origin)})"
            return ""
        referer = headers.get("referer")
        if referer is not None and urlsplit(referer).netloc.lower() != host.strip().lower():
            return "refused: request from another site (Referer)"
        return ""  # no browser sends a cross-site POST without Origin: a script or curl

    async def _bounded_body(self, scope: Any, receive: Any, headers: dict[str, str]) -> tuple[Any, bool]:
        """Read the body up to the limit; a receive that replays it, and whether it was over."""
        if scope.get("method", "GET") in SAFE_METHODS and "content-length" not in headers:
            return receive, False
        declared = headers.get("content-length", "0")
        if not declared.isascii() or not declared.isdigit() or len(declared) > 12:
            return receive, True
        if int(declared) > self.max_body_bytes:
            return receive, True
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return receive, False  # the client left; the app sees the disconnect
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return receive, True
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay, False


async def _refuse(send: Any, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *_SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


__all__ = ["ECHO_CHARS", "MAX_BODY_BYTES", "MAX_ID", "WebGuard", "host_name", "parse_id", "shown"]
