"""Run metadata: ``KEY=VALUE`` pairs recorded with a run (cell id, operator, batch …).

From ``presshil run --meta KEY=VALUE`` (repeatable) and the protocol's ``[meta]`` table::

    [meta]
    required = ["cell_id", "operator"]   # every run must be given these
    chemistry = "NMC | LPSCl | Li"        # recorded with every run of this protocol

A required key that was not given is asked for on a terminal, and refused (exit code 2,
nothing run) where nobody can answer (CI, a pipe). The store keeps the pairs with the run;
``presshil runs``, the results browser, reports and exports show them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import ConfigError

#: a key: a letter, then letters, digits, ``_ . -`` (it becomes a column name and a filter)
KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")
MAX_VALUE = 1000


class MetaTable(BaseModel):
    """A protocol's ``[meta]`` table: ``required`` keys and fixed values (strings)."""

    model_config = ConfigDict(frozen=True, extra="allow", strict=True)

    required: list[str] = Field(default_factory=list, max_length=64)

    @field_validator("required")
    @classmethod
    def _keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if not KEY.match(key):
                raise ValueError(f"{key!r} is not a key (a letter, then letters, digits, _ . -)")
        return keys

    @model_validator(mode="after")
    def _values(self) -> MetaTable:
        for key, value in (self.model_extra or {}).items():
            if not KEY.match(key):
                raise ValueError(f"{key!r} is not a key (a letter, then letters, digits, _ . -)")
            if not isinstance(value, str) or len(value) > MAX_VALUE:
                raise ValueError(f"{key}: a value is a string of at most {MAX_VALUE} characters")
        return self

    @property
    def values(self) -> dict[str, str]:
        """The fixed values the protocol records with every run."""
        return dict(self.model_extra or {})


def parse_pairs(items: Iterable[str], option: str = "--meta") -> dict[str, str]:
    """``KEY=VALUE`` strings → a dict; ConfigError naming the bad one."""
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not KEY.match(key):
            raise ConfigError(f"{option} takes KEY=VALUE (KEY: a letter, then letters, digits, "
                              f"_ . -), got {item!r}")
        if len(value) > MAX_VALUE:
            raise ConfigError(f"{option} {key}: at most {MAX_VALUE} characters")
        pairs[key] = value
    return pairs


def resolve(table: MetaTable, given: Mapping[str, str], *, source: str,
            ask: Callable[[str], str] | None) -> dict[str, str]:
    """The run's metadata: the protocol's fixed values, then ``given``; a required key still
    missing is asked for with ``ask`` (None: not on a terminal → ConfigError)."""
    meta = {**table.values, **given}
    missing = [k for k in table.required if not meta.get(k)]
    if missing and ask is None:
        flags = " ".join(f"--meta {k}=…" for k in missing)
        raise ConfigError(f"{source}: meta.required: {', '.join(missing)} not given; give {flags} "
                          "(not asked: not on a terminal)")
    for key in missing:
        assert ask is not None
        value = ask(key).strip()
        if not value:
            raise ConfigError(f"{source}: meta.required: {key}: no value given")
        meta[key] = value
    return meta


__all__ = ["KEY", "MetaTable", "parse_pairs", "resolve"]
