"""The OPC UA endpoint's protocol errors, logged like the Modbus side's: one line per client
(IP address), kind and interval, with the count of repeats, and never a traceback.

asyncua logs every malformed message from a peer — one that never authenticated included —
with a full traceback (500 garbage messages made 315 KB of log). :func:`rate_limit_asyncua`
puts a filter on asyncua's server loggers that turns each such record into one line through
:class:`presshil.serving.tcp.RateLimitedLog`: kind is the message template and the
exception's type, client is the peer the failing connection belongs to.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from types import FrameType

from ..serving.tcp import RateLimitedLog

#: asyncua's server-side loggers that report what a peer sent
SERVER_LOGGERS = ("asyncua.server.binary_server_asyncio", "asyncua.server.uaprocessor", "asyncua.common.connection")
log = logging.getLogger("presshil.profiles.opcua")


def _peer() -> str:
    """The IP address of the OPC UA connection whose code is logging, found on the stack
    (asyncua's protocol object has ``peer_name``; the record itself does not say)."""
    frame: FrameType | None = sys._getframe(2)
    for _ in range(40):  # bounded walk
        if frame is None:
            break
        owner = frame.f_locals.get("self")
        peer = getattr(owner, "peer_name", None)
        if isinstance(peer, tuple) and peer:
            return str(peer[0])
        frame = frame.f_back
    return "unknown peer"


class OpcUaErrorFilter(logging.Filter):
    """Drops asyncua's per-message records at WARNING and above and logs them instead, one
    line per (client, kind) and interval, on ``presshil.profiles.opcua``."""

    def __init__(self, interval_s: float = 10.0) -> None:
        super().__init__()
        self.badlog = RateLimitedLog(interval_s, log)

    def filter(self, record: logging.LogRecord) -> bool:
        """False for every warning or error (reported through the rate-limited log)."""
        if record.levelno < logging.WARNING:
            return True
        kind = str(record.msg)
        detail = kind
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            kind = f"{kind}: {type(exc).__name__}"
            detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        else:
            with contextlib.suppress(TypeError, ValueError):  # a record with bad arguments
                detail = record.getMessage()[:200]
        self.badlog.bad(_peer(), f"OPC UA {kind[:80]}", detail)
        return False


def rate_limit_asyncua(interval_s: float = 10.0) -> OpcUaErrorFilter:
    """Install (once per process) the filter on asyncua's server loggers; the filter."""
    for name in SERVER_LOGGERS:
        for f in logging.getLogger(name).filters:
            if isinstance(f, OpcUaErrorFilter):
                return f
    flt = OpcUaErrorFilter(interval_s)
    for name in SERVER_LOGGERS:
        logging.getLogger(name).addFilter(flt)
    return flt


__all__ = ["SERVER_LOGGERS", "OpcUaErrorFilter", "rate_limit_asyncua"]
