"""Device maps as data: what a device's registers, nodes and lines mean, apart from the code
that speaks or serves them.

Client bindings (``transports/``, ``profiles/``) and servers (``device/``, ``plant/``,
the profiles' emulations) both import from here; nothing here imports either of them.
"""

from __future__ import annotations

__all__: list[str] = []
