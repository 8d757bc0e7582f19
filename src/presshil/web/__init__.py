"""Web views: the live operator view of a running protocol and the results browser.

Imported lazily: ``presshil run`` without ``--live`` never loads the web server.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "LiveSink": ".live_sink",
    "BackgroundServer": ".server",
    "parse_bind": ".server",
    "live_app": ".live_app",
    "run_live": ".bridge",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = list(_LAZY)
