"""Where the files that ship with presshil live: the simulator catalogue (``sims/``) and the
protocol library (``protocols/``).

In a source checkout they sit beside ``src/``; in an installed wheel the build puts them
inside the package (``presshil/sims``, ``presshil/protocols``). Callers search the current
directory first, so a lab's own files win over the shipped ones.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path | None:
    """The shipped folder ``name`` (``"sims"`` or ``"protocols"``), or None if absent."""
    for candidate in (_PACKAGE / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    return None


__all__ = ["shipped_dir"]
