"""Web views: the live operator view of a running protocol and the results browser."""

from __future__ import annotations

from .live_sink import LiveSink
from .server import BackgroundServer, parse_bind

__all__ = ["LiveSink", "BackgroundServer", "parse_bind"]
