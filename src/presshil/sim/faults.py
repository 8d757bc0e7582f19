"""Injectable faults: names, parameters, and the ``faults=`` URL syntax.

URL syntax (comma-separated list; parameters after ``:``; time after ``@``)::

    faults=NAME[@TIME][:KEY=VALUE[:KEY=VALUE...]][,NAME...]

    sim://?faults=overpressure@120
    sim://?faults=leak@200:factor=50,sensor_drift@10min:channel=2:rate_n_per_min=30
    sim://?faults=comm_loss@1h:duration_s=5

``TIME`` is simulated time since the press was opened: a number of seconds, or a number with
a unit ``ms``, ``s``, ``min`` or ``h``; without ``@TIME`` the fault is present from the start.
Channels are numbered from 1. Every fault accepts ``duration_s`` (it clears itself after
that long; not for ``estop`` and ``overpressure``, which are events).

See :data:`FAULTS` for the names, their parameters and defaults; each fault is a class in
:mod:`presshil.sim.fault_kinds`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ..errors import ConfigError
from .fault_kinds import REGISTRY


@dataclass(frozen=True)
class FaultInfo:
    """A fault's meaning and the parameters it accepts (name -> default; None = derived)."""

    summary: str
    params: dict[str, float | None] = field(default_factory=dict)
    transient: bool = False  # an event rather than a condition (no duration)


class _FaultTable(Mapping[str, FaultInfo]):
    """Every registered fault class, seen as :class:`FaultInfo` (read live from the registry)."""

    def __getitem__(self, name: str) -> FaultInfo:
        cls = REGISTRY[name]
        return FaultInfo(cls.summary, dict(cls.params), cls.transient)

    def __iter__(self) -> Iterator[str]:
        return iter(list(REGISTRY))

    def __len__(self) -> int:
        return len(REGISTRY)


#: every injectable fault, from the fault classes of :mod:`presshil.sim.fault_kinds`
FAULTS: Mapping[str, FaultInfo] = _FaultTable()

_UNITS = {"ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}
_TIME = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|min|h)?\s*$")


@dataclass(frozen=True)
class FaultSpec:
    """One fault to inject: ``name`` at simulated time ``at_s`` (None = now) with ``params``."""

    name: str
    at_s: float | None = None
    params: dict[str, float] = field(default_factory=dict)


def valid_forms() -> str:
    """A short list of the fault names and their parameters, for error messages."""
    parts = []
    for name, info in FAULTS.items():
        keys = list(info.params) + ([] if info.transient else ["duration_s"])
        parts.append(f"{name}({', '.join(keys)})" if keys else name)
    return ", ".join(parts)


def check(name: str, params: dict[str, float], where: str = "") -> FaultSpec:
    """Validate a fault name and its parameters; raise :class:`ConfigError` naming the problem."""
    prefix = f"{where}: " if where else ""
    info = FAULTS.get(name)
    if info is None:
        raise ConfigError(f"{prefix}unknown fault {name!r}; known faults: {valid_forms()}")
    allowed = set(info.params) | (set() if info.transient else {"duration_s"})
    clean: dict[str, float] = {}
    for key, value in params.items():
        if key not in allowed:
            raise ConfigError(
                f"{prefix}fault {name!r} has no parameter {key!r}; "
                f"allowed: {', '.join(sorted(allowed)) or '(none)'}"
            )
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{prefix}fault {name!r} parameter {key!r} must be a number, got {value!r}"
            ) from None
        if not math.isfinite(number):
            raise ConfigError(
                f"{prefix}fault {name!r} parameter {key!r} must be finite, got {value!r}"
            )
        if key == "channel" and (number != int(number) or number < 1):
            raise ConfigError(
                f"{prefix}fault {name!r}: channel must be a whole number from 1, got {value!r}"
            )
        if key in ("duration_s", "factor", "level_kn", "mpa") and number <= 0:
            raise ConfigError(
                f"{prefix}fault {name!r} parameter {key!r} must be > 0, got {value!r}"
            )
        if key == "rise_ms" and number < 0:
            raise ConfigError(
                f"{prefix}fault {name!r} parameter {key!r} must be ≥ 0, got {value!r}"
            )
        clean[key] = number
    return FaultSpec(name, None, clean)


def parse_time(text: str, where: str = "") -> float:
    """``"120"``, ``"250ms"``, ``"10min"``, ``"2h"`` → seconds."""
    m = _TIME.match(text)
    if not m:
        raise ConfigError(
            f"{where}: bad fault time {text!r}; use seconds or a number with ms, s, min or h"
        )
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def parse_faults(text: str, where: str = "faults") -> list[FaultSpec]:
    """Parse the ``faults=`` URL value into fault specs (see the module docstring)."""
    specs: list[FaultSpec] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            raise ConfigError(
                f"{where}: empty fault entry in {text!r}; expected NAME[@TIME][:KEY=VALUE...]"
            )
        head, *kvs = item.split(":")
        name, at_sign, at = head.partition("@")
        if at_sign and not at.strip():
            raise ConfigError(
                f"{where}: bad fault time '' in {item!r}; "
                "use seconds or a number with ms, s, min or h"
            )
        params: dict[str, float] = {}
        for kv in kvs:
            key, eq, value = kv.partition("=")
            if not eq or not key.strip():
                raise ConfigError(
                    f"{where}: bad fault parameter {kv!r} in {item!r}; expected KEY=VALUE"
                )
            params[key.strip()] = value.strip()  # type: ignore[assignment]
        spec = check(name.strip(), params, where)
        at_s = parse_time(at, where) if at else 0.0
        specs.append(FaultSpec(spec.name, at_s, spec.params))
    return specs


__all__ = ["FAULTS", "FaultInfo", "FaultSpec", "check", "parse_faults", "valid_forms"]
