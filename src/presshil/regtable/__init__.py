"""Register-table machinery shared by the press map v1 and the plant map.

:mod:`presshil.transports.registers` (the press map v1, N-channel arrays) and
:mod:`presshil.plant.table` (fixed-layout tables such as the plant map) describe their maps
with different row types, but lay them out, check accesses and pack values the same way:
:mod:`.core` holds the wire types and those steps, :mod:`.doc` the Markdown skeleton of the
generated documents (``docs/register-map.md``, ``docs/plant-map.md``).
"""

from __future__ import annotations

__all__: list[str] = []
