"""presshil: hardware-in-the-loop tests for battery-assembly presses.

The public API::

    proto  = presshil.load_protocol("protocols/assembly-74mpa.toml")
    press  = presshil.open_press("sim://auto-hydraulic-25t?specimen=nmc-lpscl-inli-10mm&seed=1")
    result = presshil.run(proto, press)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .clock import Clock, WallClock
from .errors import (
    CapabilityError,
    CatalogueError,
    ConfigError,
    DeviceFault,
    PressError,
    PresshilError,
    PressURLError,
    ProtocolError,
    SafetyAbort,
    TransportError,
    TransportTimeout,
)
from .press import FaultCode, Identity, Press, Sample, Status
from .urls import open_press

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .protocol import Protocol, load_protocol
    from .runner import RunResult, Verdict, run

_LAZY = {
    "load_protocol": "presshil.protocol",
    "Protocol": "presshil.protocol",
    "run": "presshil.runner",
    "RunResult": "presshil.runner",
    "Verdict": "presshil.metrics",
}


def __getattr__(name: str) -> Any:
    # Protocol loading and the runner pull in pydantic and numpy; import them on first use.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'presshil' has no attribute {name!r}")


__all__ = [
    "CapabilityError",
    "CatalogueError",
    "Clock",
    "ConfigError",
    "DeviceFault",
    "FaultCode",
    "Identity",
    "Press",
    "PressError",
    "PressURLError",
    "PresshilError",
    "Protocol",
    "ProtocolError",
    "RunResult",
    "SafetyAbort",
    "Sample",
    "Status",
    "TransportError",
    "TransportTimeout",
    "Verdict",
    "WallClock",
    "__version__",
    "load_protocol",
    "open_press",
    "run",
]
