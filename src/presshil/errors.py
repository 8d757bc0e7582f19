"""presshil's error family.

Every failure a user can meet is one of these. Library errors (pymodbus, pyserial, tomllib,
pydantic) are mapped to them at the boundary, so callers catch presshil's types only.
"""

from __future__ import annotations

import re


class PresshilError(Exception):
    """Base of every error presshil raises on purpose."""


def human_step(step: str | int) -> str:
    """A step's place as people count it, 1-based like every other view of a run: index ``0``
    → ``step 1``; ``2.steps[1]`` (inside a repeat) → ``step 3, inner step 2``. ``step`` itself
    stays the 0-based path (``ProtocolError.step``), as the pytest helpers take it."""
    parts = re.findall(r"\d+", str(step))
    if not parts or not re.fullmatch(r"\d+(\.steps\[\d+\])*", str(step)):
        return f"step {step}"
    head, *inner = (int(p) + 1 for p in parts)
    return ", ".join([f"step {head}", *(f"inner step {i}" for i in inner)])


class ProtocolError(PresshilError, ValueError):
    """A protocol file is malformed; the message names the file, the step and the field."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        step: str | int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.step = step
        self.field = field
        self.reason = message
        #: further problems found in the same file (``presshil check`` lists them all)
        self.also: list[ProtocolError] = []
        where = []
        if file is not None:
            where.append(str(file))
        if step is not None:
            where.append(human_step(step))
        if field is not None:
            where.append(f"field '{field}'")
        super().__init__(f"{': '.join([', '.join(where)] if where else [])}{': ' if where else ''}{message}")


class ConfigError(PresshilError, ValueError):
    """Bad configuration outside protocol files: a press URL, a catalogue file, an option."""


class PressURLError(ConfigError):
    """A press URL with an unknown scheme or a malformed part."""


class CatalogueError(ConfigError):
    """A simulator catalogue entry (sims/presses, sims/specimens) is missing or invalid."""


class PressError(PresshilError):
    """The press could not do what it was asked."""


class TransportError(PressError):
    """The link to the press failed (connection refused or reset, bad frame, lost device)."""


class TransportTimeout(TransportError):
    """The press did not answer within the transport's timeout."""


class DeviceFault(PressError):
    """The press reports a fault (its status FAULT bit, an exception response, an ERR reply)."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        self.code = code
        super().__init__(message)


class CapabilityError(PressError):
    """The press cannot do this at all (an optional part of the Press contract it lacks)."""


class SafetyAbort(PressError):
    """The runner stopped the press because a safety limit was crossed."""


__all__ = [
    "CapabilityError",
    "CatalogueError",
    "ConfigError",
    "DeviceFault",
    "PressError",
    "PressURLError",
    "PresshilError",
    "ProtocolError",
    "SafetyAbort",
    "TransportError",
    "TransportTimeout",
]
